#!/usr/bin/env python3
"""Prints a Markdown table of storage_bench results with the ratio of each log operation to its
physical ceiling (plain syscalls on the same disk) measured in the same run.

Usage: bench/report.py build/bench/results/storage_bench.json
"""
import json
import sys

PAIRS = [
    ("append 16 KiB batches, no fsync", "BM_LogAppend", "BM_PlainWriteCeiling"),
    ("sequential read, 1 MiB fetches", "BM_LogSequentialRead", "BM_PlainReadCeiling"),
]


def medians(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].split("/")[0]
        out[name] = b
    return out


def main():
    results = medians(sys.argv[1])
    print("| storage operation | pykafkacore | ceiling (plain syscalls) | ratio |")
    print("|---|---|---|---|")
    for label, ours, ceiling in PAIRS:
        if ours not in results or ceiling not in results:
            continue
        a = results[ours]["bytes_per_second"] / 1e6
        b = results[ceiling]["bytes_per_second"] / 1e6
        print(f"| {label} | {a:,.0f} MB/s | {b:,.0f} MB/s | {a / b:.2f} |")
    if "BM_IndexLookup" in results:
        r = results["BM_IndexLookup"]
        print(f"| random offset lookup | {r['items_per_second'] / 1e3:,.0f} k lookups/s "
              f"({r['real_time']:.1f} us each) | | |")
    print("\n(medians of 5 repetitions; both columns of a row come from the same run)")


if __name__ == "__main__":
    main()
