#!/usr/bin/env python3
"""The daemon's layers, checked: src/daemon/LAYER/FILE may include headers of
its own layer and of the layers below it, never of one above, and no files
include each other round in a cycle.  doc/architecture.md explains the layers.

    tests/layers.py [SRCDIR]     check SRCDIR/src/daemon (default: this tree)
    tests/layers.py --self-test  show that an upward include and a cycle fail

Includes are the quoted ones, written from src/daemon ("core/job.h"); a module
is a file without its .c/.h (and X_private.h is X's own), so a .c including its
own headers is no edge.
"""
import os
import re
import sys
import tempfile

# Lowest first.  jobs/ is the job types: above core and io, below the network.
LAYERS = ["runtime", "core", "io", "jobs", "net", "service"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path):
    """core/job.c, core/job.h and core/job_private.h are all core/job."""
    mod = path[:-2]
    return mod[:-len("_private")] if mod.endswith("_private") else mod


def modules(daemon):
    """{module: set of modules it includes}, and the problems seen on the way."""
    graph, problems = {}, []
    for layer in os.listdir(daemon):
        path = os.path.join(daemon, layer)
        if not os.path.isdir(path):
            continue
        if layer not in LAYERS:
            problems.append(f"{layer}/: not a layer (add it to LAYERS in order)")
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
            mod = module_of(f"{layer}/{name}")
            edges = graph.setdefault(mod, set())
            with open(os.path.join(path, name), errors="replace") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                if inc == "autoconf.h":
                    continue
                top = inc.split("/")[0]
                if top not in LAYERS:
                    problems.append(f"{mod}: includes \"{inc}\", which names no layer")
                    continue
                if not os.path.exists(os.path.join(daemon, inc)):
                    problems.append(f"{mod}: includes \"{inc}\", which does not exist")
                    continue
                if LAYERS.index(top) > LAYERS.index(layer):
                    problems.append(f"{layer}/{name}: includes \"{inc}\": {layer} is "
                                    f"below {top}")
                target = module_of(inc)
                if target != mod:
                    edges.add(target)
    for f in os.listdir(daemon):
        if f.endswith((".c", ".h")):
            problems.append(f"{f}: outside every layer")
    return graph, problems


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def check(top):
    daemon = os.path.join(top, "src", "daemon")
    graph, problems = modules(daemon)
    for comp in cycles(graph):
        problems.append("include cycle: " + " -> ".join(comp))
    return problems


def self_test():
    """The check must catch what it is for: an upward include, a cycle."""
    cases = {
        "upward": {"runtime/a.c": '#include "core/b.h"\n', "core/b.h": ""},
        "cycle": {"core/a.h": '#include "core/b.h"\n', "core/b.h": '#include "core/a.h"\n'},
        "clean": {"runtime/a.h": "", "core/b.c": '#include "runtime/a.h"\n#include "core/b.h"\n',
                  "core/b.h": '#include "runtime/a.h"\n'},
    }
    ok = True
    for name, files in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            for rel, text in files.items():
                p = os.path.join(tmp, "src", "daemon", rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(text)
            found = check(tmp)
            if (name == "clean") == bool(found):
                print(f"self-test {name}: wrong verdict: {found}")
                ok = False
    return ok


def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(0 if self_test() else 1)
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(top) if self_test() else ["the check's self-test failed"]
    for p in problems:
        print(p)
    print(f"layers: {len(problems)} problem(s)")
    # The suite counts cases from lines like cmocka's.
    print("[  PASSED  ] 1 test(s)." if not problems else "[  FAILED  ] 1 test(s).")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
