"""Tokens and TLS against a real loomd.

TCP (and TLS) listeners are passed by socket activation (conftest.Daemon);
the tokens' secrets are made here and loomd is given their SHA-256.
"""
import asyncio
import hashlib
import os
import shutil
import ssl
import tempfile

import pytest

import loom
from certs import Certs
from conftest import WAIT, Daemon, run

SECRETS = {name: os.urandom(16).hex() for name in ("submitter", "reader", "worker", "other")}
ROLES = {"submitter": "submit", "reader": "read", "worker": "work", "other": "submit"}


def token_sections(**cert_cns):
    text = ""
    for name, secret in SECRETS.items():
        text += "[token.%s]\nroles = %s\nsecret_sha256 = %s\n\n" % (
            name, ROLES[name], hashlib.sha256(secret.encode()).hexdigest())
    for name, (roles, cn) in cert_cns.items():
        text += "[token.%s]\nroles = %s\ncert_cn = %s\n\n" % (name, roles, cn)
    return text


def tls_section(certs, client_ca=False):
    text = "[tls]\ncert_file = %s\nkey_file = %s\n" % (certs.server, certs.server_key)
    if client_ca:
        text += "client_ca_file = %s\n" % certs.ca
    return text


TYPES = "[type.pyauth]\nlease = 60s\n\n"


@pytest.fixture(scope="module")
def certs():
    dir = tempfile.mkdtemp(prefix="loompy-certs.")
    try:
        yield Certs(dir)
    finally:
        shutil.rmtree(dir, ignore_errors=True)


def stopped(d):
    log = d.logtext()
    rc = d.stop()
    assert rc == 0, f"loomd exited {rc}:\n{log}"


@pytest.fixture(scope="module")
def tcp():
    """loomd with tokens on TCP (auth_tcp = token, the default)."""
    d = Daemon(TYPES + token_sections(), listeners=("tcp",))
    yield d
    stopped(d)


def context(certs, client=None):
    ctx = ssl.create_default_context(cafile=certs.ca)
    if client is not None:
        ctx.load_cert_chain(*client)
    return ctx


# -- TCP and tokens -----------------------------------------------------


@run
async def test_submit_token_submits_and_gets_results(tcp):
    async with loom.Client(tcp.tcp, token=SECRETS["submitter"]) as c:
        assert c.auth["name"] == "submitter"
        assert c.auth["roles"] == ["submit"]
        job = await c.submit("echo", {"value": [1, "two"]})
        view = await job.result(timeout=WAIT)
        assert view["state"] == "done"
        assert view["result"] == [1, "two"]
        assert view["owner"] == "submitter"
        assert (await c.run("echo", {"value": 3}))["result"] == 3


@run
async def test_wrong_token_is_unauthorized(tcp):
    c = loom.Client(tcp.tcp, token="not-" + SECRETS["submitter"])
    with pytest.raises(loom.Unauthorized) as e:
        await c.connect()
    assert e.value.code == "unauthorized"
    assert e.value.op == "auth"
    assert "no token has this secret" in e.value.message
    assert not c.connected
    # loomd logs the failure (before it answers), not the secret.
    assert "auth with a wrong token (1 of" in tcp.logtext()
    assert "not-" + SECRETS["submitter"] not in tcp.logtext()


@run
async def test_no_token_may_only_ping(tcp):
    async with loom.Client(tcp.tcp) as c:
        assert c.auth is None
        assert "version" in await c.ping()
        with pytest.raises(loom.Unauthorized):
            await c.submit("echo", {"value": 1})
        with pytest.raises(loom.Unauthorized):
            await c.stats()
        # The connection stays usable, and may authenticate now.
        await c.request("auth", token=SECRETS["submitter"])
        assert (await c.run("echo", {"value": 2}))["result"] == 2


@run
async def test_read_token_is_forbidden_to_submit(tcp):
    async with loom.Client(tcp.tcp, token=SECRETS["reader"]) as c:
        with pytest.raises(loom.Forbidden) as e:
            await c.submit("echo", {"value": 1})
        assert e.value.code == "forbidden"
        assert "submit" in e.value.message
        assert "jobs" in await c.stats()  # what read may do


@run
async def test_submitter_sees_only_its_own_jobs(tcp):
    async with loom.Client(tcp.tcp, token=SECRETS["submitter"]) as a, \
            loom.Client(tcp.tcp, token=SECRETS["other"]) as b:
        job = await a.submit("echo", {"value": 1})
        await job.result(timeout=WAIT)
        with pytest.raises(loom.NotFound):
            await b.status(job.id)


@run
async def test_worker_with_work_token_runs_jobs(tcp):
    seen = []
    w = loom.Worker(tcp.tcp, token=SECRETS["worker"], concurrency=2,
                    handle_signals=False, reconnect=False)

    @w.task("pyauth")
    async def pyauth(args, job):
        seen.append(job.id)
        return {"twice": args["n"] * 2}

    runner = asyncio.ensure_future(w.run())
    try:
        await asyncio.wait_for(w.ready(), WAIT)
        async with loom.Client(tcp.tcp, token=SECRETS["submitter"]) as c:
            jobs = [await c.submit("pyauth", {"n": n}) for n in range(3)]
            views = await c.gather(*jobs)
        assert [v["result"]["twice"] for v in views] == [0, 2, 4]
        assert sorted(seen) == sorted(j.id for j in jobs)
    finally:
        w.stop()
        await asyncio.wait_for(runner, WAIT)


