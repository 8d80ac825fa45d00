"""A loomd for the HTTP tests: started from this build in a private
directory with metrics_listen on a free loopback port (port 0, which loomd
logs), spoken to over its Unix socket, stopped with SIGTERM.  Every wait is
on an event (a log line, a reply) and bounded."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

WAIT = 60.0


def builddir():
    return os.environ.get("LOOM_BUILDDIR", os.getcwd())


class Loomd:
    def __init__(self, *options):
        self.dir = tempfile.mkdtemp(prefix="loomd-http.")
        self.sock = os.path.join(self.dir, "loomd.sock")
        self.logpath = os.path.join(self.dir, "log")
        args = [os.path.join(builddir(), "loomd"), "-u", self.sock,
                "-o", "state_dir=" + os.path.join(self.dir, "state"),
                "-o", "metrics_listen=127.0.0.1:0", "-o", "loops=2",
                "-o", "shutdown_grace=0"]
        for o in options:
            args += ["-o", o]
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        m = self.wait_log(r"metrics: serving (http://[^ ]+/)")
        self.url = m.group(1)
        self.conn = None

    def wait_log(self, pattern):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with open(self.logpath, errors="replace") as f:
                m = re.search(pattern, f.read())
            if m:
                return m
            if self.proc.poll() is not None:
                raise AssertionError("loomd exited: " + open(self.logpath).read())
            time.sleep(0.02)
        raise AssertionError("no %r in the log" % pattern)

    def logtext(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def call(self, req):
        """One request over the Unix socket; its answer."""
        if self.conn is None:
            self.conn = socket.socket(socket.AF_UNIX)
            self.conn.settimeout(WAIT)
            self.conn.connect(self.sock)
            self.rfile = self.conn.makefile("rb")
        self.conn.sendall((json.dumps(req) + "\n").encode())
        line = self.rfile.readline()
        if not line:
            raise AssertionError("loomd closed the connection")
        return json.loads(line)

    def submit(self, job, wait=True):
        r = self.call({"op": "submit", "wait": wait, "job": job})
        assert r.get("ok"), r
        return r["job"]

    def get(self, path, headers=None):
        """(status, content type, body) of GET url+path."""
        req = urllib.request.Request(self.url + path.lstrip("/"),
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        if rc != 0:
            raise AssertionError("loomd exited %d: %s" % (rc, self.logtext()))
        shutil.rmtree(self.dir, ignore_errors=True)
