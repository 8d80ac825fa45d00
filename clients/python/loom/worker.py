"""The worker: run job types in Python for loomd.

loomd keeps the queues, retries, timeouts, limits and dependencies; a
:class:`Worker` says which types it runs (``worker.hello``) and loomd pushes
it up to ``concurrency`` jobs at a time.  Each runs as an asyncio task; its
return value completes the job, an exception fails it.
"""
import asyncio
import inspect
import logging
import random
import signal
import ssl
import threading
from typing import Any, Callable, Dict, Optional

from ._conn import Connection, TLSArg
from .errors import (Busy, ConnectionLost, InvalidState, LoomError, RequestError,
                     ShuttingDown)

__all__ = ["Worker", "WorkerJob", "TaskError"]

log = logging.getLogger("loom.worker")

TaskFunc = Callable[[Dict[str, Any], "WorkerJob"], Any]

DEFAULT_LEASE = 60.0


class TaskError(Exception):
    """Raise it in a task to fail the job with a chosen error.

    ``code`` (default ``failed``) and ``detail`` (any JSON) go into the
    job's ``error``; ``retry=False`` fails it for good even when its spec
    has retries left.
    """

    def __init__(self, message: str, *, code: str = "failed", detail: Any = None,
                 retry: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail
        self.retry = retry


class WorkerJob:
    """The job a task runs: what loomd pushed, and ways to report on it.

    Attributes: ``id``, ``type``, ``args``, ``attempt``, ``name``, ``queue``,
    ``timeout``, ``deadline`` (None when not set) and ``raw`` (the pushed
    object as it came).
    """

    def __init__(self, conn: Connection, raw: Dict[str, Any],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.raw = raw
        self.id: int = raw["id"]
        self.type: str = raw.get("type", "")
        self.args: Dict[str, Any] = raw.get("args") or {}
        self.attempt: int = raw.get("attempt", 1)
        self.name: Optional[str] = raw.get("name")
        self.queue: Optional[str] = raw.get("queue")
        self.timeout: Optional[float] = raw.get("timeout")
        self.deadline: Optional[float] = raw.get("deadline")
        self._conn = conn
        self._loop = loop
        # Set on the loop, read from any thread: a plain bool is enough.
        self._cancelled = False

    def __repr__(self) -> str:
        return f"<loom.WorkerJob {self.id} {self.type} attempt {self.attempt}>"

    def cancelled(self) -> bool:
        """True once loomd has cancelled the job (or the worker gave it up).

        A plain ``def`` task runs in a thread that cannot be interrupted:
        check this now and then and return early.
        """
        return self._cancelled

    def _send(self, op: str, fields: Dict[str, Any]) -> Any:
        """Send from the loop (an awaitable task) or from a task's thread
        (a concurrent.futures.Future: ``.result()`` waits for the answer)."""
        fields = dict(fields, job=self.id)

        async def send() -> None:
            await self._conn.request(op, fields)

        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            task = self._loop.create_task(send())
            task.add_done_callback(_quiet)
            return task
        fut = asyncio.run_coroutine_threadsafe(send(), self._loop)
        fut.add_done_callback(_quiet)
        return fut

    def progress(self, done: float, total: Optional[float] = None,
                 message: Optional[str] = None) -> Any:
        """Report progress (shown in the job's view, pushed to watchers).

        ``await job.progress(1, 3, "loaded")`` in an async task; in a
        plain ``def`` task, ``job.progress(...)`` sends it in the background.
        Raises :class:`~loom.InvalidState` (when awaited) if the job is no
        longer this worker's.
        """
        p: Dict[str, Any] = {"done": done}
        if total is not None:
            p["total"] = total
        if message is not None:
            p["message"] = message
        return self._send("job.progress", {"progress": p})

    def heartbeat(self) -> Any:
        """Extend the job's lease now (the worker does this on its own)."""
        return self._send("job.heartbeat", {})


def _quiet(fut: Any) -> None:
    """Retrieve a background send's exception so that it is not reported."""
    if not fut.cancelled():
        fut.exception()


class Worker:
    """Runs tasks for loomd job types.

    >>> w = Worker("/run/loomd/loomd.sock", concurrency=8)
    >>> @w.task("resize")
    ... async def resize(args, job):
    ...     await job.progress(1, 3, "loaded")
    ...     return {"bytes": 123}
    >>> await w.run()

    ``concurrency``: jobs run at once.  ``heartbeat``: seconds between
    lease renewals of running jobs (default: a third of the job's lease as
    pushed, or of 60 s).  ``reconnect``: after a lost connection, connect
    again with backoff up to ``max_backoff`` seconds (jobs that were
    running are given back to loomd by the lost connection, and their
    tasks are cancelled).  ``stop_grace``: on :meth:`stop` (SIGTERM,
    SIGINT), how long running tasks may go on before they are cancelled.
    """

    def __init__(self, address: str = "/run/loomd/loomd.sock", *,
                 concurrency: int = 8, name: Optional[str] = None,
                 token: Optional[str] = None, tls: TLSArg = None,
                 server_hostname: Optional[str] = None,
                 heartbeat: Optional[float] = None, reconnect: bool = True,
                 max_backoff: float = 30.0, stop_grace: float = 30.0,
                 handle_signals: bool = True) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.address = address
        self.concurrency = concurrency
        self.name = name
        self.token = token
        self.tls = tls
        self.server_hostname = server_hostname
        self.heartbeat = heartbeat
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.stop_grace = stop_grace
        self.handle_signals = handle_signals
        self.tasks: Dict[str, TaskFunc] = {}
        self._is_async: Dict[Any, bool] = {}
        #: The id loomd gave this worker at its last ``worker.hello``.
        self.worker_id: Optional[str] = None
        self._running: Dict[int, "asyncio.Task[None]"] = {}
        self._jobs: Dict[int, WorkerJob] = {}
        self._lease = DEFAULT_LEASE
        #: How many times loomd has taken this worker's hello (reconnects add one).
        self.hellos = 0
        #: Connections that could not be made or kept (each followed by a backoff).
        self.failed_connects = 0
        self._stop_requested = False
        self._events_loop: Optional[asyncio.AbstractEventLoop] = None
        self._make_events()

    def task(self, type: str) -> Callable[[TaskFunc], TaskFunc]:
        """Decorator: run jobs of ``type`` with the function.

        The function takes ``(args, job)``.  An ``async def`` runs as an
        asyncio task and gets CancelledError when loomd cancels the job; a
        plain ``def`` runs in a thread (see :meth:`WorkerJob.cancelled`).
        """
        def register(fn: TaskFunc) -> TaskFunc:
            self.add_task(type, fn)
            return fn
        return register

    def add_task(self, type: str, fn: TaskFunc) -> None:
        """Run jobs of ``type`` with ``fn`` (as :meth:`task` does)."""
        if not callable(fn):
            raise TypeError("a task must be callable")
        self.tasks[type] = fn

    @property
    def running(self) -> int:
        """Jobs running now."""
        return len(self._running)

    def _make_events(self) -> None:
        """The worker's asyncio events, made for the running loop (before
        Python 3.10 an Event belongs to the loop it was made on)."""
        try:
            loop: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and loop is self._events_loop:
            return
        self._events_loop = loop
        if loop is None:
            self._stop = self._ready = self._said_bye = None  # type: ignore[assignment]
            return
        self._stop: asyncio.Event = asyncio.Event()
        self._ready: asyncio.Event = asyncio.Event()
        self._said_bye: asyncio.Event = asyncio.Event()
        if self._stop_requested:
            self._stop.set()

    async def ready(self) -> None:
        """Wait until loomd has accepted this worker's hello."""
        self._make_events()
        await self._ready.wait()

    def stop(self) -> None:
        """Ask :meth:`run` to stop: no new jobs, running ones finish
        (within ``stop_grace``), then it returns.  Call it on the loop
        (a signal handler added with ``loop.add_signal_handler`` is)."""
        self._stop_requested = True
        self._make_events()
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        """Serve jobs until :meth:`stop` (or SIGTERM/SIGINT).

        Raises :class:`~loom.RequestError` if loomd refuses the hello
        (``unknown_op`` from a daemon without workers, ``unauthorized`` for
        a wrong or missing token, ``forbidden`` for a token without the
        ``work`` role), ConnectionLost at once when a TLS handshake fails
        on a certificate (either side's), and ConnectionLost when a
        connection cannot be made or kept and ``reconnect`` is False.
        """
        if not self.tasks:
            raise ValueError("no tasks: register some with @worker.task(TYPE)")
        self._make_events()
        loop = asyncio.get_running_loop()
        signals = self._install_signals(loop)
        try:
            await self._serve(loop)
        except asyncio.CancelledError:
            for task in self._running.values():  # no task outlives run()
                task.cancel()
            raise
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            self._stop_requested = False
            self._stop.clear()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return []
        done = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.stop)
                done.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return done

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                conn = await self._hello(loop)
            except (ConnectionLost, Busy, ShuttingDown) as e:
                # No daemon, too many workers, or a daemon on its way out:
                # all pass.  Other refusals (unknown_op, unauthorized,
                # forbidden) do not, nor does a TLS peer that refused the
                # other's certificate: no backoff would change them.
                if _tls_refused(e):
                    raise
                self.failed_connects += 1
                if not self.reconnect:
                    raise
                log.warning("loom worker: %s; again in %.1fs", e, backoff)
            else:
                backoff = 0.1
                lost = await self._session(conn, loop)
                if not lost:
                    return
                self.failed_connects += 1
                if not self.reconnect:
                    raise ConnectionLost("connection to loomd lost")
                log.warning("loom worker: connection to loomd lost; again in %.1fs", backoff)
            if await self._sleep_or_stop(backoff * random.uniform(0.5, 1.0)):
                return
            backoff = min(backoff * 2, self.max_backoff)

    async def _sleep_or_stop(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _hello(self, loop: asyncio.AbstractEventLoop) -> Connection:
        holder: Dict[str, Connection] = {}
        conn = await Connection.open(
            self.address, tls=self.tls, server_hostname=self.server_hostname,
            on_event=lambda ev: self._on_event(holder["conn"], ev, loop))
        holder["conn"] = conn
        try:
            if self.token is not None:
                await conn.request("auth", {"token": self.token})
            hello: Dict[str, Any] = {"types": sorted(self.tasks),
                                     "concurrency": self.concurrency}
            if self.name is not None:
                hello["name"] = self.name
            reply = await conn.request("worker.hello", hello)
        except BaseException:
            await conn.close()
            raise
        self.worker_id = (reply.get("worker") or {}).get("id")
        self.hellos += 1
        self._said_bye.clear()
        await self._learn_lease(conn)
        log.info("loom worker %s: serving %s", self.worker_id, ", ".join(sorted(self.tasks)))
        self._ready.set()
        return conn

    async def _learn_lease(self, conn: Connection) -> None:
        """The shortest lease of this worker's types, to pace heartbeats.

        loomd lists each external type's lease in ``stats``; a token without
        the read role cannot ask, and then the default (60 s) is assumed,
        unless ``heartbeat`` was given.
        """
        if self.heartbeat is not None:
            return
        try:
            stats = (await conn.request("stats")).get("stats") or {}
        except RequestError:
            return
        types = stats.get("worker_types") or {}
        leases = [t.get("lease") for name, t in types.items()
                  if name in self.tasks and isinstance(t, dict)]
        leases = [x for x in leases if isinstance(x, (int, float)) and x > 0]
        if leases:
            self._lease = float(min(leases))

    async def _session(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> bool:
        """Serve on one connection; True if it was lost, False on a clean stop."""
        beats = loop.create_task(self._heartbeats(conn))
        stopping = loop.create_task(self._stop.wait())
        try:
            await asyncio.wait([stopping, conn.closed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        try:
            if not conn.is_open:
                await self._abandon("the connection to loomd was lost")
                return True
            await self._drain(conn)
            return False
        finally:
            beats.cancel()
            await conn.close()
            self._ready.clear()

    async def _drain(self, conn: Connection) -> None:
        """Stop cleanly: no new jobs, let running ones finish (bounded)."""
        try:
            await conn.request("worker.bye")
            self._said_bye.set()
        except LoomError as e:
            log.warning("loom worker: worker.bye: %s", e)
        tasks = list(self._running.values())
        if tasks:
            log.info("loom worker: stopping; waiting for %d job(s)", len(tasks))
            done, left = await asyncio.wait(tasks, timeout=self.stop_grace)
            if left:
                await self._abandon(f"still running after {self.stop_grace}s of stopping")

    async def _abandon(self, why: str) -> None:
        """Cancel every task; their jobs go back to loomd with the connection."""
        tasks = list(self._running.values())
        for job in self._jobs.values():
            job._cancelled = True
        for t in tasks:
            t.cancel()
        if tasks:
            log.warning("loom worker: %s: cancelled %d job(s)", why, len(tasks))
            await asyncio.wait(tasks)

    def _on_event(self, conn: Connection, ev: Dict[str, Any],
                  loop: asyncio.AbstractEventLoop) -> None:
        kind = ev.get("event")
        if kind == "run":
            raw = ev.get("job")
            if isinstance(raw, dict) and isinstance(raw.get("id"), int):
                self._start(conn, raw, loop)
        elif kind == "cancel":
            jid = ev.get("job")
            task = self._running.get(jid) if isinstance(jid, int) else None
            if task is not None:
                self._jobs[jid]._cancelled = True
                task.cancel()

    def _start(self, conn: Connection, raw: Dict[str, Any],
               loop: asyncio.AbstractEventLoop) -> None:
        job = WorkerJob(conn, raw, loop)
        lease = raw.get("lease")
        if isinstance(lease, (int, float)) and lease > 0:
            self._lease = min(self._lease, float(lease))
        task = loop.create_task(self._run_job(conn, job))
        self._running[job.id] = task
        self._jobs[job.id] = job
        task.add_done_callback(lambda _t: self._forget(job.id, task))

    def _forget(self, jid: int, task: "asyncio.Task[None]") -> None:
        if self._running.get(jid) is task:
            del self._running[jid]
            del self._jobs[jid]

    async def _run_job(self, conn: Connection, job: WorkerJob) -> None:
        fn = self.tasks.get(job.type)
        if fn is None:
            await self._fail(conn, job, "failed",
                             f"this worker has no task for type {job.type!r}", None, False)
            return
        try:
            is_async = self._is_async.get(fn)
            if is_async is None:
                is_async = self._is_async[fn] = inspect.iscoroutinefunction(fn)
            if is_async:
                result = await fn(job.args, job)
            else:
                result = await _to_thread(fn, job.args, job)
                if inspect.isawaitable(result):
                    result = await result
        except asyncio.CancelledError:
            # loomd cancelled the job (it has ended already) or the worker
            # gave it up: nothing to report.
            job._cancelled = True
            return
        except TaskError as e:
            await self._fail(conn, job, e.code, str(e) or e.code, e.detail, e.retry)
            return
        except Exception as e:
            await self._fail(conn, job, "failed", str(e) or type(e).__name__,
                             {"type": type(e).__name__}, True)
            return
        try:
            refused = await self._report(conn, "job.complete", {"job": job.id, "result": result})
        except (TypeError, ValueError) as e:  # json.dumps: not JSON, NaN, a cycle
            await self._fail(conn, job, "failed", f"the task's result is not JSON: {e}",
                             {"type": type(e).__name__}, False)
            return
        if refused is not None:  # too long a line, most likely
            await self._fail(conn, job, "failed", f"loomd refused the task's result: {refused}",
                             {"type": type(refused).__name__}, False)

    async def _fail(self, conn: Connection, job: WorkerJob, code: str, message: str,
                    detail: Any, retry: bool) -> None:
        """job.fail; if loomd refuses that error (a bad code, a detail that is
        not JSON or too big), fail the job with a plain one instead, so that
        it never waits for its lease to run out."""
        error: Dict[str, Any] = {"code": code, "message": _clip(message)}
        if detail is not None:
            error["detail"] = detail
        try:
            refused = await self._report(conn, "job.fail",
                                         {"job": job.id, "retry": retry, "error": error})
        except (TypeError, ValueError) as e:
            refused = e
        if refused is not None:
            plain = {"code": "failed", "message": _clip(f"{message} (the task's error was "
                                                        f"refused: {refused})")}
            await self._report(conn, "job.fail", {"job": job.id, "retry": retry, "error": plain})

    async def _report(self, conn: Connection, op: str,
                      fields: Dict[str, Any]) -> Optional[RequestError]:
        """Send a job's report; the refusal if loomd found it bad, else None."""
        try:
            await conn.request(op, fields)
        except InvalidState:
            # Cancelled, timed out or re-leased meanwhile: no longer ours.
            log.debug("loom worker: %s of job %s: no longer this worker's",
                      op, fields.get("job"))
        except ConnectionLost:
            pass  # the job goes back to loomd's queue with the connection
        except RequestError as e:
            log.warning("loom worker: %s of job %s refused: %s", op, fields.get("job"), e)
            return e
        return None

    async def _heartbeats(self, conn: Connection) -> None:
        """Renew the lease of every running job, a few times per lease."""
        while conn.is_open:
            interval = self.heartbeat or self._lease / 3
            await asyncio.sleep(interval)
            for jid in list(self._running):
                conn.send("job.heartbeat", {"job": jid}).add_done_callback(_quiet)


def _tls_refused(e: BaseException) -> bool:
    """True if e comes of a TLS handshake that a certificate failed: ours
    did not verify the server's, or the server sent an alert (no client
    certificate, or one of a CA it does not trust).  Not a lost connection
    that trying again could mend."""
    seen = 0
    cause: Optional[BaseException] = e
    while cause is not None and seen < 8:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        if isinstance(cause, ssl.SSLError) and "ALERT" in str(getattr(cause, "reason", "")):
            return True
        cause = cause.__cause__
        seen += 1
    return False


def _clip(message: str, limit: int = 4000) -> str:
    """A message within loomd's bound on error messages (4,096 bytes)."""
    data = message.encode("utf-8", "replace")
    if len(data) <= limit:
        return message
    return data[:limit].decode("utf-8", "ignore") + "..."


async def _to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """asyncio.to_thread (3.9+), spelled for the running loop's executor."""
    to_thread = getattr(asyncio, "to_thread", None)
    if to_thread is not None:
        return await to_thread(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)  # pragma: no cover
