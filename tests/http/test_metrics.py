"""GET /metrics read with a real Prometheus parser: the families and their
types, the labels, counters that match the jobs run, histograms whose
buckets never go down and whose +Inf bucket is the count.  /healthz, the
dashboard's JSON, and what the listener refuses."""
import os
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's python3-prometheus-client is for Debian's python3.
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("test_metrics: needs python3-prometheus-client (quickstart installs it)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loomd import Loomd  # noqa: E402

passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        print("PASS:", name)
        passed += 1
    except Exception as e:  # a failed check, with what it saw
        print("FAIL:", name, "-", repr(e))
        failed += 1


def families(text):
    return {(f.name, f.type): f for f in text_string_to_metric_families(text)}


def sample(fam, name, **labels):
    for s in fam.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError("no %s %r" % (name, labels))


def check_histogram(fam):
    series = {}
    for s in fam.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for key, h in series.items():
        les = [le for le, _ in h["buckets"]]
        assert les == sorted(les) and les[0] == 0.0001 and les[-2] == 3600 and \
            les[-1] == float("inf"), les
        counts = [n for _, n in h["buckets"]]
        assert all(a <= b for a, b in zip(counts, counts[1:])), (key, counts)
        assert counts[-1] == h["count"], (key, counts[-1], h["count"])
    return series


def main():
    d = Loomd("log_jobs=all")
    try:
        for i in range(20):
            assert d.submit({"type": "echo", "queue": "alpha",
                             "args": {"value": i}})["state"] == "done"
        for i in range(3):
            assert d.submit({"type": "sleep", "queue": "beta", "name": "bad",
                             "args": {"seconds": 0, "error": "broke %d" % i}}
                            )["state"] == "failed"
        d.call({"op": "queue.pause", "name": "gamma"})
        parked = d.submit({"type": "echo", "queue": "gamma"}, wait=False)
        running = d.submit({"type": "sleep", "queue": "delta",
                            "args": {"seconds": 60}}, wait=False)
        # Running once its view says so: the status is an event, not a sleep.
        while d.call({"op": "status", "job": running["id"]})["job"]["state"] != "running":
            pass

        status, ctype, text = d.get("/metrics")
        fams = families(text)

        def exposition():
            assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), ctype
            for name, typ in [("loomd_jobs", "counter"), ("loomd_jobs", "gauge"),
                              ("loomd_job_duration_seconds", "histogram"),
                              ("loomd_job_wait_seconds", "histogram"),
                              ("loomd_connections", "gauge"), ("loomd_workers", "gauge"),
                              ("loomd_loop_lag_seconds", "gauge"),
                              ("loomd_executor_queued", "gauge"),
                              ("loomd_journal_bytes", "gauge"),
                              ("loomd_journal_sync_seconds", "histogram"),
                              ("process_cpu_seconds", "counter"),
                              ("process_resident_memory_bytes", "gauge"),
                              ("process_open_fds", "gauge"), ("process_max_fds", "gauge"),
                              ("process_start_time_seconds", "gauge")]:
                assert (name, typ) in fams, (name, typ)
            assert "# HELP loomd_jobs_total " in text and "# TYPE loomd_jobs_total counter" in text
        check("the families, their types and HELP", exposition)

        def counters():
            c = fams[("loomd_jobs", "counter")]
            assert sample(c, "loomd_jobs_total", queue="alpha", type="echo",
                          state="submitted") == 20
            assert sample(c, "loomd_jobs_total", queue="alpha", type="echo",
                          state="done") == 20
            assert sample(c, "loomd_jobs_total", queue="beta", type="sleep",
                          state="failed") == 3
            for s in c.samples:
                assert set(s.labels) == {"queue", "type", "state"}, s.labels
                assert s.labels["queue"] and s.labels["type"], s.labels
            # Crossed, not kept each way: the sums are the jobs, once each.
            done = sum(s.value for s in c.samples if s.labels["state"] == "done")
            assert done == 20, done             # gamma's waits, delta's runs
            submitted = sum(s.value for s in c.samples
                            if s.labels["state"] == "submitted")
            assert submitted == 20 + 3 + 2, submitted
        check("loomd_jobs_total counts the jobs run", counters)

        def gauges():
            g = fams[("loomd_jobs", "gauge")]
            assert sample(g, "loomd_jobs", queue="gamma", state="queued") == 1
            assert sample(g, "loomd_jobs", queue="delta", state="running") == 1
            assert sample(g, "loomd_jobs", queue="alpha", state="running") == 0
            lag = fams[("loomd_loop_lag_seconds", "gauge")]
            assert sorted(s.labels["loop"] for s in lag.samples) == ["0", "1"]
            assert sample(fams[("loomd_connections", "gauge")], "loomd_connections") >= 1
            assert sample(fams[("loomd_workers", "gauge")], "loomd_workers") == 0
            assert sample(fams[("process_open_fds", "gauge")], "process_open_fds") > 3
        check("the gauges: jobs by queue and state, loops, connections", gauges)

        def histograms():
            dur = check_histogram(fams[("loomd_job_duration_seconds", "histogram")])
            assert dur[(("type", "echo"),)]["count"] == 20
            assert dur[(("type", "sleep"),)]["count"] == 3
            wait = check_histogram(fams[("loomd_job_wait_seconds", "histogram")])
            assert wait[(("queue", "alpha"),)]["count"] == 20
            assert wait[(("queue", "delta"),)]["count"] == 1
            sync = check_histogram(fams[("loomd_journal_sync_seconds", "histogram")])
            assert sync[()]["count"] >= 1     # journal_sync = always
        check("histograms: bounds, monotone buckets, +Inf is the count", histograms)

        def healthz():
            assert d.get("/healthz")[0::2] == (200, "ok\n")
        check("/healthz answers ok while the loops do", healthz)

        def overview():
            import json
            status, ctype, body = d.get("/api/overview")
            o = json.loads(body)
            assert status == 200 and ctype == "application/json"
            q = {x["name"]: x for x in o["queues"]}
            assert q["alpha"]["counts"]["done"] == 20
            assert q["gamma"]["paused"] is True and q["gamma"]["depth"] == 1
            assert [j["id"] for j in o["running"]] == [running["id"]]
            f = o["failures"][0]
            assert f["queue"] == "beta" and f["error"] == {"code": "failed",
                                                           "message": "broke 2"}
            job = json.loads(d.get("/api/job/%d" % parked["id"])[2])
            assert job["state"] == "queued" and job["queue"] == "gamma"
            assert d.get("/api/job/999999")[0] == 404
            assert d.get("/api/job/abc")[0] == 400
        check("/api/overview and /api/job/ID", overview)

        def refusals():
            assert d.get("/nothing")[0] == 404
            page = d.get("/")
            assert page[0] == 200 and page[1].startswith("text/html")
        check("unknown paths are 404; / is the page", refusals)

        def joblog():
            log = d.logtext()
            assert "job %d done id=%d type=echo queue=gamma" % (parked["id"], parked["id"]) not in log
            assert "type=sleep name=bad queue=beta state=failed attempt=1" in log
            assert "error=failed error_message=\"broke 0\"" in log
        check("log_jobs = all logs each finished job", joblog)

        def workers():
            import json
            assert d.call({"op": "worker.hello", "types": ["mail"],
                           "concurrency": 2, "name": "w1"})["ok"] is True
            fams = families(d.get("/metrics")[2])
            assert sample(fams[("loomd_workers", "gauge")], "loomd_workers") == 1
            o = json.loads(d.get("/api/overview")[2])
            assert o["workers"] == 1
            assert [(w["name"], w["types"]) for w in o["workers_list"]] == \
                [("w1", ["mail"])]
        check("a worker counts in loomd_workers and the dashboard's list", workers)
    finally:
        d.stop()

    def with_tokens():
        import hashlib
        digest = {s: hashlib.sha256(s.encode()).hexdigest()
                  for s in ("read-secret", "submit-secret")}
        t = Loomd("token.r.roles=read", "token.r.secret_sha256=" + digest["read-secret"],
                  "token.s.roles=submit",
                  "token.s.secret_sha256=" + digest["submit-secret"])
        try:
            for path in ("/metrics", "/api/overview"):
                assert t.get(path)[0] == 401, path
                assert t.get(path, {"Authorization": "Bearer submit-secret"})[0] == 401
                assert t.get(path, {"Authorization": "Bearer wrong"})[0] == 401
                assert t.get(path, {"Authorization": "Bearer read-secret"})[0] == 200
            assert t.get("/healthz")[0] == 200
        finally:
            t.stop()
    check("with tokens, /metrics and /api need a bearer of role read", with_tokens)

    def public_without_tokens():
        import subprocess
        from loomd import builddir
        r = subprocess.run([os.path.join(builddir(), "loomd"), "-t", "-o",
                            "metrics_listen=0.0.0.0:9100"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode != 0 and "not a loopback address" in r.stderr, r.stderr
    check("a public metrics_listen without tokens is refused", public_without_tokens)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
