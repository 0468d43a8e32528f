"""Names and labels a DriftMonitor's CronJob and Jobs carry, and the result channel.

The job reports through Redis, not the pod's termination message: a result has a line per
feature with its data quality (about 400 bytes each), so 50 features already exceed the
4 KiB a termination message keeps. The job writes its JSON under a key of its own
(monitor and job name) next to the prediction log it read, and the operator, watching the
Job finish, reads it. Jobs never touch the DriftMonitor; only the operator writes status.
A failed job's reason comes from its pod's termination message (the log tail), which is
short by nature.
"""

from __future__ import annotations

from sextant_operator import labels

DRIFT_MONITOR = f"{labels.GROUP}/drift-monitor"
RESULT_PREFIX = "sextant:drift:"
# The Job controller labels its pods with their Job's name; the downward API hands it to
# the container, which names its result key after it.
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
JOB_NAME_ENV = "SEXTANT_JOB_NAME"


def cronjob_name(monitor: str) -> str:
    return f"{monitor}-drift"[:52]  # the CronJob controller appends 11 characters per Job


def monitor_labels(monitor: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "sextant-drift-check",
        "app.kubernetes.io/instance": monitor,
        labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
        DRIFT_MONITOR: monitor,
    }


def result_key(namespace: str, monitor: str, job: str) -> str:
    return f"{RESULT_PREFIX}{namespace}/{monitor}/{job}"
