#!/usr/bin/env python3
"""A web crawler on loomd: the asyncio tutorials' crawler, with the fetching
done by the daemon.

The classic version keeps a set of seen URLs, fetches each new one with
aiohttp under an asyncio.Semaphore, parses its links and goes on to the next
level with asyncio.gather.  Here each level is one `gather` job whose
children are `http` jobs: loomd runs the requests (concurrently, without
blocking), bounds them with a named limit (the semaphore, shared by every
crawler using it) and keeps the results; this program only parses HTML.

    crawler.py [-s SOCKET] [--limit NAME] [--depth N] [--max-pages N] URL

--limit names a [limit.NAME] section of loomd.conf, e.g.

    [limit.crawl]
    concurrency = 4

Only URLs on the start URL's host and port are followed.
"""
import argparse
import asyncio
import sys
from html.parser import HTMLParser
from typing import List, Optional, Set
from urllib.parse import urldefrag, urljoin, urlsplit

from loom import Client, spec


class Links(HTMLParser):
    """The href of every <a> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def links(base: str, html: str) -> List[str]:
    parser = Links()
    parser.feed(html)
    out = []
    for href in parser.hrefs:
        url = urldefrag(urljoin(base, href)).url
        if urlsplit(url).scheme in ("http", "https"):
            out.append(url)
    return out


async def crawl(client: Client, root: str, *, limit: Optional[str] = None,
                depth: int = 3, max_pages: int = 100, queue: Optional[str] = None,
                out=sys.stdout) -> dict:
    """Crawl from root; returns {url: status or error code} of each page fetched."""
    site = urlsplit(root).netloc
    seen: Set[str] = {root}
    found = {}
    level = [root]
    for _ in range(depth + 1):
        if not level:
            break
        children = [spec("http", {"url": u, "timeout": 10},
                         limits=[limit] if limit else None) for u in level]
        view = await client.run("gather", {"jobs": children, "return_exceptions": True},
                                queue=queue)
        results, errors = view["result"]["results"], view["result"]["errors"]
        following = []
        for url, res, err in zip(level, results, errors):
            if err is not None:
                found[url] = err["code"]
                print(f"{url}: {err['code']}: {err['message']}", file=out)
                continue
            found[url] = res["status"]
            print(f"{url}: {res['status']} {res['bytes']} bytes", file=out)
            if not res["headers"].get("content-type", "").startswith("text/html"):
                continue
            for link in links(url, res["body"] or ""):
                if urlsplit(link).netloc == site and link not in seen \
                        and len(seen) < max_pages:
                    seen.add(link)
                    following.append(link)
        level = following
    return found


async def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-s", "--socket", default="/run/loomd/loomd.sock",
                    help="loomd's address: a socket path or HOST:PORT")
    ap.add_argument("--limit", help="a [limit.NAME] of loomd.conf bounding the fetches")
    ap.add_argument("--queue", help="the queue of the crawl's jobs")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--max-pages", type=int, default=100)
    ap.add_argument("url")
    a = ap.parse_args(argv)
    async with Client(a.socket) as c:
        found = await crawl(c, a.url, limit=a.limit, depth=a.depth,
                            max_pages=a.max_pages, queue=a.queue)
    print(f"{len(found)} pages, {sum(1 for s in found.values() if s == 200)} ok")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
