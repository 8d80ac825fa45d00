#!/usr/bin/env python3
"""A loomd worker in Python: three job types run by this program.

    worker.py [-s SOCKET] [-c CONCURRENCY] [--name NAME]

- `wordcount` (async): `{"text": "..."}` -> `{"words": n, "top": [[word, n], ...]}`,
  with progress reports as it goes.
- `sha256` (a plain function, run in a thread): `{"data": "..."}` -> `{"hex": "..."}`.
- `pause` (async): `{"seconds": s}` -> `{"paused": s}`; cancellable.

Submit jobs as for any type:

    loomctl submit wordcount '{"text": "the cat and the hat"}' --wait

It prints "ready" once loomd has taken its hello, and stops cleanly on
SIGTERM or SIGINT: running jobs finish, then it exits 0.
"""
import argparse
import asyncio
import collections
import hashlib
import logging
import sys

from loom import TaskError, Worker


def make_worker(address: str, concurrency: int = 8, name: str = "example") -> Worker:
    w = Worker(address, concurrency=concurrency, name=name)

    @w.task("wordcount")
    async def wordcount(args, job):
        text = args.get("text")
        if not isinstance(text, str):
            raise TaskError("args.text must be a string", code="bad_args", retry=False)
        lines = text.splitlines() or [""]
        counts = collections.Counter()
        for i, line in enumerate(lines, 1):
            counts.update(line.lower().split())
            if i % 1000 == 0 or i == len(lines):
                await job.progress(i, len(lines), "counting")
        return {"words": sum(counts.values()), "top": counts.most_common(3)}

    @w.task("sha256")
    def sha256(args, job):  # CPU work: runs in a thread, off the event loop
        return {"hex": hashlib.sha256(str(args.get("data", "")).encode()).hexdigest()}

    @w.task("pause")
    async def pause(args, job):
        seconds = float(args.get("seconds", 1))
        await asyncio.sleep(seconds)  # a cancel in loomd interrupts it here
        return {"paused": seconds}

    return w


async def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="an example loomd worker")
    ap.add_argument("-s", "--socket", default="/run/loomd/loomd.sock")
    ap.add_argument("-c", "--concurrency", type=int, default=8)
    ap.add_argument("--name", default="example")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    w = make_worker(a.socket, a.concurrency, a.name)
    running = asyncio.ensure_future(w.run())
    ready = asyncio.ensure_future(w.ready())
    await asyncio.wait([running, ready], return_when=asyncio.FIRST_COMPLETED)
    if ready.done():
        print("ready", flush=True)
    else:
        ready.cancel()
    await running
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
