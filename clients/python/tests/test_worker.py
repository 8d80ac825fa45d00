"""The Worker against a real loomd that has workers (worker.hello)."""
import asyncio
import contextlib
import os
import threading
import time

import pytest

import loom
from conftest import WAIT, Daemon, daemon_has, run


# Types declared in the config exist before any worker names them.
CONFIG = """
[type.pyearly]
lease = 60s

[type.pylease]
lease = 1s
"""


@pytest.fixture(scope="module")
def wdaemon():
    probe = Daemon()
    has = daemon_has(probe.sock, "worker.hello")
    assert probe.stop() == 0
    if not has:
        pytest.skip("this loomd has no workers (worker.hello is unknown_op)")
    d = Daemon(CONFIG)
    yield d
    log = d.logtext()
    rc = d.stop()
    assert rc == 0, f"loomd exited {rc}:\n{log}"


def uniq(prefix, _n=[0]):
    _n[0] += 1
    return f"{prefix}-{os.getpid()}-{_n[0]}"


@contextlib.asynccontextmanager
async def serving(w):
    """Run worker w in the background; stop it (and check it stopped) after."""
    task = asyncio.ensure_future(w.run())
    ready = asyncio.ensure_future(w.ready())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # raises what run() raised
    try:
        yield task
    finally:
        w.stop()
        await task


def worker(sock, **kw):
    kw.setdefault("handle_signals", False)
    return loom.Worker(sock, **kw)


@run
async def test_async_and_sync_tasks_run_jobs(wdaemon):
    t_async, t_sync = "pyearly", uniq("upper")
    w = worker(wdaemon.sock, concurrency=4)
    threads = set()

    @w.task(t_async)
    async def double(args, job):
        return {"n": args["n"] * 2, "attempt": job.attempt, "type": job.type}

    @w.task(t_sync)
    def upper(args, job):
        threads.add(threading.current_thread() is threading.main_thread())
        return args["s"].upper()

    async with loom.Client(wdaemon.sock) as c:
        # Submitted before any worker: they wait queued until one comes.
        early = await c.submit(t_async, {"n": 21})
        async with serving(w):
            jobs = [await c.submit(t_async, {"n": i}) for i in range(20)]
            up = await c.submit(t_sync, {"s": "abc"})
            views = await c.gather(early, *jobs)
            assert views[0]["result"] == {"n": 42, "attempt": 1, "type": t_async}
            assert [v["result"]["n"] for v in views[1:]] == [2 * i for i in range(20)]
            assert (await up.value()) == "ABC"
    assert threads == {False}


@run
async def test_concurrency_jobs_run_at_once(wdaemon):
    t = uniq("barrier")
    w = worker(wdaemon.sock, concurrency=3)
    inside = 0
    all_in = asyncio.Event()

    @w.task(t)
    async def barrier(args, job):
        nonlocal inside
        inside += 1
        if inside == 3:
            all_in.set()
        await all_in.wait()
        return inside

    async with loom.Client(wdaemon.sock) as c, serving(w):
        jobs = [await c.submit(t) for _ in range(3)]
        assert [v["result"] for v in await c.gather(*jobs)] == [3, 3, 3]


@run
async def test_progress_shows_in_the_view(wdaemon):
    t = uniq("progress")
    w = worker(wdaemon.sock)
    reported = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    @w.task(t)
    async def task(args, job):
        await job.progress(1, 3, "loaded")
        reported.set_result(job.id)
        await release.wait()
        return "ok"

    async with loom.Client(wdaemon.sock) as c, serving(w):
        job = await c.submit(t)
        assert await reported == job.id
        view = await job.status()
        assert view["state"] == "running"
        assert view["progress"] == {"done": 1, "total": 3, "message": "loaded"}
        release.set()
        assert await job.value() == "ok"


@run
async def test_a_failing_task_fails_the_job(wdaemon):
    t_raise, t_taskerror = uniq("raise"), uniq("taskerror")
    w = worker(wdaemon.sock)

    @w.task(t_raise)
    async def boom(args, job):
        raise ValueError("bad value")

    @w.task(t_taskerror)
    def refuse(args, job):
        raise loom.TaskError("no such image", code="not_an_image", detail={"w": 1},
                             retry=False)

    async with loom.Client(wdaemon.sock) as c, serving(w):
        job = await c.submit(t_raise)
        with pytest.raises(loom.JobFailed) as ei:
            await job.result()
        assert ei.value.code == "failed"
        assert ei.value.message == "bad value"
        assert ei.value.detail == {"type": "ValueError"}

        # retry=False: the spec's retries do not apply.
        job = await c.submit(t_taskerror, retries=3, retry_delay=0)
        with pytest.raises(loom.JobFailed) as ei:
            await job.result()
        assert ei.value.code == "not_an_image" and ei.value.detail == {"w": 1}
        assert ei.value.view["attempt"] == 1


