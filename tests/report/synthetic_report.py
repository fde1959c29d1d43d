#!/usr/bin/env python3
"""Writes a synthetic report document (docs/report-json.md, schema 1) with N
statements, for measuring how the HTML page copes with a large report when
no capture of that size is at hand.

    synthetic_report.py --statements 100000 --out report.json [--seed 1]

The shapes are a LAVA lab's: many routes, a few plans per statement, plan
trees with per-node actuals, kernel facts, errors, an hour of intervals.
"""

import argparse
import json
import math
import random

BUCKETS = [round(0.01 * 1.25 ** i, 6) for i in range(72)] + [None]
TABLES = ["lava_scheduler_app_testjob", "lava_results_app_testcase", "lava_results_app_testsuite",
          "lava_scheduler_app_device", "auth_user", "django_session", "lava_scheduler_app_worker"]
ROUTES = ["/api/v0.2/jobs/", "/api/v0.2/jobs/<pk>/", "/api/v0.2/jobs/<pk>/suites/", "/scheduler/job/<pk>",
          "/scheduler/alljobs", "/results/<job>", "/RPC2", "/scheduler/device/<pk>", "/accounts/login/",
          "/scheduler/internal/v1/workers/<pk>/", "/scheduler/myjobs", "/results/<job>/<suite>"]


def aggregate(rng, calls, mean_ms, kernel):
    total = calls * mean_ms
    agg = {
        "executions": calls, "calls": calls, "errors": rng.random() < 0.05 and rng.randint(1, 5) or 0,
        "total_ms": total, "mean_ms": mean_ms, "min_ms": mean_ms * 0.2, "max_ms": mean_ms * 8,
        "p50_ms": mean_ms * 0.8, "p95_ms": mean_ms * 2.5, "p99_ms": mean_ms * 5, "plan_ms": total * 0.05,
        "rows": calls * rng.randint(1, 50), "shared_blks_hit": calls * rng.randint(3, 300),
        "shared_blks_read": calls * rng.randint(0, 20), "shared_blks_dirtied": 0, "shared_blks_written": 0,
        "local_blks_read": 0, "temp_blks_read": 0, "temp_blks_written": rng.random() < 0.02 and calls * 100 or 0,
        "blk_read_time_ms": 0, "blk_write_time_ms": 0, "wal_records": 0, "wal_bytes": 0, "kernel": None,
    }
    if kernel:
        io = total * rng.random() * 0.5
        agg["kernel"] = {"executions": calls, "oncpu_ms": total - io - total * 0.05, "io_wait_ms": io,
                         "other_wait_ms": total * 0.05, "page_cache_misses": calls * rng.randint(0, 10),
                         "block_requests": calls, "block_bytes": calls * 8192, "read_bytes": 0, "write_bytes": 0}
    return agg


def histogram(rng, calls, mean_ms):
    counts = [0] * len(BUCKETS)
    centre = max(0, min(len(BUCKETS) - 2, int(math.log(max(mean_ms, 0.01) / 0.01, 1.25))))
    for _ in range(min(calls, 200)):
        counts[max(0, min(len(BUCKETS) - 1, centre + int(rng.gauss(0, 3))))] += 1
    scale = calls / max(1, sum(counts))
    return [int(c * scale) for c in counts]


