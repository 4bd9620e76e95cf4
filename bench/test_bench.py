#!/usr/bin/env python3
"""Benchmark of the transcript test runner (`waflow test`).

Generates a suite of 10,000 pizza conversations (examples/flows/pizza.wf, the
benchmark flow of bench/FLOW.md), each a transcript test of nine steps: the
user's four messages, the bot's five expected messages and the end of the run.
Runs `waflow test` on it N times pinned to one core and reports the median
wall and CPU time and the steps per second (target: over 100,000 steps/s).
The time includes compiling the flow and reading the transcripts.

  bench/test_bench.py [--waflow build/cli/waflow] [--runs 5] [--conversations 10000]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PER_FILE = 1000


def conversation(i):
    """One test: contact i orders, as the benchmark's scripted user does."""
    n = i + 1
    pizza = "Margherita" if i % 2 == 0 else "Pepperoni"
    address = f"{n} Baker Street, flat {i % 7 + 1}"
    answer = "no" if i % 4 == 3 else "yes"
    steps = [
        "      - user: hi",
        f"      - expect: Welcome to Pizza Bot, User {n}!",
        "      - expect: {text: \"What would you like?\", buttons: [Margherita, Pepperoni]}",
        f"      - tap: {pizza}",
        f"      - expect: \"Great choice: {pizza}. What is your address?\"",
        f"      - user: {address}",
        f"      - expect: \"Order for {pizza} to {address}. Confirm? (yes/no)\"",
        f"      - user: \"{answer}\"",
    ]
    if answer == "yes":
        steps.append("      - expect: {pattern: \"Order placed! Reference: .+\"}")
    else:
        steps.append("      - expect: Order cancelled.")
    steps.append("      - end: true")
    text = (f"  - name: conversation {n}\n"
            f"    contact: {{name: User {n}, phone: \"+1555{n:07d}\"}}\n"
            "    steps:\n" + "\n".join(steps) + "\n")
    return text, len(steps)


def generate(directory, count):
    shutil.copy(os.path.join(ROOT, "examples", "flows", "pizza.wf"), directory)
    total = 0
    for start in range(0, count, PER_FILE):
        parts = ["flows: pizza.wf\n", "tests:\n"]
        for i in range(start, min(count, start + PER_FILE)):
            text, steps = conversation(i)
            parts.append(text)
            total += steps
        with open(os.path.join(directory, f"suite_{start // PER_FILE:03d}.test.yaml"), "w",
                  encoding="utf-8") as f:
            f.write("".join(parts))
    return total


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--waflow", default=os.path.join(ROOT, "build", "cli", "waflow"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--conversations", type=int, default=10000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        steps = generate(tmp, a.conversations)
        walls, cpus = [], []
        for _ in range(a.runs):
            cpu_before = cpu_of_children()
            start = time.perf_counter()
            proc = subprocess.run(["taskset", "-c", "0", a.waflow, "test", tmp],
                                  capture_output=True, text=True)
            walls.append(time.perf_counter() - start)
            cpus.append(cpu_of_children() - cpu_before)
            if proc.returncode != 0:
                raise SystemExit(f"waflow test failed:\n{proc.stdout[-3000:]}{proc.stderr}")
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print("| suite | conversations | steps | median ms (1 core) | median CPU ms | steps/s (CPU) |")
        print("|---|---|---|---|---|---|")
        print(f"| pizza | {a.conversations} | {steps} | {wall * 1000:.0f} | {cpu * 1000:.0f} | "
              f"{steps / cpu:,.0f} |")


if __name__ == "__main__":
    main()
