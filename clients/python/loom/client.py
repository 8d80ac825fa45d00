"""The asyncio client: submit jobs, wait for them, watch them, run the daemon."""
import asyncio
from typing import (Any, AsyncIterator, Callable, Dict, Iterable, List,
                    Optional, Sequence, Union)

from ._conn import Connection, TLSArg
from .errors import ConnectionLost, job_error

__all__ = ["Client", "Job", "Watch", "spec", "FINISHED"]

#: The terminal states: a job in one of them is finished.
FINISHED = frozenset(("done", "failed", "cancelled", "timed_out"))

_SPEC_FIELDS = ("name", "queue", "priority", "delay", "timeout", "retries",
                "retry_delay", "after", "limits", "lock", "key", "shield", "ttl",
                "on_interrupt")


def spec(type: str, args: Optional[Dict[str, Any]] = None, *,
         name: Optional[str] = None, queue: Optional[str] = None,
         priority: Optional[int] = None, delay: Optional[float] = None,
         timeout: Optional[float] = None, retries: Optional[int] = None,
         retry_delay: Optional[float] = None,
         after: Optional[Iterable[Union[int, "Job"]]] = None,
         limits: Optional[Sequence[str]] = None, lock: Optional[str] = None,
         key: Optional[str] = None, shield: Optional[bool] = None,
         ttl: Optional[float] = None, on_interrupt: Optional[str] = None,
         **extra: Any) -> Dict[str, Any]:
    """A job spec as loomd takes it; fields left None are not sent.

    ``after`` takes job ids or :class:`Job` handles.  ``extra`` passes fields
    this version does not know by name.  Specs nest: pass a list of them as
    ``args["jobs"]`` of a ``gather``, ``group``, ``wait`` or ``sequence``.
    """
    s: Dict[str, Any] = {"type": type}
    if args is not None:
        s["args"] = args
    given = dict(name=name, queue=queue, priority=priority, delay=delay,
                 timeout=timeout, retries=retries, retry_delay=retry_delay,
                 after=after, limits=limits, lock=lock, key=key, shield=shield,
                 ttl=ttl, on_interrupt=on_interrupt)
    for field in _SPEC_FIELDS:
        value = given[field]
        if value is None:
            continue
        if field == "after":
            value = [_job_id(j) for j in value]
        elif field == "limits":
            value = list(value)
        s[field] = value
    s.update(extra)
    return s


def _job_id(job: Union[int, "Job"]) -> int:
    return job.id if isinstance(job, Job) else int(job)


def _outcome(view: Dict[str, Any]) -> Dict[str, Any]:
    """The view of a finished job, or the JobError it ended with."""
    if view.get("state") == "done":
        return view
    raise job_error(view)


