#!/usr/bin/env python3
"""Benchmark of `waflow check` on generated projects.

Reports, for a 1 MB source and for a 10,000-step project, the median wall time
of N runs pinned to one core, and the throughput in MB/s. The target (DESIGN.md
section 5): a 1 MB source checked in under 200 ms on one core.

  bench/check_bench.py [--waflow build/cli/waflow] [--runs 7]
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STEP = re.compile(r"^\s*(say|ask|if|match|set|http|store|ai|goto|end|handoff|label)\b")


def count_steps(path):
    steps = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = STEP.match(line)
            if m and m.group(1) != "label":
                steps += 1
    return steps


def measure(waflow, path, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(["taskset", "-c", "0", waflow, "check", "-q", path],
                              capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"waflow check failed on {path}:\n{proc.stderr.decode()}")
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--waflow", default=os.path.join(HERE, "..", "build", "cli", "waflow"))
    p.add_argument("--runs", type=int, default=7)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("1 MB source", ["--bytes", "1000000"]), ("10k steps", ["--steps", "10000"])]
        print("| input | bytes | steps | median ms (1 core) | MB/s |")
        print("|---|---|---|---|---|")
        for name, args in cases:
            path = os.path.join(tmp, name.replace(" ", "_") + ".wf")
            subprocess.run(["python3", os.path.join(HERE, "gen_flows.py")] + args + [path],
                           check=True)
            size = os.path.getsize(path)
            t = measure(a.waflow, path, a.runs)
            print(f"| {name} | {size} | {count_steps(path)} | {t * 1000:.1f} | "
                  f"{size / t / 1e6:.1f} |")


if __name__ == "__main__":
    main()