def node_tree(rng, table, executions):
    scan = {"node_id": 2, "node_type": "Seq Scan", "relation": "public." + table, "index": None,
            "executions": executions, "loops": executions, "plan_rows": 10, "actual_rows": executions * 12,
            "rows_removed_by_filter": executions * 90000, "rows_removed_by_join_filter": 0,
            "total_time_ms": executions * 30.0, "shared_blks_hit": executions * 900, "shared_blks_read": executions * 20,
            "temp_blks_read": 0, "temp_blks_written": 0, "estimate_factor": 1.2,
            "filter": "(" + table + ".state = 2)", "children": []}
    return {"node_id": 1, "node_type": "Sort", "relation": None, "index": None, "executions": executions,
            "loops": executions, "plan_rows": 10, "actual_rows": executions * 12, "rows_removed_by_filter": 0,
            "rows_removed_by_join_filter": 0, "total_time_ms": executions * 31.0, "shared_blks_hit": executions * 900,
            "shared_blks_read": executions * 20, "temp_blks_read": 0, "temp_blks_written": 0,
            "estimate_factor": 1.2, "filter": None, "children": [scan]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=1000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start_us = 1_796_000_000_000_000
    intervals, interval_s = 60, 60

    statements, plans = [], []
    for i in range(args.statements):
        calls = max(1, int(rng.paretovariate(1.2) * 3))
        mean_ms = rng.lognormvariate(0, 1.5)
        table = rng.choice(TABLES)
        s = aggregate(rng, calls, mean_ms, True)
        plan_keys = []
        for p in range(1 if rng.random() < 0.9 else 2):
            key = f"p{len(plans) + 1}"
            plan_keys.append(key)
            plan = aggregate(rng, calls, mean_ms, True)
            plan.update({"key": key, "statement": f"s{i + 1}", "planid": str(rng.getrandbits(63)),
                         "shape_id": str(rng.getrandbits(63)),
                         "text": f"Sort\n  Sort Key: id\n  ->  Seq Scan on public.{table}\n        Filter: (state = 2)",
                         "first_unix_us": start_us, "last_unix_us": start_us + 3_600_000_000,
                         "actuals_executions": 1 if i < 2000 else 0,
                         "nodes": node_tree(rng, table, 1) if i < 2000 else None})
            plans.append(plan)
        s.update({"key": f"s{i + 1}", "server": "srv1", "queryid": str(rng.getrandbits(63) - 2 ** 62),
                  "dbid": 16384, "database": "lavaserver",
                  "text": f"SELECT {table}.id, {table}.state, {table}.c{i} FROM {table} "
                          f"WHERE {table}.state = $1 AND {table}.owner_id = $2 ORDER BY id DESC LIMIT $3",
                  "cmd": "SELECT", "share": 0, "cumulative_share": None, "rank": 0,
                  "histogram": histogram(rng, calls, mean_ms), "plans": plan_keys,
                  "routes": [{"name": r, "calls": calls, "total_ms": s["total_ms"] / 2} for r in rng.sample(ROUTES, 2)],
                  "errors_by_sqlstate": [{"sqlstate": "57014", "name": "query_canceled", "count": s["errors"]}]
                  if s["errors"] else []})
        statements.append(s)
    statements.sort(key=lambda s: -s["total_ms"])
    db_time = sum(s["total_ms"] for s in statements)
    running = 0
    for rank, s in enumerate(statements, 1):
        running += s["total_ms"]
        s.update(rank=rank, share=s["total_ms"] / db_time, cumulative_share=running / db_time)

    def spread(total):
        weights = [1 + math.sin(i / 6) * 0.5 + rng.random() * 0.3 for i in range(intervals)]
        return [total * w / sum(weights) for w in weights]

    series = [{"kind": "statement", "key": s["key"], "label": s["key"], "db_time_ms": spread(s["total_ms"])}
              for s in statements[:8]]
    groups = []
    for r in ROUTES:
        g = aggregate(rng, 1000, 4, True)
        g.update({"name": r, "tagged": True, "share": 0,
                  "top_statements": [{"statement": s["key"], "calls": s["calls"], "total_ms": s["total_ms"], "share": 0.1}
                                     for s in statements[:3]]})
        groups.append(g)
    route_total = sum(g["total_ms"] for g in groups)
    for g in groups:
        g["share"] = g["total_ms"] / route_total
    series += [{"kind": "route", "key": g["name"], "label": g["name"], "db_time_ms": spread(g["total_ms"] * db_time / route_total)}
               for g in groups[:8]]
    top = statements[0]
    doc = {
        "schema_version": 1, "generator": "synthetic_report.py", "generated_unix_us": start_us + 3_700_000_000,
        "filters": {"since_unix_us": None, "until_unix_us": None, "route": None, "app": None, "db": None,
                    "user": None, "top": args.statements, "group_by": "route"},
        "inputs": {"files": [{"path": "/tmp/capture/qprof-1.qprof", "bytes": 123456789, "status": "ok", "server": "srv1",
                              "samples": 5_000_000, "problems": []}],
                   "samples_read": 5_000_000, "samples_used": 5_000_000, "samples_filtered_out": 0, "samples_unresolved": 0},
        "summary": {"start_unix_us": start_us, "end_unix_us": start_us + 3_600_000_000, "duration_s": 3600,
                    "servers": [{"key": "srv1", "system_identifier": "7301234567890123456",
                                 "version": "PostgreSQL 15.14 (Debian 15.14-0+deb12u1)", "version_num": 150014,
                                 "cluster_name": "lab", "host": "127.0.0.1", "port": 5432, "database": "lavaserver",
                                 "label": "synthetic", "epochs": [1], "executions": 5_000_000}],
                    "executions": 5_000_000, "calls": 5_000_000, "db_time_ms": db_time, "errors": 120,
                    "statements": args.statements,
                    "sampling": {"sample_rate": 1, "scale": 1, "scaled": False, "mixed": False, "min_duration_ms": 0,
                                 "track": "top", "analyze_sample_rate": 0.01, "note": None},
                    "losses": {"overwritten": 0, "reset": 0, "epoch_changed": 0, "unknown": 0, "epoch_changes": 0},
                    "kernel": {"present": True, "executions": 5_000_000, "share": 1, "syscalls": False},
                    "node_actuals": {"executions": 50_000}},
        "insights": [{"kind": "missing_index", "severity": "high",
                      "title": f"Sequential scan of public.lava_scheduler_app_testjob discards 99.9% of its rows",
                      "db_time_ms": top["total_ms"], "share": top["share"], "statement": top["key"],
                      "route": ROUTES[0], "table": "public.lava_scheduler_app_testjob", "columns": ["state"],
                      "plans": top["plans"], "evidence": ["90,000 rows removed by the filter per execution",
                                                          "the table has 1,000,000 rows (1.2 GiB)"],
                      "facts": {"rows_removed_per_execution": 90000, "table_rows": 1000000},
                      "action": "Create an index on the filtered column.",
                      "sql": "CREATE INDEX CONCURRENTLY ON public.lava_scheduler_app_testjob (state);"}],
        "statements": statements, "statements_total": args.statements,
        "rankings": {k: [s["key"] for s in statements[:20]] for k in
                     ["total_time", "mean_time", "calls", "rows", "shared_blks_read", "storage_reads", "io_wait",
                      "offcpu", "temp_blks", "errors"]},
        "plans": plans,
        "plan_changes": [{"statement": s["key"], "plans": s["plans"], "slower_plan": s["plans"][1],
                          "faster_plan": s["plans"][0], "extra_ms": s["total_ms"] / 3, "changed_unix_us": start_us + 1_800_000_000}
                         for s in statements if len(s["plans"]) > 1][:20],
        "node_hotspots": [{"node_type": "Seq Scan", "relation": "public." + t, "index": None, "executions": 100,
                           "loops": 100, "actual_rows": 1200, "rows_removed_by_filter": 9_000_000, "total_time_ms": 3000,
                           "shared_blks_read": 2000, "temp_blks_written": 0, "max_estimate_factor": 12.5,
                           "statements": [statements[0]["key"]]} for t in TABLES],
        "attribution": {"group_by": "route", "dimensions": [
            {"dimension": "route", "groups": groups, "groups_total": len(groups)},
            {"dimension": "controller", "groups": [], "groups_total": 0},
            {"dimension": "app", "groups": [], "groups_total": 0},
            {"dimension": "user", "groups": [], "groups_total": 0},
            {"dimension": "db", "groups": [], "groups_total": 0}]},
        "requests": {"tag": "traceparent", "requests": 20000, "statements_per_request": {"mean": 12.5, "max": 400},
                     "n_plus_one": [{"statement": statements[1]["key"], "route": ROUTES[2], "requests": 300,
                                     "executions": 30000, "max_per_request": 400, "mean_per_request": 100,
                                     "example_request": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                     "example_executions": 400, "total_ms": 5000, "share": 0.05}]},
        "errors": [{"sqlstate": "57014", "name": "query_canceled", "class": "57", "count": 120, "timeout": True,
                    "cancel": False, "statements": [{"statement": statements[0]["key"], "count": 100}],
                    "routes": [{"name": ROUTES[0], "calls": 100, "total_ms": 25000}]}],
        "timeseries": {"start_unix_us": start_us, "interval_s": interval_s, "intervals": intervals,
                       "db_time_ms": spread(db_time), "executions": [80000 + rng.randint(0, 5000) for _ in range(intervals)],
                       "errors": [2] * intervals, "series": series},
        "heatmap": {"start_unix_us": start_us, "interval_s": interval_s,
                    "counts": [[max(0, int(rng.gauss(2000, 1500) * math.exp(-((b - 30) / 8) ** 2))) for b in range(len(BUCKETS))]
                               for _ in range(intervals)]},
        "latency_buckets_ms": BUCKETS,
    }
    # the other series makes the stacks sum to the total
    with open(args.out, "w") as out:
        json.dump(doc, out, separators=(",", ":"))


if __name__ == "__main__":
    main()
