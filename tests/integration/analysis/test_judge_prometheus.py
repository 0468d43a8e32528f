"""Analysis checks against a real Prometheus scraping real runtime processes.

Both tracks serve the sleeper model (y = x; sleeps x seconds; fails on negative x), so
the traffic decides what each version does: errors, slowness, shifted outputs. Each test
drives both tracks for a phase longer than the comparison's lookback, then measures at
the moment the traffic stopped, as the operator does while a canary takes traffic.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sextant.devenv.process import free_port
from sextant.devenv.prometheus import LocalPrometheus
from sextant_operator.analysis import measurements as m
from sextant_operator.analysis.checks import Context, Measurement, checks_for
from sextant_operator.analysis.prometheus import Prometheus, Scope
from sextant_operator.analysis.runner import measure_check
from sextant_operator.api.modeldeployment import Analysis
from sextant_operator.rollout.duration import seconds
from tests.integration.runtime.conftest import RuntimeServer, Serve
from tests.unit.runtime.model_files import mlflow_sleeper

NS = "analysis"
STABLE = Scope(NS, "sleeper", "7", "stable")
CANARY = Scope(NS, "sleeper", "8", "canary")
SPEC = Analysis(
    interval="4s",
    sample_interval="2s",  # twice Prometheus's 1 s scrape interval
    min_samples=6,
    max_error_rate=0.01,
    max_latency_p99_ms=1000,
    max_prediction_psi=0.2,
    compare_to_stable=True,
)
PHASE_SECONDS = 14.0  # more than the comparison's lookback (min_samples x sample_interval)
Inputs = dict[str, Callable[[int], float]]


def fast(i: int) -> float:
    return 0.002 + (i % 5) * 0.001


def failing(i: int) -> float:
    return -1.0 if i % 10 == 0 else fast(i)  # 10% of requests answered 500


def slow(i: int) -> float:
    return 0.06 + (i % 5) * 0.01  # 60-100 ms: well under maxLatencyP99Ms, outputs shifted


@pytest.fixture(scope="module")
def tracks(
    serve_module: Serve,
    prometheus_server: LocalPrometheus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RuntimeServer]]:
    model = mlflow_sleeper(tmp_path_factory.mktemp("sleeper") / "model")
    servers = {}
    for scope in (STABLE, CANARY):
        env = {"SEXTANT_MODEL_VERSION": scope.version, "SEXTANT_TRACK": scope.track or ""}
        server = serve_module(model, "--max-delay-ms", "0", name="sleeper", env=env)
        prometheus_server.add_target(f"127.0.0.1:{server.port}", namespace=NS)
        servers[scope.track or ""] = server
    drive(servers, {"stable": fast, "canary": fast}, seconds=3)  # series exist, then idle
    time.sleep(2)
    yield servers
    for server in servers.values():
        prometheus_server.remove_target(f"127.0.0.1:{server.port}")


class Worker(threading.Thread):
    ok = False

    def run(self) -> None:
        super().run()
        self.ok = True


def drive(
    servers: dict[str, RuntimeServer], inputs: Inputs, seconds: float = PHASE_SECONDS
) -> datetime:
    """One request at a time to each track in `inputs` (`inputs[track](i)` is x) for
    `seconds`; returns when the traffic stopped, once Prometheus has scraped it."""

    def loop(server: RuntimeServer, x_of: Callable[[int], float]) -> None:
        ends = time.monotonic() + seconds
        i = 0
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < ends:
                data = [x_of(i)]
                body = {
                    "inputs": [
                        {"name": "input_0", "shape": [1, 1], "datatype": "FP32", "data": data}
                    ]
                }
                code = client.post(server.infer_url, json=body).status_code
                assert code == (500 if data[0] < 0 else 200), code
                i += 1

    threads = [Worker(target=loop, args=(servers[t], x)) for t, x in inputs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(t.ok for t in threads), "a request got an unexpected answer"
    stopped = datetime.now(UTC)
    time.sleep(1.5)  # the scrapes up to `stopped` are in
    return stopped


def measure(url: str, at: datetime) -> dict[str, Measurement]:
    context = Context(Prometheus(url), CANARY, STABLE, SPEC, at)
    return {check.name: check.measure(context) for check in checks_for(SPEC)}


def phases(found: dict[str, Measurement]) -> dict[str, str]:
    return {name: m.phase for name, m in found.items()}


def test_a_canary_like_stable_passes_every_check(
    tracks: dict[str, RuntimeServer], prometheus_server: LocalPrometheus
) -> None:
    found = measure(prometheus_server.url, drive(tracks, {"stable": fast, "canary": fast}))
    assert phases(found) == dict.fromkeys(found, "Successful"), [m.message for m in found.values()]
    assert found["error-rate"].value == 0


def test_a_failing_canary_fails_error_rate_and_the_comparison_with_stable(
    tracks: dict[str, RuntimeServer], prometheus_server: LocalPrometheus
) -> None:
    found = measure(prometheus_server.url, drive(tracks, {"stable": fast, "canary": failing}))
    assert found["error-rate"].phase == "Failed", found
    assert found["error-rate"].value == pytest.approx(0.1, abs=0.03)
    assert found["error-rate-vs-stable"].phase == "Failed", found
    assert found["latency-p99"].phase == "Successful", found


def test_a_slower_canary_fails_against_stable_though_under_max_latency_and_psi_sees_the_shift(
    tracks: dict[str, RuntimeServer], prometheus_server: LocalPrometheus
) -> None:
    found = measure(prometheus_server.url, drive(tracks, {"stable": fast, "canary": slow}))
    assert found["latency-p99"].phase == "Successful", found  # ~100 ms, under 1000 ms
    assert found["latency-p99-vs-stable"].phase == "Failed", found
    assert found["error-rate"].phase == "Successful", found
    assert found["error-rate-vs-stable"].phase == "Successful", found
    assert found["prediction-psi"].phase == "Failed", found
    assert (found["prediction-psi"].value or 0) > 0.2


def test_a_canary_without_traffic_is_inconclusive_never_a_pass(
    tracks: dict[str, RuntimeServer], prometheus_server: LocalPrometheus
) -> None:
    found = measure(prometheus_server.url, drive(tracks, {"stable": fast}))
    assert phases(found) == dict.fromkeys(found, "Inconclusive"), found
    assert all(m.value is None for m in found.values())


def test_prometheus_down_is_an_error_never_a_pass() -> None:
    context = Context(
        Prometheus(f"http://127.0.0.1:{free_port()}"), CANARY, STABLE, SPEC, datetime.now(UTC)
    )
    found = [measure_check(check, context, no_url=False) for check in checks_for(SPEC)]
    assert {m.phase for m in found} == {"Error"}
    assert "unreachable" in found[0].message


@pytest.fixture(scope="module")
def canary_pods(
    tracks: dict[str, RuntimeServer],
    serve_module: Serve,
    prometheus_server: LocalPrometheus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RuntimeServer]]:
    """The canary as three pods: the tracks' canary and two more processes like it."""
    model = mlflow_sleeper(tmp_path_factory.mktemp("sleeper-pods") / "model")
    env = {"SEXTANT_MODEL_VERSION": CANARY.version, "SEXTANT_TRACK": CANARY.track or ""}
    more = [serve_module(model, "--max-delay-ms", "0", name="sleeper", env=env) for _ in "ab"]
    for server in more:
        prometheus_server.add_target(f"127.0.0.1:{server.port}", namespace=NS)
    time.sleep(2)  # scraped before their first request
    yield {"pod-0": tracks["canary"], "pod-1": more[0], "pod-2": more[1]}
    for server in more:
        prometheus_server.remove_target(f"127.0.0.1:{server.port}")


