"""Exceptions raised by the loom client and worker.

Two families:

* :class:`RequestError` and its subclasses: loomd refused a request
  (``"ok": false``).  Each carries the error ``code``, the ``message`` and,
  when one field is at fault, its ``path`` (``job.args.seconds``).
* :class:`JobError` and its subclasses: the request was fine, but the job
  did not end ``done`` (``failed``, ``cancelled``, ``timed_out``).  Each
  carries the job's final ``view``.

:class:`ConnectionLost` is raised for every request that was in flight, or
is made later, once the connection to loomd is gone.
"""
from typing import Any, Dict, Optional, Type

__all__ = [
    "LoomError", "ConnectionLost", "RequestError", "BadJson", "BadRequest",
    "UnknownOp", "UnknownType", "NotFound", "InvalidState", "WaitTimeout",
    "Busy", "LineTooLong", "Unauthorized", "Forbidden", "ShuttingDown",
    "Unavailable", "InternalError", "JobError", "JobFailed", "JobCancelled",
    "JobTimedOut", "request_error", "job_error",
]


class LoomError(Exception):
    """Base class of every exception this package raises."""


class ConnectionLost(LoomError):
    """The connection to loomd closed (or could not be used) before an answer."""


class RequestError(LoomError):
    """loomd answered a request with ``"ok": false``.

    Attributes: ``code`` (``bad_request``, ``not_found``, ...), ``message``,
    ``path`` (the field at fault, or None), ``op`` (the request's op) and
    ``error`` (the whole error object as sent).
    """

    code = "error"

    def __init__(self, error: Dict[str, Any], op: Optional[str] = None) -> None:
        self.error = error
        self.code = str(error.get("code", self.code))
        self.message = str(error.get("message", ""))
        self.path: Optional[str] = error.get("path")
        self.op = op
        text = f"{self.code}: {self.message}" if self.message else self.code
        if self.path:
            text += f" (at {self.path})"
        super().__init__(text)


class BadJson(RequestError):
    """The line sent was not a JSON object (a bug in this package)."""


class BadRequest(RequestError, ValueError):
    """A field is missing, of the wrong type or out of range; see ``path``."""


class UnknownOp(RequestError):
    """The daemon does not know this op (an older loomd?)."""


class UnknownType(RequestError, ValueError):
    """No such job type."""


class NotFound(RequestError, LookupError):
    """No job with that id (never existed, or its result expired)."""


class InvalidState(RequestError):
    """The operation does not fit the job's state."""


class WaitTimeout(RequestError, TimeoutError):
    """A wait bounded by the request's ``timeout`` ran out; the job goes on."""


class Busy(RequestError):
    """A limit was hit (``max_pending``, ``max_jobs``, ...); retry later."""


class LineTooLong(RequestError):
    """The request was longer than the daemon's ``max_line_bytes``."""


class Unauthorized(RequestError, PermissionError):
    """Authentication is missing or the token was refused."""


class Forbidden(RequestError, PermissionError):
    """The token's roles do not allow this."""


class ShuttingDown(RequestError):
    """The daemon is draining and accepts no new work."""


class Unavailable(RequestError):
    """The journal cannot take the record (disk full); nothing was done."""


class InternalError(RequestError):
    """A bug in loomd; the message says what failed."""


_REQUEST_ERRORS: Dict[str, Type[RequestError]] = {
    "bad_json": BadJson,
    "bad_request": BadRequest,
    "unknown_op": UnknownOp,
    "unknown_type": UnknownType,
    "not_found": NotFound,
    "invalid_state": InvalidState,
    "timeout": WaitTimeout,
    "busy": Busy,
    "line_too_long": LineTooLong,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "shutting_down": ShuttingDown,
    "unavailable": Unavailable,
    "internal": InternalError,
}


def request_error(error: Any, op: Optional[str] = None) -> RequestError:
    """The exception for an ``error`` object of a refused request."""
    if not isinstance(error, dict):
        error = {"code": "internal", "message": f"malformed error: {error!r}"}
    cls = _REQUEST_ERRORS.get(str(error.get("code")), RequestError)
    return cls(error, op)


class JobError(LoomError):
    """A job finished in a state other than ``done``.

    Attributes: ``view`` (the job's final view), ``job_id``, ``state``,
    ``code`` (the job's ``error.code``: ``failed``, ``timeout``,
    ``worker_lost``, ...), ``message`` and ``detail``.
    """

    def __init__(self, view: Dict[str, Any]) -> None:
        self.view = view
        self.job_id = view.get("id")
        self.state = view.get("state")
        error = view.get("error") or {}
        self.code = error.get("code", self.state)
        self.message = error.get("message", "")
        self.detail = error.get("detail")
        text = f"job {self.job_id} {self.state}"
        if self.code and self.code != self.state:
            text += f" ({self.code})"
        if self.message:
            text += f": {self.message}"
        super().__init__(text)


class JobFailed(JobError):
    """The job ended ``failed``."""


class JobCancelled(JobError):
    """The job ended ``cancelled``."""


class JobTimedOut(JobError, TimeoutError):
    """The job ended ``timed_out``: its own ``timeout`` ran out."""


_JOB_ERRORS: Dict[str, Type[JobError]] = {
    "failed": JobFailed,
    "cancelled": JobCancelled,
    "timed_out": JobTimedOut,
}


def job_error(view: Dict[str, Any]) -> JobError:
    """The exception for a job that finished other than ``done``."""
    return _JOB_ERRORS.get(str(view.get("state")), JobError)(view)
