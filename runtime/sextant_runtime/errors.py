"""Errors that end a request, each with its HTTP status and a message for the caller."""

from __future__ import annotations


class InferenceError(Exception):
    """Base: `status` is the HTTP status, `str(err)` the message sent as {"error": ...}."""

    status = 500


class BadRequest(InferenceError):
    """The request itself is wrong: malformed, wrong names, datatypes or shapes, too big."""

    status = 400


class ModelNotFound(InferenceError):
    status = 404


class QueueFull(InferenceError):
    """The batcher's queue is at max-queue-size: the caller should back off and retry."""

    status = 429


class Unavailable(InferenceError):
    """The model is loading or the server is draining for shutdown."""

    status = 503


class DeadlineExceeded(InferenceError):
    """The request's own deadline passed before its batch started; no inference ran."""

    status = 504


class BackendFailed(InferenceError):
    """The backend raised while running a batch; every request of that batch gets this."""

    status = 500