@run
async def test_retries_run_the_task_again(wdaemon):
    t = uniq("flaky")
    w = worker(wdaemon.sock)

    @w.task(t)
    async def flaky(args, job):
        if job.attempt < 3:
            raise RuntimeError(f"attempt {job.attempt} failed")
        return job.attempt

    async with loom.Client(wdaemon.sock) as c, serving(w):
        job = await c.submit(t, retries=2, retry_delay=0)
        view = await job.result()
        assert view["result"] == 3 and view["attempt"] == 3
        assert view["last_error"]["message"] == "attempt 2 failed"


@run
async def test_cancel_reaches_the_task(wdaemon):
    t = uniq("forever")
    w = worker(wdaemon.sock)
    started = asyncio.get_running_loop().create_future()
    cancelled = asyncio.get_running_loop().create_future()

    @w.task(t)
    async def forever(args, job):
        started.set_result(job.id)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set_result(job.cancelled())
            raise

    async with loom.Client(wdaemon.sock) as c, serving(w):
        job = await c.submit(t)
        assert await started == job.id
        view = await job.cancel("enough")
        assert view["state"] == "cancelled"
        assert await cancelled is True
        with pytest.raises(loom.JobCancelled):
            await job.result()
        assert w.running == 0 or await _until(lambda: w.running == 0)


@run
async def test_job_timeout_reaches_the_task(wdaemon):
    t = uniq("slow")
    w = worker(wdaemon.sock)
    cancelled = asyncio.get_running_loop().create_future()

    @w.task(t)
    async def slow(args, job):
        assert job.timeout == 0.05 and job.deadline is not None
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set_result(True)
            raise

    async with loom.Client(wdaemon.sock) as c, serving(w):
        job = await c.submit(t, timeout=0.05)
        with pytest.raises(loom.JobTimedOut):
            await job.result()
        assert await cancelled


async def _until(cond):
    while not cond():
        await asyncio.sleep(0.001)
    return True


@run
async def test_stop_finishes_running_jobs_and_takes_no_more(wdaemon):
    t = uniq("drain")
    w = worker(wdaemon.sock)
    started = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    @w.task(t)
    async def task(args, job):
        if not started.done():
            started.set_result(job.id)
        await release.wait()
        return "finished"

    async with loom.Client(wdaemon.sock) as c:
        runner = asyncio.ensure_future(w.run())
        await w.ready()
        first = await c.submit(t)
        await started
        w.stop()
        # Once loomd has answered the bye, nothing new comes to this worker.
        await w._said_bye.wait()
        second = await c.submit(t)
        assert not runner.done()
        release.set()
        await runner
        assert (await first.result())["result"] == "finished"
        assert (await second.status())["state"] == "queued"
        await second.cancel()


@run
async def test_stop_grace_bounds_the_wait_and_gives_jobs_back(wdaemon):
    t = uniq("stuck")
    w = worker(wdaemon.sock, stop_grace=0.01)
    started = asyncio.get_running_loop().create_future()

    @w.task(t)
    async def stuck(args, job):
        started.set_result(job.id)
        await asyncio.Event().wait()

    async with loom.Client(wdaemon.sock) as c:
        runner = asyncio.ensure_future(w.run())
        await w.ready()
        job = await c.submit(t, retries=0)
        await started
        w.stop()
        await runner  # returns although the task never ends by itself
        # The lease is 60 s: the job comes back at once, with the connection.
        view = await job.wait(timeout=10)
        assert view["state"] == "failed" and view["error"]["code"] == "worker_lost"


