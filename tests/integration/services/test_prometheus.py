from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from sextant.devenv.process import free_port
from sextant.devenv.prometheus import LocalPrometheus
from tests.polling import wait_for


@pytest.fixture
def exporter() -> Iterator[tuple[str, Gauge]]:
    """A small exporter on a free loopback port with one gauge."""
    registry = CollectorRegistry()
    gauge = Gauge("sextant_test_temperature", "A value the test sets", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{port}", gauge
    server.shutdown()
    thread.join(timeout=5)


def test_prometheus_scrapes_a_registered_target_and_answers_promql(
    prometheus_server: LocalPrometheus, exporter: tuple[str, Gauge]
) -> None:
    address, gauge = exporter
    gauge.set(42.5)
    prometheus_server.add_target(address, case="scrape")

    result = wait_for(
        lambda: prometheus_server.query('sextant_test_temperature{case="scrape"}'),
        timeout=30,
        what="the exporter's gauge to appear in Prometheus",
    )

    assert result[0]["metric"]["instance"] == address
    assert float(result[0]["value"][1]) == 42.5
    prometheus_server.remove_target(address)


def test_prometheus_rejects_invalid_promql(prometheus_server: LocalPrometheus) -> None:
    with pytest.raises(httpx.HTTPStatusError, match="400"):
        prometheus_server.query("sum(")
