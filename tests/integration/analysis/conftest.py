"""Real `sextant serve` processes as stable and canary, scraped by a real Prometheus."""

from tests.integration.runtime.conftest import serve_module  # noqa: F401