@run
async def test_worker_reconnects_after_loomd_restarts():
    d = Daemon()
    try:
        if not daemon_has(d.sock, "worker.hello"):
            pytest.skip("this loomd has no workers (worker.hello is unknown_op)")
        t = uniq("again")
        w = worker(d.sock, max_backoff=0.2)

        @w.task(t)
        async def again(args, job):
            return "ok"

        async with loom.Client(d.sock) as c, serving(w):
            assert (await (await c.submit(t)).value()) == "ok"
        runner = asyncio.ensure_future(w.run())
        await w.ready()
        hellos = w.hellos
        d.restart()
        while w.hellos == hellos:  # the worker connects again by itself
            await asyncio.sleep(0.01)
        async with loom.Client(d.sock) as c:
            assert (await (await c.submit(t)).value()) == "ok"
        w.stop()
        await runner
    finally:
        assert d.stop() == 0


@run
async def test_heartbeats_keep_the_lease(wdaemon):
    # pylease has a 1 s lease: the worker reads it from stats and renews it
    # every third of a second, so a task of 2.5 s keeps its first attempt.
    w = worker(wdaemon.sock)

    @w.task("pylease")
    async def long(args, job):
        await asyncio.sleep(2.5)
        return job.attempt

    async with loom.Client(wdaemon.sock) as c, serving(w):
        assert w._lease == 1.0
        job = await c.submit("pylease", retries=0)
        view = await job.result()
        assert view["result"] == 1 and view["attempt"] == 1


@run
async def test_a_sync_task_reports_progress_and_sees_its_cancel(wdaemon):
    t = uniq("syncwork")
    w = worker(wdaemon.sock)
    reported = threading.Event()
    outcome = {}

    @w.task(t)
    def work(args, job):  # in a thread: progress is sent from here
        job.progress(2, 4, "half").result(WAIT)
        reported.set()
        deadline = time.monotonic() + WAIT
        while not job.cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        outcome["cancelled"] = job.cancelled()
        return None

    loop = asyncio.get_running_loop()
    async with loom.Client(wdaemon.sock) as c, serving(w):
        job = await c.submit(t)
        await loop.run_in_executor(None, reported.wait, WAIT)
        view = await job.status()
        assert view["progress"] == {"done": 2, "total": 4, "message": "half"}
        assert (await job.cancel())["state"] == "cancelled"
        # The thread sees the flag and ends; the worker reports nothing.
        while "cancelled" not in outcome:
            await asyncio.sleep(0.005)
        assert outcome["cancelled"] is True


@run
async def test_results_and_errors_loomd_refuses_still_end_the_job(wdaemon):
    t = uniq("odd")
    w = worker(wdaemon.sock)

    @w.task(t)
    async def odd(args, job):
        what = args["what"]
        if what == "not-json":
            return {1, 2}
        if what == "nan":
            return float("nan")
        if what == "bad-code":
            raise loom.TaskError("with a code loomd refuses", code="no spaces allowed")
        if what == "long-message":
            raise RuntimeError("é" * 10000)
        raise AssertionError(what)

    async with loom.Client(wdaemon.sock) as c, serving(w):
        for what in ("not-json", "nan", "bad-code", "long-message"):
            job = await c.submit(t, {"what": what}, retries=1, retry_delay=0)
            view = await job.wait()
            assert view["state"] == "failed", (what, view)
            msg = view["error"]["message"]
            if what in ("not-json", "nan"):
                assert "not JSON" in msg and view["attempt"] == 1
            elif what == "bad-code":
                assert msg.startswith("with a code loomd refuses (the task's error was refused")
            else:
                assert msg.startswith("éé") and len(msg.encode()) <= 4096


@run
async def test_a_worker_waits_for_loomd_to_come():
    d = Daemon(CONFIG, start=False)
    try:
        # Without reconnect, no daemon is an error at once.
        w = worker(d.sock, reconnect=False)
        w.add_task("pyearly", lambda args, job: "early")
        with pytest.raises(loom.ConnectionLost):
            await w.run()
        # With it, the worker keeps trying (backoff) until loomd listens.
        w = worker(d.sock, max_backoff=0.1)
        w.add_task("pyearly", lambda args, job: "early")
        runner = asyncio.ensure_future(w.run())
        # Its first attempt fails (nothing listens), then it backs off.
        while w.failed_connects == 0:
            await asyncio.sleep(0.001)
        await asyncio.get_running_loop().run_in_executor(None, d.start)
        if not daemon_has(d.sock, "worker.hello"):
            pytest.skip("this loomd has no workers (worker.hello is unknown_op)")
        await w.ready()
        async with loom.Client(d.sock) as c:
            assert await (await c.submit("pyearly")).value() == "early"
        w.stop()
        await runner
    finally:
        assert d.stop() == 0
