"""Logging set-up shared by every `sextant` subcommand."""

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_DATE_FORMAT = "%H:%M:%S"


def configure_logging(verbose: bool) -> None:
    """Human-readable logs on stderr; `-v` turns on debug for Sextant's own loggers only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, _DATE_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # Third-party debug output (httpx, kopf internals) drowns ours; keep it at INFO.
    for name in ("sextant", "sextant_operator", "sextant_runtime"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
