"""Checks what `qprof diff --json` of the demo's planted regression puts
first: a failing statement regression that reads LAVA's test suites, with a
plan change away from the dropped index, and a regressed route. Prints
them; exits 1 when one of them is not so.

usage: check_diff.py DIFF.json INDEX_NAME
"""

import json
import sys


def main():
    path, index = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as source:
        doc = json.load(source)
    problems = []
    if not doc["statements"] or not doc["routes"]:
        print("unexpected: no statement or no route compared")
        return 1
    first, route = doc["statements"][0], doc["routes"][0]
    ratio = first["median_ratio"] or 0
    print(f"first statement: {first['verdict']}{' (fails)' if first['fails'] else ''}, "
          f"median x{ratio:.1f}, plan changed: {first['plan_changed']}, route {first['route']}")
    print(f"  {first['name'][:150]}")
    route_ratio = route["median_ratio"] or 0
    print(f"first route: {route['verdict']}{' (fails)' if route['fails'] else ''}, "
          f"per {route['test']['unit']}, median x{route_ratio:.1f}, {route['name']}")
    if not (first["verdict"] == "regressed" and first["fails"] and first["plan_changed"]):
        problems.append("the first statement is not a failing regression with a plan change")
    elif index not in (first["plan_base"] or {}).get("text", ""):
        problems.append(f"the first statement's plan before did not use {index}")
    if "lava_results_app_testsuite" not in first["name"]:
        problems.append("the first statement does not read the test suites")
    if route["verdict"] != "regressed":
        problems.append("the first route did not regress")
    for problem in problems:
        print("unexpected: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
