"""Pure rendering: a ModelDeployment (and what was resolved for it) in, Kubernetes objects out.

No I/O here: every function is deterministic and golden-tested.
"""
