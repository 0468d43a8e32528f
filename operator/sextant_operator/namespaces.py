"""Which namespaces the operator watches: names, or kopf-style patterns (`op-*`, `!kube-*`)."""

from __future__ import annotations

import fnmatch

_PATTERN_CHARS = set("*?[!")


def plain_names(specs: tuple[str, ...]) -> tuple[str, ...] | None:
    """The namespaces to watch one by one, or None when a pattern needs a cluster-wide
    watch filtered here (and () for all namespaces)."""
    if any(_PATTERN_CHARS & set(spec) for spec in specs):
        return None
    return specs


def matches(namespace: str, specs: tuple[str, ...]) -> bool:
    """Whether `namespace` is watched: any positive spec matches and no `!spec` does."""
    if not specs:
        return True
    positive = [s for s in specs if not s.startswith("!")]
    negative = [s[1:] for s in specs if s.startswith("!")]
    if any(fnmatch.fnmatchcase(namespace, pattern) for pattern in negative):
        return False
    return not positive or any(fnmatch.fnmatchcase(namespace, pattern) for pattern in positive)
