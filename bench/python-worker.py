#!/usr/bin/env python3
"""Jobs per second through a Python worker (the loom package) for a trivial
task: N jobs of an external type are submitted in batches, one Worker with
CONCURRENCY runs them (an async function that returns its args), and the
time from the first submit to the last job done is measured.

    bench/python-worker.py [-s SOCKET] [-n JOBS] [-c CONCURRENCY] [--batch B] [--sync]

Run it against a loomd started for it (journal on or off as you want to
measure); it prints one line: jobs, seconds, jobs/s.
"""
import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "clients", "python"))
from loom import Client, Worker, spec  # noqa: E402


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", "--socket", default="var/loomd.sock")
    ap.add_argument("-n", "--jobs", type=int, default=20000)
    ap.add_argument("-c", "--concurrency", type=int, default=64)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--sync", action="store_true", help="a plain def task (a thread per job)")
    a = ap.parse_args()
    type_name = f"bench-{os.getpid()}"
    w = Worker(a.socket, concurrency=a.concurrency, handle_signals=False)
    done = 0
    finished = asyncio.Event()

    def count() -> None:
        nonlocal done
        done += 1
        if done == a.jobs:
            finished.set()

    if a.sync:
        @w.task(type_name)
        def trivial_sync(args, job):
            return args
        fn = trivial_sync
    else:
        @w.task(type_name)
        async def trivial(args, job):
            return args
        fn = trivial

    async def counted(args, job):
        try:
            return await fn(args, job) if not a.sync else await asyncio.to_thread(fn, args, job)
        finally:
            count()
    w.add_task(type_name, counted)
    runner = asyncio.ensure_future(w.run())
    await w.ready()
    async with Client(a.socket) as c:
        t0 = time.perf_counter()
        for i in range(0, a.jobs, a.batch):
            n = min(a.batch, a.jobs - i)
            await c.submit_many([spec(type_name, {"i": i + k}, ttl=0) for k in range(n)])
        await finished.wait()
        # The last tasks have returned; done once loomd has their answers.
        while (await c.stats())["types"].get(type_name, {}).get("done", 0) < a.jobs:
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - t0
    w.stop()
    await runner
    print(f"python-worker {'sync' if a.sync else 'async'} concurrency={a.concurrency} "
          f"jobs={a.jobs} seconds={elapsed:.2f} jobs_per_s={a.jobs / elapsed:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
