"""The Client against a real loomd (see conftest.py)."""
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import tempfile

import pytest

import loom
from loom._conn import parse_address
from conftest import run


def uniq(prefix, _n=[0]):
    _n[0] += 1
    return f"{prefix}{os.getpid()}-{_n[0]}"


def test_parse_address():
    assert parse_address("/run/loomd/loomd.sock") == ("unix", "/run/loomd/loomd.sock")
    assert parse_address("./var/loomd.sock") == ("unix", "./var/loomd.sock")
    assert parse_address("unix:loomd.sock") == ("unix", "loomd.sock")
    assert parse_address("127.0.0.1:7433") == ("tcp", ("127.0.0.1", 7433))
    assert parse_address("localhost") == ("tcp", ("localhost", 7433))
    assert parse_address("[::1]:9000") == ("tcp", ("::1", 9000))
    for bad in ("host:", "host:x", "::1", "[::1", "host:70000"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_spec_drops_unset_fields_and_takes_job_handles():
    job = loom.Job(None, {"id": 7, "state": "queued"})
    s = loom.spec("sleep", {"seconds": 1}, queue="q", priority=0, after=[job, 8],
                  limits=("a",), shield=False)
    assert s == {"type": "sleep", "args": {"seconds": 1}, "queue": "q", "priority": 0,
                 "after": [7, 8], "limits": ["a"], "shield": False}


@run
async def test_ping_and_stats(daemon):
    async with loom.Client(daemon.sock) as c:
        p = await c.ping()
        assert "version" in p and "uptime" in p
        s = await c.stats()
        assert "jobs" in s and "queues" in s


@run
async def test_submit_and_result(daemon):
    async with loom.Client(daemon.sock) as c:
        job = await c.submit("echo", {"value": {"a": [1, 2.5, "x"]}}, name="e")
        assert isinstance(job.id, int)
        view = await job.result()
        assert view["state"] == "done"
        assert view["result"] == {"a": [1, 2.5, "x"]}
        assert view["name"] == "e"
        assert await job.value() == {"a": [1, 2.5, "x"]}
        assert (await job)["result"] == view["result"]  # await job: its result()
        assert (await job.status())["state"] == "done"
        assert job.state == "done"


@run
async def test_submit_every_spec_field(daemon):
    q = uniq("all")
    async with loom.Client(daemon.sock) as c:
        first = await c.submit("echo", {"value": 1}, queue=q)
        await first.result()
        job = await c.submit("sleep", {"seconds": 0, "result": "r"}, name="n", queue=q,
                             priority=-3, delay=0, timeout=30, retries=2, retry_delay=0.5,
                             after=[first], lock="L", key=uniq("k"), ttl=60,
                             on_interrupt="fail", shield=False)
        view = await job.result()
        assert view["result"] == "r"
        assert view["priority"] == -3 and view["queue"] == q


@run
async def test_key_returns_the_same_job(daemon):
    key = uniq("key")
    async with loom.Client(daemon.sock) as c:
        a = await c.submit("echo", {"value": 1}, key=key)
        b = await c.submit("echo", {"value": 2}, key=key)
        assert a.id == b.id


@run
async def test_failed_job_raises_job_failed(daemon):
    async with loom.Client(daemon.sock) as c:
        job = await c.submit("sleep", {"seconds": 0, "error": "disk on fire"})
        with pytest.raises(loom.JobFailed) as ei:
            await job.result()
        e = ei.value
        assert e.code == "failed" and e.message == "disk on fire"
        assert e.job_id == job.id and e.view["state"] == "failed"
        # wait() gives the view whatever the state.
        assert (await job.wait())["state"] == "failed"


@run
async def test_timed_out_job_raises_job_timed_out(daemon):
    async with loom.Client(daemon.sock) as c:
        job = await c.submit("sleep", {"seconds": 3600}, timeout=0.01)
        with pytest.raises(loom.JobTimedOut) as ei:
            await job.result()
        assert ei.value.state == "timed_out"
        assert isinstance(ei.value, TimeoutError)


@run
async def test_cancel_ends_the_job_and_result_raises_job_cancelled(daemon):
    async with loom.Client(daemon.sock) as c:
        job = await c.submit("sleep", {"seconds": 3600})
        waiting = asyncio.ensure_future(job.result())
        view = await job.cancel("not needed")
        assert view["state"] == "cancelled"
        with pytest.raises(loom.JobCancelled):
            await waiting
        with pytest.raises(loom.InvalidState) as ei:
            await job.cancel()
        assert ei.value.code == "invalid_state"


@run
async def test_request_errors_carry_code_and_path(daemon):
    async with loom.Client(daemon.sock) as c:
        with pytest.raises(loom.BadRequest) as ei:
            await c.submit("sleep", {"seconds": -1})
        assert ei.value.code == "bad_request"
        assert ei.value.path == "job.args.seconds"
        assert ei.value.op == "submit"
        with pytest.raises(loom.UnknownType) as ei2:
            await c.submit("no-such-type")
        assert ei2.value.path == "job.type"
        with pytest.raises(loom.NotFound):
            await c.status(10 ** 12)
        with pytest.raises(loom.UnknownOp):
            await c.request("no.such.op")
        # The connection goes on after errors.
        assert "version" in await c.ping()


@run
async def test_result_without_wait_and_wait_timeout(daemon):
    q = uniq("paused")
    async with loom.Client(daemon.sock) as c:
        await c.pause(q)
        job = await c.submit("echo", {"value": 1}, queue=q)
        with pytest.raises(loom.InvalidState):
            await c.result(job, wait=False)
        with pytest.raises(loom.WaitTimeout):
            await job.result(timeout=0.01)
        info = await c.resume(q)
        assert info["name"] == q and info["paused"] is False
        assert (await job.result())["result"] == 1


@run
async def test_gather_returns_views_in_order(daemon):
    async with loom.Client(daemon.sock) as c:
        slow = await c.submit("sleep", {"seconds": 0.05, "result": "slow"})
        fast = await c.submit("echo", {"value": "fast"})
        views = await c.gather(slow, fast)
        assert [v["result"] for v in views] == ["slow", "fast"]
        bad = await c.submit("sleep", {"seconds": 0, "error": "no"})
        with pytest.raises(loom.JobFailed):
            await c.gather(fast, bad)
        mixed = await c.gather(fast, bad, return_exceptions=True)
        assert mixed[0]["result"] == "fast"
        assert isinstance(mixed[1], loom.JobFailed)


@run
async def test_as_completed_yields_in_completion_order(daemon):
    ev = uniq("ev")
    async with loom.Client(daemon.sock) as c:
        held = await c.submit("wait_event", {"name": ev})
        quick = await c.submit("echo", {"value": 1})
        order = []
        async for view in c.as_completed(held, quick):
            order.append(view["id"])
            if len(order) == 1:
                await c.event_set(ev)
        assert order == [quick.id, held.id]


@run
async def test_many_requests_share_one_connection(daemon):
    ev = uniq("gate")
    async with loom.Client(daemon.sock) as c:
        held = await c.submit("wait_event", {"name": ev})
        waiting = asyncio.ensure_future(held.result())
        # Answers come back out of order: pings answer while the wait waits.
        views = await asyncio.gather(*(c.submit("echo", {"value": i}) for i in range(200)))
        results = await c.gather(*views)
        assert [v["result"] for v in results] == list(range(200))
        assert not waiting.done()
        await c.event_set(ev)
        assert (await waiting)["result"]["name"] == ev


@run
async def test_run_waits_in_one_request_and_streams_children(daemon):
    async with loom.Client(daemon.sock) as c:
        children = []
        view = await c.run("gather", {"jobs": [
            loom.spec("sleep", {"seconds": 0.05, "result": "a"}),
            loom.spec("echo", {"value": "b"})]}, on_child=children.append)
        assert view["result"]["results"] == ["a", "b"]
        assert sorted(ev["index"] for ev in children) == [0, 1]
        assert children[0]["index"] == 1  # the echo finished first
        with pytest.raises(loom.JobFailed):
            await c.run("sleep", {"seconds": 0, "error": "x"})


@run
async def test_submit_many_is_all_or_nothing(daemon):
    async with loom.Client(daemon.sock) as c:
        jobs = await c.submit_many([loom.spec("echo", {"value": i}) for i in range(3)])
        assert [v["result"] for v in await c.gather(*jobs)] == [0, 1, 2]
        with pytest.raises(loom.BadRequest) as ei:
            await c.submit_many([loom.spec("echo"), loom.spec("sleep", {"seconds": "x"})])
        assert ei.value.path == "jobs[1].args.seconds"


@run
async def test_watch_a_queue(daemon):
    q = uniq("watched")
    async with loom.Client(daemon.sock) as c:
        async with c.watch(queue=q) as events:
            other = await c.submit("echo", {"value": 0})
            job = await c.submit("sleep", {"seconds": 0, "result": 5}, queue=q)
            seen = []
            async for ev in events:
                seen.append(ev)
                if ev["job"]["state"] == "done":
                    break
        assert all(e["event"] == "job" and e["job"]["id"] == job.id for e in seen)
        assert other.id != job.id
        assert seen[-1]["job"]["result"] == 5


@run
async def test_watch_one_job_ends_by_itself(daemon):
    async with loom.Client(daemon.sock) as c:
        job = await c.submit("echo", {"value": "w"})
        await job.result()
        # A finished job's final view is pushed at once, then the loop ends.
        events = [ev async for ev in job.watch()]
        assert events[-1]["job"]["state"] == "done"
        assert events[-1]["job"]["result"] == "w"


@run
async def test_list_retry_and_events(daemon):
    q = uniq("lst")
    async with loom.Client(daemon.sock) as c:
        jobs = [await c.submit("echo", {"value": i}, queue=q) for i in range(5)]
        await c.gather(*jobs)
        page = await c.list(queue=q, limit=2)
        assert [v["id"] for v in page["jobs"]] == [jobs[4].id, jobs[3].id]
        assert page["next"] is not None
        every = [v["id"] async for v in c.list_all(queue=q, page=2)]
        assert every == [j.id for j in reversed(jobs)]

        bad = await c.submit("sleep", {"seconds": 0, "error": "once"})
        await bad.wait()
        again = await c.retry(bad)
        assert again["id"] == bad.id
        view = await bad.wait()
        assert view["attempt"] == 2

        name = uniq("flag")
        assert (await c.event_get(name))["set"] is False
        assert (await c.event_set(name))["set"] is True
        assert (await c.event_clear(name))["set"] is False


@run
async def test_connection_loss_fails_pending_requests():
    d = tempfile.mkdtemp(prefix="loompy.")
    path = os.path.join(d, "fake.sock")
    got = asyncio.get_running_loop().create_future()

    async def serve(reader, writer):
        got.set_result(json.loads(await reader.readline()))
        writer.close()

    server = await asyncio.start_unix_server(serve, path)
    try:
        async with loom.Client(path) as c:
            with pytest.raises(loom.ConnectionLost):
                await c.status(1)
            assert (await got)["op"] == "status"
            with pytest.raises(loom.ConnectionLost):
                await c.ping()
    finally:
        server.close()
        shutil.rmtree(d, ignore_errors=True)


@run
async def test_token_is_sent_with_auth_first():
    d = tempfile.mkdtemp(prefix="loompy.")
    path = os.path.join(d, "fake.sock")
    lines = []

    async def serve(reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            msg = json.loads(line)
            lines.append(msg)
            if msg["op"] == "auth" and msg["token"] != "s3cret":
                reply = {"id": msg["id"], "ok": False,
                         "error": {"code": "unauthorized", "message": "bad token"}}
            elif msg["op"] == "auth":
                reply = {"id": msg["id"], "ok": True, "auth": {"name": "ci", "roles": ["read"]}}
            else:
                reply = {"id": msg["id"], "ok": True, "version": "fake", "uptime": 0}
            writer.write(json.dumps(reply).encode() + b"\n")

    server = await asyncio.start_unix_server(serve, path)
    try:
        async with loom.Client(path, token="s3cret") as c:
            assert c.auth == {"name": "ci", "roles": ["read"]}
            assert (await c.ping())["version"] == "fake"
        assert [m["op"] for m in lines] == ["auth", "ping"]
        with pytest.raises(loom.Unauthorized):
            async with loom.Client(path, token="wrong"):
                pass
    finally:
        server.close()
        shutil.rmtree(d, ignore_errors=True)


@run
async def test_connect_refused_is_connection_lost():
    with pytest.raises(loom.ConnectionLost):
        async with loom.Client("/nonexistent/loomd.sock"):
            pass
    with pytest.raises(ValueError):  # TLS is for TCP
        async with loom.Client("/nonexistent/loomd.sock", tls=True):
            pass


def _self_signed(d):
    """A certificate for localhost and its key, made with openssl(1)."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no openssl(1) to make a certificate")
    return cert, key


@run
async def test_tls_over_tcp_verifies_the_server():
    d = tempfile.mkdtemp(prefix="loompy.")
    try:
        cert, key = _self_signed(d)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)

        async def serve(reader, writer):
            while True:
                line = await reader.readline()
                if not line:
                    break
                msg = json.loads(line)
                writer.write(json.dumps({"id": msg["id"], "ok": True, "version": "tls",
                                         "uptime": 0}).encode() + b"\n")
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            ctx = ssl.create_default_context(cafile=cert)
            async with loom.Client(f"127.0.0.1:{port}", tls=ctx,
                                   server_hostname="localhost") as c:
                assert (await c.ping())["version"] == "tls"
            # The system's CAs do not know this certificate.
            with pytest.raises(loom.ConnectionLost) as ei:
                async with loom.Client(f"127.0.0.1:{port}", tls=True,
                                       server_hostname="localhost"):
                    pass
            assert "certificate" in str(ei.value).lower()
        finally:
            server.close()
            await server.wait_closed()
    finally:
        shutil.rmtree(d, ignore_errors=True)
