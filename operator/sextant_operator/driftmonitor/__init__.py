"""DriftMonitor: a CronJob runs `sextant drift check` on the target's prediction log; the
operator reads each finished job's result, writes status, exports metrics and acts.

One job per module: `contract` (names, labels, the result channel), `cronjob` (rendering),
`jobs` (what a finished Job says), `results` (the result JSON into status), `status`
(conditions), `actions` and `webhook` (what drift triggers), `metrics`, `reconcile`
(observe -> decide -> apply -> one status write) and `handlers` (kopf wiring).
"""
