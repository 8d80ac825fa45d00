"""Fixtures: a real loomd from the build tree, on a Unix socket in a temp dir.

The daemon is found through LOOMD (its path) or LOOM_BUILDDIR (the build
tree, as `make check` sets it).  Without either the tests are skipped.

With ``listeners=("tcp", "tls")`` the test binds the sockets itself (TCP
and TLS on loopback ports the kernel picks) and passes them, with the Unix
socket, as systemd's socket activation does; no port is chosen, freed and
bound again, which another program could take meanwhile.
"""
import asyncio
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

WAIT = 30.0  # seconds any one wait may take on a busy machine


def loomd_path():
    path = os.environ.get("LOOMD")
    if not path and os.environ.get("LOOM_BUILDDIR"):
        path = os.path.join(os.environ["LOOM_BUILDDIR"], "loomd")
    return path


# Run in the child between fork and loomd: puts the passed listeners at
# 3, 4, ... and sets LISTEN_PID to its own pid, which exec keeps.
_ACTIVATE = """
import fcntl, os, sys
fds = [int(fd) for fd in sys.argv[1].split(",")]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = str(len(fds))
os.execv(sys.argv[2], sys.argv[2:])
"""


def _tcp_listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


class Daemon:
    """A loomd started for the tests; ``sock`` is its Unix socket.

    ``listeners``: "tcp" and/or "tls" to have those too, passed by socket
    activation; ``tcp`` and ``tls`` are then their ``127.0.0.1:PORT``.
    """

    def __init__(self, config="", extra=(), start=True, listeners=()):
        path = loomd_path()
        if not path or not os.access(path, os.X_OK):
            pytest.skip("no loomd: set LOOM_BUILDDIR (make check does) or LOOMD")
        self.dir = tempfile.mkdtemp(prefix="loompy.")
        self.sock = os.path.join(self.dir, "loomd.sock")
        self.conf = os.path.join(self.dir, "loomd.conf")
        self.log = os.path.join(self.dir, "loomd.log")
        with open(self.conf, "w") as f:
            f.write(config)
        self._listeners = []
        self.tcp = self.tls = None
        if listeners:
            self._activate(listeners)
        self.argv = [path, "-c", self.conf, "-u", self.sock, "-o", "log_level=debug",
                "-o", "state_dir=" + os.path.join(self.dir, "state"),
                "-o", "shutdown_grace=0", *extra]
        self.proc = None
        if start:
            self._start()

    def start(self):
        """Start it (made with start=False): sock is known before it listens."""
        self._start()

    def _activate(self, listeners):
        """Bind the listeners loomd will be passed, and the socket on
        which it says READY=1 (the Unix socket listens before it runs)."""
        for name in listeners:
            s = _tcp_listener()
            setattr(self, name, "127.0.0.1:%d" % s.getsockname()[1])
            self._listeners.append((name, s))
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.bind(self.sock)
        u.listen(64)
        self._listeners.append(("unix", u))
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(os.path.join(self.dir, "notify"))

    def _start(self):
        if not self._listeners:
            with open(self.log, "a") as out:
                self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            self._wait_listening()
            return
        fds = [s.fileno() for _, s in self._listeners]
        env = dict(os.environ, NOTIFY_SOCKET=self._notify.getsockname(),
                   LISTEN_FDNAMES=":".join(name for name, _ in self._listeners))
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _ACTIVATE, ",".join(map(str, fds)), *self.argv],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, pass_fds=fds)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + WAIT
        self._notify.settimeout(0.1)
        while True:
            try:
                if b"READY=1" in self._notify.recv(4096).split(b"\n"):
                    return
            except socket.timeout:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"loomd exited during start-up:\n{self.logtext()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"loomd did not say READY=1:\n{self.logtext()}")

    def restart(self):
        """Stop it (SIGTERM, which must exit 0) and start it again on its state_dir."""
        self.proc.terminate()
        rc = self.proc.wait(WAIT)
        assert rc == 0, f"loomd exited {rc}:\n{self.logtext()}"
        self._start()

    def _wait_listening(self):
        deadline = time.monotonic() + WAIT
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.sock)
                return
            except OSError:
                pass
            finally:
                s.close()
            if self.proc.poll() is not None:
                raise RuntimeError(f"loomd exited during start-up:\n{self.logtext()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"loomd did not start listening:\n{self.logtext()}")
            time.sleep(0.01)

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        """Stop it (SIGTERM) and check that it exits 0."""
        for _, s in self._listeners:
            s.close()
        if self._listeners:
            self._notify.close()
        if self.proc is None:
            shutil.rmtree(self.dir, ignore_errors=True)
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


@pytest.fixture(scope="module")
def daemon():
    d = Daemon()
    yield d
    log = d.logtext()
    rc = d.stop()
    assert rc == 0, f"loomd exited {rc}:\n{log}"


def run(coro_fn):
    """Run an async test function in a fresh event loop, bounded by WAIT*2."""
    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        async def bounded():
            return await asyncio.wait_for(coro_fn(*args, **kwargs), WAIT * 2)
        return asyncio.run(bounded())
    return wrapper


def daemon_has(sock, op):
    """True if the daemon at sock knows op (it answers other than unknown_op)."""
    import json
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    try:
        s.connect(sock)
        s.sendall(json.dumps({"op": op, "id": 1}).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        reply = json.loads(buf)
        return (reply.get("error") or {}).get("code") != "unknown_op"
    finally:
        s.close()
