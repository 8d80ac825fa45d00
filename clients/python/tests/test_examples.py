"""The programs in examples/ (the crawler and the worker), run as a user would."""
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import loom
from conftest import WAIT, Daemon, daemon_has, loomd_path, run

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "examples"))
PACKAGE = os.path.normpath(os.path.join(HERE, ".."))


def example(name):
    path = os.path.join(EXAMPLES, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} is not here")
    return path


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# A small site: / links to a, b, c; a to d and b; c to a missing page and
# another host (not followed).  Each answer takes a little while, so that
# fetches overlap and the crawl's limit has something to bound.
SITE = {
    "/": '<a href="/a">a</a> <a href="b">b</a> <a href="/c#top">c</a>',
    "/a": '<a href="/d">d</a> <a href="/b">b again</a>',
    "/b": "no links",
    "/c": '<a href="/missing">gone</a> <a href="http://example.invalid/">away</a>',
    "/d": "<p>leaf</p>",
}


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SiteHandler)
        self.lock = threading.Lock()
        self.inflight = self.max_inflight = 0
        self.paths = []


class SiteHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.inflight += 1
            srv.max_inflight = max(srv.max_inflight, srv.inflight)
            srv.paths.append(self.path)
        try:
            time.sleep(0.05)  # a slow server, not a synchronisation
        finally:
            # Out before the answer goes: once it is written, loomd may end
            # the job and start the next fetch before this thread runs on.
            with srv.lock:
                srv.inflight -= 1
        body = SITE.get(self.path)
        self.send_response(200 if body is not None else 404)
        data = (body or "not found").encode()
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def http_config():
    """Config for fetching from loopback: [http] allow_private where the
    daemon has that outbound policy (and refuses loopback without it)."""
    conf = "[limit.crawl]\nconcurrency = 2\n"
    probe = conf + "[http]\nallow_private = yes\n"
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"loompy-probe-{os.getpid()}.conf")
    with open(path, "w") as f:
        f.write(probe)
    try:
        ok = subprocess.run([loomd_path(), "-t", "-c", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
    finally:
        os.unlink(path)
    return probe if ok else conf


def test_crawler_fetches_the_site_within_its_limit():
    crawler = example("crawler.py")
    if not loomd_path():
        pytest.skip("no loomd: set LOOM_BUILDDIR (make check does) or LOOMD")
    site = Site()
    threading.Thread(target=site.serve_forever, daemon=True).start()
    d = Daemon(http_config())
    try:
        root = f"http://127.0.0.1:{site.server_address[1]}/"
        out = subprocess.run([sys.executable, crawler, "-s", d.sock, "--limit", "crawl",
                              "--depth", "5", root], env=python_env(), timeout=WAIT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[-1] == "6 pages, 5 ok", out.stdout
        assert f"{root}missing: 404 9 bytes" in lines
        assert sorted(site.paths) == ["/", "/a", "/b", "/c", "/d", "/missing"]
        assert 1 <= site.max_inflight <= 2
    finally:
        site.shutdown()
        site.server_close()
        assert d.stop() == 0


@pytest.fixture(scope="module")
def wdaemon(daemon):
    if not daemon_has(daemon.sock, "worker.hello"):
        pytest.skip("this loomd has no workers (worker.hello is unknown_op)")
    return daemon


@run
async def test_worker_example_runs_jobs_and_stops_on_sigterm(wdaemon):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, example("worker.py"), "-s", wdaemon.sock, "-c", "4",
        env=python_env(), stdout=asyncio.subprocess.PIPE)
    try:
        assert (await proc.stdout.readline()) == b"ready\n"
        async with loom.Client(wdaemon.sock) as c:
            wc = await c.submit("wordcount", {"text": "the cat\nand the hat\n"})
            sha = await c.submit("sha256", {"data": "abc"})
            bad = await c.submit("wordcount", {"text": 3})
            assert (await wc.value()) == {"words": 5, "top": [["the", 2], ["cat", 1], ["and", 1]]}
            assert (await sha.value())["hex"].startswith("ba7816bf")
            with pytest.raises(loom.JobFailed) as ei:
                await bad.result()
            assert ei.value.code == "bad_args"

            # SIGTERM with a job running: it finishes, then the worker exits 0.
            async with c.watch(queue="pyexample") as events:
                long = await c.submit("pause", {"seconds": 0.5}, queue="pyexample")
                async for ev in events:
                    if ev["job"]["state"] == "running":
                        break
            proc.send_signal(signal.SIGTERM)
            assert (await proc.stdout.readline()) == b"stopped\n"
            assert await proc.wait() == 0
            assert (await long.result())["result"] == {"paused": 0.5}
            # Gone: a new job waits for another worker.
            later = await c.submit("pause", {"seconds": 0})
            assert (await later.status())["state"] == "queued"
            await later.cancel()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
