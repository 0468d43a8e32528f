"""POST a drift result to a webhook (a retraining pipeline), with a timeout and retries."""

from __future__ import annotations

import time
from typing import Any

import httpx

ATTEMPTS = 3
TIMEOUT_SECONDS = 5.0
BACKOFF_SECONDS = 1.0


def post_result(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = ATTEMPTS,
    timeout: float = TIMEOUT_SECONDS,
    backoff: float = BACKOFF_SECONDS,
) -> str | None:
    """None once a 2xx answer came, else what went wrong on the last attempt.

    Retries connection errors, timeouts, 429 and 5xx (the receiver may recover); other 4xx
    answers are final: sending the same body again cannot change them.
    """
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = httpx.post(url, json=payload, timeout=timeout)
        except httpx.HTTPError as err:
            problem = f"{type(err).__name__}: {err}"
            continue
        if response.is_success:
            return None
        problem = f"HTTP {response.status_code}"
        if response.status_code < 500 and response.status_code != 429:
            break
    return f"webhook {url}: {problem} (after {attempt + 1} attempts)"
