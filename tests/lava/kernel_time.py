#!/usr/bin/env python3
"""Where the demo's database time went on the machine: the kernel facts the
BPF programs attached to each execution in a capture (`qprof collect --bpf`),
summed by request route and by statement. Top-level executions only, so
nested statements are not counted twice.

    kernel_time.py CAPTURE_DIR [--qprof PATH] [--top N]

For each group: elapsed time (planning and execution), time on the CPU,
off the CPU waiting for I/O (uninterruptible sleep) and off the CPU
otherwise (locks, latches, waiting for a CPU), executions, pages read into
the page cache (reads that went to storage) and bytes read or written by
block requests. Executions without kernel facts (BPF off, or begun
before the collector attached) are counted apart.
"""
import argparse
import collections
import json
import re
import subprocess
import sys

FIELDS = ("oncpu_ns", "offcpu_io_wait_ns", "offcpu_other_ns",
          "page_cache_misses", "block_bytes")


class Group:
    def __init__(self):
        self.calls = 0
        self.elapsed_ns = 0
        self.without_facts = 0
        self.io = collections.Counter()

    def add(self, sample):
        self.calls += 1
        self.elapsed_ns += (int(sample.get("plan_time_ns", 0)) +
                            int(sample.get("exec_time_ns", 0)))
        facts = sample.get("io")
        if facts is None:
            self.without_facts += 1
            return
        for field in FIELDS:
            self.io[field] += int(facts.get(field, 0))


def read_capture(qprof, capture):
    """Top-level samples, query texts by queryid, and whether samples carry
    kernel facts, from `qprof dump`."""
    dump = subprocess.run([qprof, "dump", capture], check=True,
                          stdout=subprocess.PIPE, text=True)
    samples, texts, io_stats = [], {}, False
    for line in dump.stdout.splitlines():
        record = json.loads(line)
        kind = record.get("kind")
        if kind == "sample" and record.get("toplevel"):
            samples.append(record)
        elif kind == "query_text":
            texts[str(record["queryid"])] = record["text"]
        elif kind == "header":
            io_stats = io_stats or bool(
                record.get("collector", {}).get("io_stats"))
    return samples, texts, io_stats


def digest(text, width):
    """A statement in one line, its select list elided."""
    text = re.sub(r"\s+", " ", text or "?")
    text = re.sub(r"^SELECT .+? FROM ", "SELECT … FROM ", text)
    return text[:width]


def print_table(title, label, groups, top):
    print(f"\n== {title} ==")
    print(f"{'elapsed ms':>11} {'on CPU ms':>10} {'I/O wait ms':>11} "
          f"{'other wait ms':>13} {'calls':>7} {'pages read':>10} "
          f"{'block MB':>8}  {label}")
    ranked = sorted(groups.items(), key=lambda kv: kv[1].elapsed_ns,
                    reverse=True)[:top]
    for name, g in ranked:
        print(f"{g.elapsed_ns / 1e6:11.1f} {g.io['oncpu_ns'] / 1e6:10.1f} "
              f"{g.io['offcpu_io_wait_ns'] / 1e6:11.1f} "
              f"{g.io['offcpu_other_ns'] / 1e6:13.1f} {g.calls:7d} "
              f"{g.io['page_cache_misses']:10d} "
              f"{g.io['block_bytes'] / 1e6:8.1f}  {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    parser.add_argument("--qprof", default="qprof")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    samples, texts, io_stats = read_capture(args.qprof, args.capture)
    if not io_stats:
        print("The capture has no kernel facts: the collector ran without BPF "
              "(its log says why).")
        return 0
    by_route = collections.defaultdict(Group)
    by_statement = collections.defaultdict(Group)
    everything = Group()
    for s in samples:
        everything.add(s)
        if s.get("io") is None:
            continue
        route = s.get("tags", {}).get("route") or f"({s.get('application_name') or 'no route'})"
        by_route[route].add(s)
        by_statement[digest(texts.get(str(s.get("queryid"))), 90)].add(s)
    with_facts = everything.calls - everything.without_facts
    print(f"{everything.calls} top-level executions, {with_facts} with kernel "
          f"facts (the others began before the collector attached its BPF "
          f"programs, such as the ring's backlog it reads first); the "
          f"tables count "
          f"those {with_facts} only. On-CPU time runs from the start of "
          f"planning to the end of the execution, or of the commit that "
          f"followed it; with parallel workers, their CPU and waits add up.")
    print_table("Where the time went, by route", "route", by_route, args.top)
    print_table("Where the time went, by statement", "statement",
                by_statement, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
