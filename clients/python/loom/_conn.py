"""One connection to loomd: framing, request ids and dispatch.

Many requests share one connection.  Each gets a fresh integer ``id``; loomd
echoes it in the answer, and answers may come back in any order (a waiting
``submit`` does not hold up a ``ping``).  Pushed events carry ``"event"`` and
no ``"ok"``: those that carry an ``id`` (``child`` events of a streaming
submit) go to that request's listener, the others to the connection's.
"""
import asyncio
import json
import logging
import os
import ssl
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .errors import ConnectionLost, request_error

log = logging.getLogger("loom")

DEFAULT_PORT = 7433
# Answers can be much longer than requests (a gather's results); this is
# only the most one line may take in memory before the connection is given up.
MAX_LINE = 256 << 20

# Requests wait for the socket to take what is queued beyond this.
DRAIN_ABOVE = 1 << 20

EventHandler = Callable[[Dict[str, Any]], None]
TLSArg = Union[None, bool, ssl.SSLContext]


def parse_address(address: str) -> Tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))`` for an address.

    A path (anything with a ``/``, or ``unix:PATH``) is a Unix socket;
    ``HOST:PORT``, ``[V6ADDR]:PORT`` or ``HOST`` (port 7433) is TCP.
    """
    if address.startswith("unix:"):
        return "unix", address[5:]
    if "/" in address:
        return "unix", address
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {address!r}")
        port = rest[1:] or str(DEFAULT_PORT)
    elif address.count(":") == 1:
        host, port = address.split(":")
    elif ":" in address:
        raise ValueError(f"bad address {address!r}: write an IPv6 address as [ADDR]:PORT")
    else:
        host, port = address, str(DEFAULT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad address {address!r}: expected HOST:PORT or a socket path")
    return "tcp", (host, int(port))


def tls_context(tls: TLSArg) -> Optional[ssl.SSLContext]:
    """The SSL context for a ``tls`` argument (True: the system's defaults)."""
    if tls is None or tls is False:
        return None
    if tls is True:
        return ssl.create_default_context()
    if isinstance(tls, ssl.SSLContext):
        return tls
    raise TypeError("tls must be None, a bool or an ssl.SSLContext")


class Connection:
    """A connected socket to loomd with its reader task.

    ``request()`` sends one op and returns its answer (or raises the
    :class:`~loom.RequestError` for ``ok: false``).  ``on_event`` is called
    (on the loop) with every pushed event that is not tied to a request.
    ``closed`` is a future that completes when the connection is gone.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_event: Optional[EventHandler] = None) -> None:
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._next_id = 0
        self._pending: Dict[int, "asyncio.Future[Dict[str, Any]]"] = {}
        self._listeners: Dict[int, EventHandler] = {}
        self._drain_lock = asyncio.Lock()
        self._error: Optional[BaseException] = None
        self._out: List[bytes] = []
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.closed: "asyncio.Future[None]" = loop.create_future()
        self._task = loop.create_task(self._read_loop())

    @classmethod
    async def open(cls, address: str, *, tls: TLSArg = None,
                   server_hostname: Optional[str] = None,
                   on_event: Optional[EventHandler] = None,
                   connect_timeout: Optional[float] = None) -> "Connection":
        """Connect to ``address`` (see :func:`parse_address`)."""
        kind, where = parse_address(address)
        ctx = tls_context(tls)
        if kind == "unix":
            if ctx is not None:
                raise ValueError("TLS is for TCP addresses, not a Unix socket")
            opening = asyncio.open_unix_connection(os.fspath(where), limit=MAX_LINE)
        else:
            host, port = where
            opening = asyncio.open_connection(
                host, port, limit=MAX_LINE, ssl=ctx,
                server_hostname=(server_hostname or host) if ctx else None)
        try:
            reader, writer = await asyncio.wait_for(opening, connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise ConnectionLost(f"cannot connect to {address}: {e}") from e
        return cls(reader, writer, on_event)

    @property
    def is_open(self) -> bool:
        return not self.closed.done()

    def send(self, op: str, fields: Dict[str, Any],
             listener: Optional[EventHandler] = None) -> "asyncio.Future[Dict[str, Any]]":
        """Write one request; the future gets its answer.

        Writing is synchronous (asyncio buffers it), so requests go out in
        the order they are sent.  Use :meth:`request` to also wait for the
        socket's buffer to drain.
        """
        fut: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        if self.closed.done():
            fut.set_exception(self._lost())
            return fut
        self._next_id += 1
        rid = self._next_id
        msg = dict(fields)
        msg["op"] = op
        msg["id"] = rid
        line = json.dumps(msg, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode() + b"\n"
        self._pending[rid] = fut
        if listener is not None:
            self._listeners[rid] = listener
        fut.add_done_callback(lambda _f: self._forget(rid))
        fut.op = op  # type: ignore[attr-defined]
        # Lines sent in one turn of the loop leave in one write: a worker
        # answering many jobs at once makes one system call, not one each.
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(line)
        return fut

    def _flush(self) -> None:
        if self._out and not self.closed.done():
            self._writer.write(b"".join(self._out))
        self._out.clear()

    async def request(self, op: str, fields: Optional[Dict[str, Any]] = None,
                      listener: Optional[EventHandler] = None) -> Dict[str, Any]:
        """Send ``op`` with ``fields`` and return loomd's answer."""
        fut = self.send(op, fields or {}, listener)
        if not fut.done() and self._writer.transport.get_write_buffer_size() > DRAIN_ABOVE:
            await self._drain()
        return await fut

    async def _drain(self) -> None:
        # Concurrent drain() calls were not allowed before Python 3.10.
        async with self._drain_lock:
            try:
                await self._writer.drain()
            except (OSError, RuntimeError) as e:
                self._fail(e)

    def _forget(self, rid: int) -> None:
        self._pending.pop(rid, None)
        self._listeners.pop(rid, None)

    def _lost(self) -> ConnectionLost:
        why = f": {self._error}" if self._error is not None else ""
        lost = ConnectionLost(f"connection to loomd lost{why}")
        lost.__cause__ = self._error
        return lost

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                if line.strip():
                    self._dispatch(json.loads(line))
        except asyncio.CancelledError:
            pass
        except (OSError, ValueError, asyncio.LimitOverrunError) as e:
            self._error = e
        except Exception as e:  # an event handler's bug must not hang requests
            log.exception("loom: reading from loomd failed")
            self._error = e
        finally:
            self._fail(None)

    def _dispatch(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        rid = msg.get("id")
        if "ok" not in msg:  # a pushed event
            listener = self._listeners.get(rid) if "id" in msg else None
            if listener is not None:
                listener(msg)
            elif self._on_event is not None:
                self._on_event(msg)
            return
        fut = self._pending.get(rid) if isinstance(rid, int) else None
        if fut is None:
            if msg.get("ok") is False:
                log.warning("loom: unsolicited error from loomd: %s", msg.get("error"))
            return
        if fut.done():
            return
        if msg.get("ok") is True:
            fut.set_result(msg)
        else:
            fut.set_exception(request_error(msg.get("error"), getattr(fut, "op", None)))

    def _fail(self, error: Optional[BaseException]) -> None:
        """Mark the connection gone and fail whatever waits on it."""
        if error is not None and self._error is None:
            self._error = error
        if not self.closed.done():
            self.closed.set_result(None)
        pending, self._pending = self._pending, {}
        self._listeners.clear()
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(self._lost())
        self._writer.close()

    async def close(self) -> None:
        """Close the connection; requests still waiting fail with ConnectionLost.

        What was sent is written first (loomd answers what it has read).
        """
        self._flush()
        if not self._task.done():
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._fail(None)
        try:
            await self._writer.wait_closed()
        except (OSError, RuntimeError, ssl.SSLError):
            pass
