"""loom: an asyncio client and worker for loomd, the job server.

::

    from loom import Client, Worker

    async with Client("/run/loomd/loomd.sock") as c:
        job = await c.submit("sleep", {"seconds": 1, "result": "hi"})
        view = await job.result()        # raises JobFailed / JobCancelled / JobTimedOut

The wire protocol is loomd's doc/protocol.md.
"""
from .client import FINISHED, Client, Job, spec
from .errors import (BadJson, BadRequest, Busy, ConnectionLost, Forbidden,
                     InternalError, InvalidState, JobCancelled, JobError,
                     JobFailed, JobTimedOut, LineTooLong, LoomError, NotFound,
                     RequestError, ShuttingDown, Unauthorized, Unavailable,
                     UnknownOp, UnknownType, WaitTimeout)
from .worker import TaskError, Worker, WorkerJob

__version__ = "1.1.0"

__all__ = [
    "Client", "Job", "spec", "FINISHED", "Worker", "WorkerJob", "TaskError",
    "LoomError", "ConnectionLost", "RequestError", "BadJson", "BadRequest",
    "UnknownOp", "UnknownType", "NotFound", "InvalidState", "WaitTimeout",
    "Busy", "LineTooLong", "Unauthorized", "Forbidden", "ShuttingDown",
    "Unavailable", "InternalError", "JobError", "JobFailed", "JobCancelled",
    "JobTimedOut",
]
