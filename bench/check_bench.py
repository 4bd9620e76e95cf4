#!/usr/bin/env python3
"""Benchmark of `waflow check` on generated projects.

Reports, for each generated input, the median wall time and the median CPU time
(user + system) of N runs pinned to one core, and the throughput in MB/s (from
the CPU time). The target (DESIGN.md section 5): a 1 MB source checked in under
200 ms on one core. On a busy machine the wall time also counts the time other
processes hold the core; the CPU time does not, so it is the steadier number.

Inputs: a 1 MB and a 2 MB project (time should grow linearly with size), a
10,000-step project, and one flow with 3,000 asks (a huge flow stresses the
per-flow analyses).

  bench/check_bench.py [--waflow build/cli/waflow] [--runs 7]
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STEP = re.compile(r"^\s*(say|ask|if|match|set|http|store|ai|goto|end|handoff|label)\b")

CASES = [
    ("1 MB source", ["--bytes", "1000000"]),
    ("2 MB source", ["--bytes", "2000000"]),
    ("10k steps", ["--steps", "10000"]),
    ("one flow, 3000 asks", ["--one-flow", "3000"]),
]


def count_steps(path):
    steps = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = STEP.match(line)
            if m and m.group(1) != "label":
                steps += 1
    return steps


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(waflow, path, runs):
    """Median wall and CPU seconds of `runs` runs of waflow check on `path`."""
    walls = []
    cpus = []
    for _ in range(runs):
        cpu_before = cpu_of_children()
        start = time.perf_counter()
        proc = subprocess.run(["taskset", "-c", "0", waflow, "check", "-q", path],
                              capture_output=True)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_of_children() - cpu_before)
        if proc.returncode != 0:
            raise SystemExit(f"waflow check failed on {path}:\n{proc.stderr.decode()}")
    return statistics.median(walls), statistics.median(cpus)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--waflow", default=os.path.join(HERE, "..", "build", "cli", "waflow"))
    p.add_argument("--runs", type=int, default=7)
    a = p.parse_args()
    cpu_by_case = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("| input | bytes | steps | median ms (1 core) | median CPU ms | MB/s (CPU) |")
        print("|---|---|---|---|---|---|")
        for name, args in CASES:
            path = os.path.join(tmp, re.sub(r"\W+", "_", name) + ".wf")
            subprocess.run(["python3", os.path.join(HERE, "gen_flows.py")] + args + [path],
                           check=True)
            size = os.path.getsize(path)
            wall, cpu = measure(a.waflow, path, a.runs)
            cpu_by_case[name] = cpu
            print(f"| {name} | {size} | {count_steps(path)} | {wall * 1000:.1f} | "
                  f"{cpu * 1000:.1f} | {size / cpu / 1e6:.1f} |", flush=True)
    one, two = cpu_by_case["1 MB source"], cpu_by_case["2 MB source"]
    if one > 0:
        print(f"\nCPU time of 2 MB over 1 MB: {two / one:.2f} (linear: 2.00)")


if __name__ == "__main__":
    main()
