#!/usr/bin/env python3
"""Plots a bench/compare.py JSON file into a PNG beside it (or --out):

* left: pykafkacore's advantage over Apache Kafka per row (Kafka ÷ pykafkacore for latency, time,
  memory and CPU, pykafkacore ÷ Kafka for throughput; > 1 means pykafkacore is better), log scale;
* right: the throughput rows in records/s, median with min–max whiskers, for pykafkacore, Apache
  Kafka and librdkafka's mock broker.

Needs matplotlib, which the project does not install (pip install matplotlib into the venv);
without it the script says so and exits 0.

  bench/plot.py [build/bench/results/compare.json] [--out FILE.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "build" / "bench" / "results" / "compare.json"
COLORS = {"pykafkacore": "#1f77b4", "kafka": "#d62728", "mock": "#7f7f7f"}
LABELS = {"pykafkacore": "pykafkacore", "kafka": "Apache Kafka", "mock": "librdkafka mock"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench/plot.py: matplotlib is not installed; skipping the plot "
              "(.venv/bin/pip install matplotlib to draw it)", file=sys.stderr)
        return 0
    data = json.loads(args.json.read_text())
    values = data["results"]["values"]
    rows = [r for r in data["rows"] if r["key"] in values]

    def label(row: dict) -> str:
        return f"{row['scenario']}. {row['label']} [{row['generator']}]"

    ratios = []
    for row in rows:
        ours, theirs = values[row["key"]].get("pykafkacore"), values[row["key"]].get("kafka")
        if ours and theirs:
            a, b = statistics.median(ours), statistics.median(theirs)
            if a > 0 and b > 0:
                ratios.append((label(row), a / b if row["better"] == "higher" else b / a))
    throughput = [r for r in rows if r["unit"] in ("rec/s", "MB/s")]

    fig, (left, right) = plt.subplots(1, 2, figsize=(16, max(4, 0.45 * max(len(ratios),
                                                                            len(throughput)))))
    if ratios:
        names, xs = zip(*reversed(ratios))
        left.barh(names, xs, color=["#2ca02c" if x >= 1 else "#ff7f0e" for x in xs])
        left.axvline(1, color="black", linewidth=0.8)
        left.set_xscale("log")
        left.set_xlabel("pykafkacore's advantage over Apache Kafka (×, > 1 is better)")
        for y, x in enumerate(xs):
            text = f"{x:.2f}×" if x < 10 else f"{x:,.0f}×"
            left.annotate(text, (x, y), xytext=(3, 0), textcoords="offset points", va="center",
                          fontsize=8)
    left.set_title("median ratio per scenario")

    systems = [s for s in ("pykafkacore", "kafka", "mock")
               if any(s in values[r["key"]] for r in throughput)]
    height = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        ys, meds, lo, hi = [], [], [], []
        for y, row in enumerate(reversed(throughput)):
            runs = values[row["key"]].get(system)
            if not runs:
                continue
            scale = 1.0 if row["unit"] == "rec/s" else 1e6 / row["size"]  # MB/s -> rec/s
            med = statistics.median(runs) * scale
            ys.append(y + (i - (len(systems) - 1) / 2) * height)
            meds.append(med)
            lo.append(med - min(runs) * scale)
            hi.append(max(runs) * scale - med)
        right.barh(ys, meds, height=height, xerr=[lo, hi], color=COLORS[system],
                   label=LABELS[system], capsize=2)
    right.set_yticks(range(len(throughput)), [label(r) for r in reversed(throughput)], fontsize=8)
    right.set_xscale("log")
    right.set_xlabel("records/s (median, whiskers min–max)")
    right.legend(loc="lower right")
    right.set_title("throughput")
    meta = data["meta"]
    fig.suptitle(f"pykafkacore vs Apache Kafka {meta['kafka_version']} — profile "
                 f"{meta['profile']}, {meta['date']}, {meta['nproc']} cores")
    fig.tight_layout()
    out = args.out or args.json.with_suffix(".png")
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