class Job:
    """A handle on one job: its ``id`` and what this client last heard of it.

    ``await job`` is ``await job.result()``.
    """

    def __init__(self, client: "Client", view: Dict[str, Any]) -> None:
        self.client = client
        self.id: int = view["id"]
        self.view: Dict[str, Any] = view

    @property
    def state(self) -> Optional[str]:
        """The state in the last view this handle saw (not asked again)."""
        return self.view.get("state")

    def __repr__(self) -> str:
        return f"<loom.Job {self.id} {self.state}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id and other.client is self.client

    def __hash__(self) -> int:
        return hash(self.id)

    def __await__(self):  # type: ignore[no-untyped-def]
        return self.result().__await__()

    def _seen(self, view: Dict[str, Any]) -> Dict[str, Any]:
        self.view = view
        return view

    async def status(self) -> Dict[str, Any]:
        """The job's view now (never waits)."""
        return self._seen(await self.client.status(self.id))

    async def wait(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait until the job finishes and return its view, whatever the state.

        ``timeout`` bounds the wait (:class:`~loom.WaitTimeout`); the job goes on.
        """
        return self._seen(await self.client._result(self.id, True, timeout))

    async def result(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait until the job finishes; return its view if it ended ``done``.

        Raises :class:`~loom.JobFailed`, :class:`~loom.JobCancelled` or
        :class:`~loom.JobTimedOut` (each with the view) otherwise, and
        :class:`~loom.WaitTimeout` if ``timeout`` runs out first.
        """
        return _outcome(await self.wait(timeout))

    async def value(self, timeout: Optional[float] = None) -> Any:
        """Like :meth:`result`, but only the job's ``result`` member."""
        return (await self.result(timeout)).get("result")

    async def cancel(self, reason: Optional[str] = None) -> Dict[str, Any]:
        """Cancel the job; returns its final view once it has stopped."""
        return self._seen(await self.client.cancel(self.id, reason))

    async def retry(self) -> "Job":
        """Run a failed, cancelled or timed-out job again (same id)."""
        await self.client.retry(self.id)
        return self

    def watch(self) -> "Watch":
        """Events of this job, ending after its last (see :meth:`Client.watch`)."""
        return self.client.watch(job=self.id)


class Client:
    """A connection to loomd that many tasks can use at once.

    ``address`` is a Unix socket path or ``HOST:PORT``.  ``token`` is sent
    with ``auth`` as soon as the connection is made; ``tls`` is True (the
    system's CAs) or an :class:`ssl.SSLContext`.  Use it as ``async with
    Client(...) as c:`` or call :meth:`connect` and :meth:`close`.

    Requests are multiplexed: each has an id and answers may come back in
    any order, so a task waiting for a job holds up no other.  If the
    connection is lost, every request in flight raises
    :class:`~loom.ConnectionLost`; so do later ones until :meth:`connect`
    is called again.
    """

    def __init__(self, address: str = "/run/loomd/loomd.sock", *,
                 token: Optional[str] = None, tls: TLSArg = None,
                 server_hostname: Optional[str] = None,
                 connect_timeout: Optional[float] = 30.0) -> None:
        self.address = address
        self.token = token
        self.tls = tls
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.auth: Optional[Dict[str, Any]] = None
        self._conn: Optional[Connection] = None

    async def __aenter__(self) -> "Client":
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _open(self, on_event: Optional[Callable[[Dict[str, Any]], None]] = None) -> Connection:
        conn = await Connection.open(self.address, tls=self.tls,
                                     server_hostname=self.server_hostname,
                                     on_event=on_event,
                                     connect_timeout=self.connect_timeout)
        if self.token is not None:
            try:
                reply = await conn.request("auth", {"token": self.token})
            except BaseException:
                await conn.close()
                raise
            self.auth = reply.get("auth")
        return conn

    async def connect(self) -> None:
        """Connect (and authenticate); a no-op when already connected."""
        if self._conn is None or not self._conn.is_open:
            self._conn = await self._open()

    async def close(self) -> None:
        """Close the connection.  Requests still waiting raise ConnectionLost."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.is_open

    async def request(self, op: str, **fields: Any) -> Dict[str, Any]:
        """Send any op with its fields and return the whole answer.

        The typed methods below are built on this; use it for ops they do
        not cover.  Fields that are None are not sent.
        """
        if self._conn is None:
            raise ConnectionLost("not connected: use `async with Client(...)` or connect()")
        return await self._conn.request(
            op, {k: v for k, v in fields.items() if v is not None})

    # -- jobs ------------------------------------------------------------

    async def submit(self, type: str, args: Optional[Dict[str, Any]] = None,
                     **fields: Any) -> Job:
        """Submit one job and return its :class:`Job` as soon as it is accepted.

        ``fields`` are the spec's (see :func:`spec`): ``queue``, ``priority``,
        ``delay``, ``timeout`` (the job's own), ``retries``, ``retry_delay``,
        ``after``, ``limits``, ``lock``, ``key``, ``shield``, ``ttl``,
        ``name``, ``on_interrupt``.
        """
        reply = await self.request("submit", job=spec(type, args, **fields))
        return Job(self, reply["job"])

    async def submit_many(self, specs: Sequence[Dict[str, Any]]) -> List[Job]:
        """Submit a batch (all or nothing) of specs made with :func:`spec`."""
        reply = await self.request("submit", jobs=list(specs))
        return [Job(self, v) for v in reply["jobs"]]

    async def run(self, type: str, args: Optional[Dict[str, Any]] = None, *,
                  wait_timeout: Optional[float] = None,
                  on_child: Optional[Callable[[Dict[str, Any]], None]] = None,
                  **fields: Any) -> Dict[str, Any]:
        """Submit one job and wait for it in the same request.

        Returns the final view of a ``done`` job, else raises its
        :class:`~loom.JobError`.  ``wait_timeout`` bounds the wait only.
        ``on_child`` (composites) is called with each ``child`` event as a
        child finishes, in completion order.
        """
        listener = None
        if on_child is not None:
            def listener(ev: Dict[str, Any]) -> None:
                if ev.get("event") == "child":
                    on_child(ev)
        if self._conn is None:
            raise ConnectionLost("not connected")
        msg: Dict[str, Any] = {"job": spec(type, args, **fields), "wait": True}
        if wait_timeout is not None:
            msg["timeout"] = wait_timeout
        if on_child is not None:
            msg["stream"] = True
        reply = await self._conn.request("submit", msg, listener)
        return _outcome(reply["job"])

    def job(self, id: int) -> Job:
        """A handle on a job known by its id."""
        return Job(self, {"id": int(id)})

    async def status(self, job: Union[int, Job]) -> Dict[str, Any]:
        """The job's view now."""
        return (await self.request("status", job=_job_id(job)))["job"]

    async def _result(self, job: int, wait: bool, timeout: Optional[float]) -> Dict[str, Any]:
        reply = await self.request("result", job=job, wait=wait, timeout=timeout)
        return reply["job"]

    async def result(self, job: Union[int, Job], *, wait: bool = True,
                     timeout: Optional[float] = None) -> Dict[str, Any]:
        """The finished job's view, raising its JobError unless ``done``.

        ``wait=False`` raises :class:`~loom.InvalidState` for an unfinished job.
        """
        return _outcome(await self._result(_job_id(job), wait, timeout))

    async def gather(self, *jobs: Union[int, Job], return_exceptions: bool = False,
                     timeout: Optional[float] = None) -> List[Any]:
        """The views of all ``jobs`` in order, as :func:`asyncio.gather` would.

        With ``return_exceptions`` a job that did not end ``done`` gives its
        :class:`~loom.JobError` in its place instead of raising it.
        """
        waits = [self.result(j, timeout=timeout) for j in jobs]
        return list(await asyncio.gather(*waits, return_exceptions=return_exceptions))

    async def as_completed(self, *jobs: Union[int, Job],
                           timeout: Optional[float] = None) -> AsyncIterator[Dict[str, Any]]:
        """Yield each job's final view (whatever its state) as it finishes."""
        waits = [asyncio.ensure_future(self._result(_job_id(j), True, timeout)) for j in jobs]
        try:
            for fut in asyncio.as_completed(waits):
                yield await fut
        finally:
            for fut in waits:
                fut.cancel()

    async def cancel(self, job: Union[int, Job], reason: Optional[str] = None) -> Dict[str, Any]:
        """Cancel a job; answers with its final view once it has stopped.

        A job already finished raises :class:`~loom.InvalidState`.
        """
        return (await self.request("cancel", job=_job_id(job), reason=reason))["job"]

    async def retry(self, job: Union[int, Job]) -> Dict[str, Any]:
        """Run a failed, cancelled or timed-out job again as its next attempt."""
        return (await self.request("retry", job=_job_id(job)))["job"]

    async def list(self, *, state: Optional[str] = None, queue: Optional[str] = None,
                   limit: Optional[int] = None, before: Optional[int] = None) -> Dict[str, Any]:
        """One page of jobs, newest first: ``{"jobs": [...], "next": id or None}``."""
        reply = await self.request("list", state=state, queue=queue, limit=limit,
                                   before=before)
        return {"jobs": reply.get("jobs", []), "next": reply.get("next")}

    async def list_all(self, *, state: Optional[str] = None, queue: Optional[str] = None,
                       page: int = 1000) -> AsyncIterator[Dict[str, Any]]:
        """Every job matching, newest first, page after page."""
        before = None
        while True:
            got = await self.list(state=state, queue=queue, limit=page, before=before)
            for view in got["jobs"]:
                yield view
            before = got["next"]
            if before is None:
                return

    def watch(self, *, job: Union[None, int, Job] = None,
              queue: Optional[str] = None) -> "Watch":
        """The events of one job, one queue, or (neither) every job.

        ``async for ev in c.watch(queue="img")`` yields each event as loomd
        pushes it, e.g. ``{"event": "job", "job": VIEW}`` on every state
        change.  A watch has a connection of its own, closed when the loop
        ends (``break``) or by ``aclose()``.  The watch starts at the first
        iteration; to be sure of seeing jobs submitted next, start it first:
        ``async with c.watch(...) as events:`` (or ``await w.start()``).
        Watching one job ends by itself after its last event.  If the
        connection drops, the iteration raises ConnectionLost.
        """
        return Watch(self, _job_id(job) if job is not None else None, queue)

    # -- the daemon ------------------------------------------------------

    async def ping(self) -> Dict[str, Any]:
        """``{"version", "uptime", "boot", ...}``."""
        reply = await self.request("ping")
        return {k: v for k, v in reply.items() if k not in ("id", "ok")}

    async def stats(self) -> Dict[str, Any]:
        """The daemon's statistics (doc/protocol.md, "Statistics")."""
        return (await self.request("stats"))["stats"]

    async def pause(self, queue: str) -> Dict[str, Any]:
        """Pause a queue: it starts nothing new; running jobs go on."""
        return (await self.request("queue.pause", name=queue))["queue"]

    async def resume(self, queue: str) -> Dict[str, Any]:
        """Resume a paused queue."""
        return (await self.request("queue.resume", name=queue))["queue"]

    async def event_set(self, name: str) -> Dict[str, Any]:
        """Set a named event, releasing the ``wait_event`` jobs on it."""
        return (await self.request("event.set", name=name))["event"]

    async def event_clear(self, name: str) -> Dict[str, Any]:
        """Clear a named event."""
        return (await self.request("event.clear", name=name))["event"]

    async def event_get(self, name: str) -> Dict[str, Any]:
        """``{"name", "set", "waiters"}`` of a named event."""
        return (await self.request("event.get", name=name))["event"]


class Watch:
    """An async iterator over a watch's events; see :meth:`Client.watch`."""

    def __init__(self, client: Client, job: Optional[int], queue: Optional[str]) -> None:
        self._client = client
        self._job = job
        self._queue = queue
        self._events: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue()
        self._conn: Optional[Connection] = None
        self._finished = False

    async def start(self) -> "Watch":
        """Open the watch's connection and wait until loomd has taken it."""
        if self._conn is None and not self._finished:
            conn = await self._client._open(self._events.put_nowait)
            self._conn = conn
            conn.closed.add_done_callback(lambda _f: self._events.put_nowait(None))
            fields = {k: v for k, v in (("job", self._job), ("queue", self._queue))
                      if v is not None}
            try:
                await conn.request("watch", fields)
            except BaseException:
                await self.aclose()
                raise
        return self

    async def aclose(self) -> None:
        """Stop watching and close the watch's connection."""
        self._finished = True
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def __aenter__(self) -> "Watch":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __aiter__(self) -> "Watch":
        return self

    async def __anext__(self) -> Dict[str, Any]:
        if self._finished:
            raise StopAsyncIteration
        await self.start()
        ev = await self._events.get()
        if ev is None:
            lost = not self._finished
            await self.aclose()
            if lost:
                raise ConnectionLost("the watch's connection to loomd closed")
            raise StopAsyncIteration
        view = ev.get("job")
        if (self._job is not None and ev.get("event") == "job" and isinstance(view, dict)
                and view.get("id") == self._job and view.get("state") in FINISHED):
            await self.aclose()
        return ev