@pytest.mark.parametrize("token, error", [
    (SECRETS["submitter"], loom.Forbidden),
    ("wrong", loom.Unauthorized),
    (None, loom.Unauthorized),
])
@run
async def test_worker_refused_fails_fast(tcp, token, error):
    # reconnect=True: a refusal is not a lost connection, and no backoff
    # would change it, so run() raises at once.
    w = loom.Worker(tcp.tcp, token=token, handle_signals=False, reconnect=True)
    w.add_task("pyauth", lambda args, job: None)
    with pytest.raises(error) as e:
        await asyncio.wait_for(w.run(), WAIT)
    assert w.failed_connects == 0 and w.hellos == 0
    if error is loom.Forbidden:
        assert e.value.op == "worker.hello"
        assert "work" in e.value.message


# -- TLS ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(certs):
    """loomd with a TLS listener (no client certificates asked) and tokens."""
    d = Daemon(token_sections() + tls_section(certs), listeners=("tls",))
    yield d
    stopped(d)


@run
async def test_tls_with_token(tls, certs):
    async with loom.Client(tls.tls, tls=context(certs), token=SECRETS["submitter"]) as c:
        assert c.auth["name"] == "submitter"
        view = await c.run("echo", {"value": "over tls"})
        assert view["result"] == "over tls"
        with pytest.raises(loom.Forbidden):
            await c.pause("default")


@run
async def test_tls_untrusted_server_is_refused(tls):
    # The system's CAs do not know the test CA: the handshake fails.
    with pytest.raises(loom.ConnectionLost) as e:
        await loom.Client(tls.tls, tls=True, token=SECRETS["submitter"]).connect()
    assert isinstance(e.value.__cause__, ssl.SSLCertVerificationError)


@pytest.fixture(scope="module")
def mtls(certs):
    """loomd that asks TLS clients for a certificate of the test CA; CN
    py-client is the token "certy", py-worker is "certworker"."""
    d = Daemon(TYPES + token_sections(certy=("submit read", "py-client"),
                                      certworker=("work", "py-worker")) +
               tls_section(certs, client_ca=True), listeners=("tls",))
    yield d
    stopped(d)


@run
async def test_client_certificate_names_token(mtls, certs):
    ctx = context(certs, certs.client("py-client"))
    async with loom.Client(mtls.tls, tls=ctx) as c:
        job = await c.submit("echo", {"value": "by cert"})
        view = await job.result(timeout=WAIT)
        assert view["owner"] == "certy"
        assert "jobs" in await c.stats()  # read, from the token's roles


@run
async def test_client_certificate_without_token_must_auth(mtls, certs):
    ctx = context(certs, certs.client("nobody"))
    async with loom.Client(mtls.tls, tls=ctx) as c:
        with pytest.raises(loom.Unauthorized):
            await c.submit("echo", {"value": 1})
    async with loom.Client(mtls.tls, tls=ctx, token=SECRETS["submitter"]) as c:
        assert (await c.run("echo", {"value": 1}))["result"] == 1



@run
async def test_no_client_certificate_is_refused(mtls, certs):
    c = loom.Client(mtls.tls, tls=context(certs), token=SECRETS["submitter"])
    with pytest.raises(loom.ConnectionLost) as e:
        await c.connect()
    assert "certificate" in str(e.value).lower()
    assert isinstance(e.value.__cause__, ssl.SSLError)


@run
async def test_worker_by_client_certificate(mtls, certs):
    w = loom.Worker(mtls.tls, tls=context(certs, certs.client("py-worker")),
                    handle_signals=False, reconnect=False)

    @w.task("pyauth")
    async def pyauth(args, job):
        return {"by": "certworker", "n": args["n"]}

    runner = asyncio.ensure_future(w.run())
    try:
        await asyncio.wait_for(w.ready(), WAIT)
        ctx = context(certs, certs.client("py-client"))
        async with loom.Client(mtls.tls, tls=ctx) as c:
            view = await c.run("pyauth", {"n": 7})
        assert view["result"] == {"by": "certworker", "n": 7}
        assert view["owner"] == "certy"
    finally:
        w.stop()
        await asyncio.wait_for(runner, WAIT)


@pytest.mark.parametrize("which", ["untrusted server", "no client certificate"])
@run
async def test_worker_tls_refusal_fails_fast(mtls, certs, which):
    # A certificate refused on either side is not a lost connection: with
    # reconnect=True too, run() raises at once instead of trying forever.
    tls = True if which == "untrusted server" else context(certs)
    w = loom.Worker(mtls.tls, tls=tls, token=SECRETS["worker"],
                    handle_signals=False, reconnect=True)
    w.add_task("pyauth", lambda args, job: None)
    with pytest.raises(loom.ConnectionLost) as e:
        await asyncio.wait_for(w.run(), WAIT)
    assert "certificate" in str(e.value).lower()
    assert w.failed_connects == 0 and w.hellos == 0
