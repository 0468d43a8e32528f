"""The README's demo: serve the example model and ask it about two flowers."""

from __future__ import annotations

from sextant_runtime.demo import EXAMPLE_MODEL, serve_example_and_ask


def test_the_example_model_serves_and_classifies_two_flowers() -> None:
    lines: list[str] = []
    result = serve_example_and_ask(lines.append)
    assert EXAMPLE_MODEL.is_file()
    assert result["id"] == "demo-1"
    assert result["outputs"][0]["shape"] == [2, 3]
    assert lines[-2:] == [
        "flower [5.1, 3.5, 1.4, 0.2] -> setosa (1.00)",
        "flower [6.7, 3.0, 5.2, 2.3] -> virginica (0.99)",
    ]
