"""Fixtures: a real loomd from the build tree, on a Unix socket in a temp dir.

The daemon is found through LOOMD (its path) or LOOM_BUILDDIR (the build
tree, as `make check` sets it).  Without either the tests are skipped.
"""
import asyncio
import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

WAIT = 30.0  # seconds any one wait may take on a busy machine


def loomd_path():
    path = os.environ.get("LOOMD")
    if not path and os.environ.get("LOOM_BUILDDIR"):
        path = os.path.join(os.environ["LOOM_BUILDDIR"], "loomd")
    return path


class Daemon:
    """A loomd started for the tests; ``sock`` is its Unix socket."""

    def __init__(self, config="", extra=(), start=True):
        path = loomd_path()
        if not path or not os.access(path, os.X_OK):
            pytest.skip("no loomd: set LOOM_BUILDDIR (make check does) or LOOMD")
        self.dir = tempfile.mkdtemp(prefix="loompy.")
        self.sock = os.path.join(self.dir, "loomd.sock")
        self.conf = os.path.join(self.dir, "loomd.conf")
        self.log = os.path.join(self.dir, "loomd.log")
        with open(self.conf, "w") as f:
            f.write(config)
        self.argv = [path, "-c", self.conf, "-u", self.sock, "-o", "log_level=debug",
                "-o", "state_dir=" + os.path.join(self.dir, "state"),
                "-o", "shutdown_grace=0", *extra]
        self.proc = None
        if start:
            self._start()

    def start(self):
        """Start it (made with start=False): sock is known before it listens."""
        self._start()

    def _start(self):
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self._wait_listening()

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
