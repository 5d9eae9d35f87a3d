#!/usr/bin/env python3
"""Summarises a clang -ftime-trace JSON: the phases, the headers that cost most to parse, and the
function templates and classes whose instantiation or code generation costs most (by total time)."""
import collections
import json
import sys


def main(path):
    events = json.load(open(path))["traceEvents"]
    totals = {e["name"]: e["dur"] / 1e6 for e in events if e.get("name", "").startswith("Total ")}
    for key in ("Total ExecuteCompiler", "Total Frontend", "Total Source", "Total ParseClass",
                "Total InstantiateClass", "Total InstantiateFunction", "Total PerformPendingInstantiations",
                "Total Backend", "Total CodeGen Function", "Total OptModule", "Total OptFunction"):
        if key in totals:
            print(f"  {key[6:]:32s} {totals[key]:7.2f} s")
    by = collections.defaultdict(collections.Counter)
    for e in events:
        if e.get("ph") != "X" or "args" not in e:
            continue
        detail = e["args"].get("detail", "")
        name = e["name"]
        if name in ("Source", "InstantiateFunction", "InstantiateClass", "OptFunction", "CodeGen Function"):
            # group templates by their name without arguments
            key = detail
            if name != "Source":
                key = detail.split("<")[0]
            by[name][key] += e["dur"] / 1e6
    for name, title in (("Source", "headers (inclusive parse time)"), ("InstantiateFunction", "function instantiations"),
                        ("OptFunction", "optimised functions")):
        print(f"  top {title}:")
        for key, secs in by[name].most_common(8):
            print(f"    {secs:6.2f} s  {key[:110]}")


if __name__ == "__main__":
    main(sys.argv[1])
