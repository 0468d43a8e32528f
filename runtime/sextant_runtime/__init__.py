"""Sextant's runtime: an Open Inference Protocol v2 server with dynamic batching.

`sextant serve` (sextant/commands/serve.py) parses options into a `ServeConfig` and calls
`sextant_runtime.main.run`. This package must not import kopf or the Kubernetes client.
"""
