"""The dashboard in a real browser: headless Chromium loads it from a running
loomd, runs its script, and the DOM it dumps must show the queues, their
counts, the paused badge, a running job and a failed job's error.  Polled
until the DOM has the data (each run is bounded; so is the whole).  A
screenshot is kept in the build tree: tests/http/dashboard.png."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loomd import Loomd, builddir  # noqa: E402

passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        print("PASS:", name)
        passed += 1
    except Exception as e:
        print("FAIL:", name, "-", repr(e))
        failed += 1


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("test_dashboard: needs chromium (quickstart installs it)")


def browse(url, profile, *what):
    # --no-sandbox: the tests run as root here (CI too), and Chromium's
    # sandbox refuses root; the page is our own, served from loopback.
    args = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile,
            "--window-size=1280,1100", "--virtual-time-budget=4000", *what, url]
    r = subprocess.run(args, capture_output=True, text=True, timeout=90)
    return r.stdout


def main():
    d = Loomd()
    profile = tempfile.mkdtemp(prefix="loomd-chromium.")
    try:
        for i in range(7):
            d.submit({"type": "echo", "queue": "images", "args": {"value": i}})
        bad = d.submit({"type": "sleep", "queue": "mail", "name": "send-report",
                        "args": {"seconds": 0, "error": "smtp relay refused <b>us</b>"}})
        d.call({"op": "queue.pause", "name": "reports"})
        d.submit({"type": "echo", "queue": "reports"}, wait=False)
        slow = d.submit({"type": "sleep", "queue": "images", "name": "resize-big",
                         "args": {"seconds": 120}}, wait=False)
        while d.call({"op": "status", "job": slow["id"]})["job"]["state"] != "running":
            pass

        dom = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            dom = browse(d.url, profile, "--dump-dom")
            if 'data-queue="reports"' in dom and "smtp relay" in dom and \
                    "resize-big" in dom:
                break

        def queues():
            for q in ("images", "mail", "reports"):
                assert 'data-queue="%s"' % q in dom, q
            card = re.search(r'data-queue="images".*?</article>', dom, re.S).group(0)
            assert re.search(r'class="depth"><span>depth</span><b>0</b>', card), card
            assert re.search(r'class="running"><span>running</span><b>1</b>', card), card
            assert "7 done of 8 submitted" in card, card
            reports = re.search(r'data-queue="reports".*?</article>', dom, re.S).group(0)
            assert 'class="badge">paused<' in reports and "<b>1</b>" in reports, reports
            assert "<svg" in card and "class=\"spark\"" in card
        check("queues: names, counts, the paused badge, a sparkline", queues)

        def failure():
            row = re.search(r'<tr data-job="%d">.*?</tr>' % bad["id"], dom, re.S)
            assert row, dom[-3000:]
            row = row.group(0)
            assert "send-report" in row and ">mail<" in row
            assert '<td class="code">failed</td>' in row
            # Text, not markup: the message's <b> is shown, not obeyed.
            assert "smtp relay refused &lt;b&gt;us&lt;/b&gt;" in row, row
        check("a failed job with its error code and message", failure)

        def running():
            table = re.search(r'<table id="running".*?</table>', dom, re.S).group(0)
            assert "resize-big" in table and ">images<" in table, table
        check("the running job", running)

        def screenshot():
            out = os.path.join(builddir(), "tests", "http", "dashboard.png")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            if os.path.exists(out):
                os.unlink(out)
            browse(d.url, profile, "--screenshot=" + out, "--hide-scrollbars")
            with open(out, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
            print("screenshot:", out)
        check("a screenshot, kept in the build tree", screenshot)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        d.stop()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