def test_a_canary_only_a_few_intervals_old_is_judged_on_per_pod_samples(
    tracks: dict[str, RuntimeServer],
    canary_pods: dict[str, RuntimeServer],
    prometheus_server: LocalPrometheus,
) -> None:
    canary_seconds = 3 * seconds(SPEC.sample_interval)  # half of minSamples intervals
    stable = threading.Thread(target=drive, args=(tracks, {"stable": fast}, PHASE_SECONDS))
    stable.start()
    time.sleep(PHASE_SECONDS - canary_seconds)
    at = drive(canary_pods, dict.fromkeys(canary_pods, failing), seconds=canary_seconds)
    stable.join()

    context = Context(Prometheus(prometheus_server.url), CANARY, STABLE, SPEC, at)
    step, lookback = context.sample_step, context.lookback
    rates = m.error_rates(context.prometheus, CANARY, at, lookback, step)
    per_interval = [x for x in rates if math.isfinite(x)]
    per_pod = m.pod_error_rates(context.prometheus, CANARY, at, lookback, step)
    assert len(per_interval) < SPEC.min_samples <= len(per_pod), (per_interval, per_pod)
    found = measure(prometheus_server.url, at)
    assert found["error-rate-vs-stable"].phase == "Failed", found["error-rate-vs-stable"]
