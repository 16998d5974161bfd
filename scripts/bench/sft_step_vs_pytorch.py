#!/usr/bin/env python3
"""One command for the transformer issue's SFT-step table: rlhf4j (JMH, SftStepBenchmark) and PyTorch
(torch_sft_step.py, best of its thread settings) on the same machine, in tokens/s, with the ratio.

Usage, from the repository root after `mvn -q -pl benchmarks -am package -DskipTests`:
    python3 scripts/bench/sft_step_vs_pytorch.py [--quick] [--torch-seconds 10] [--rounds 1]

With --rounds N both are measured N times, rlhf4j first in odd rounds and PyTorch first in even ones, and
each number is the median over the rounds: on a shared virtual machine the speed of the same code drifts
over minutes, and one measurement of each taken minutes apart compares two different machines.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TOKENS_PER_STEP = {"tiny": 16 * 128, "small": 8 * 256}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="fewer JMH iterations")
    p.add_argument("--torch-seconds", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=1, help="measure both this many times, alternating")
    a = p.parse_args()
    if a.rounds < 1:
        sys.exit("--rounds must be >= 1")
    here = os.path.dirname(os.path.abspath(__file__))
    jar = os.path.join(here, "..", "..", "benchmarks", "target", "benchmarks.jar")
    if not os.path.exists(jar):
        sys.exit("benchmarks/target/benchmarks.jar is missing: run mvn -q -pl benchmarks -am package -DskipTests")
    ours_runs, theirs_runs = [], []
    for r in range(a.rounds):
        steps = [lambda: ours_runs.append(run_rlhf4j(jar, a.quick)),
                 lambda: theirs_runs.append(run_torch(here, a.torch_seconds))]
        for step in (steps if r % 2 == 0 else reversed(steps)):
            step()
    ours = {w: statistics.median(run[w] for run in ours_runs) for w in ours_runs[0]}
    theirs = {}
    for w in theirs_runs[0]:
        rates = [run[w][0] for run in theirs_runs]
        mid = statistics.median(rates)
        # the thread count of the run closest to the median
        theirs[w] = (mid, min(theirs_runs, key=lambda run: abs(run[w][0] - mid))[w][1])
    if a.rounds > 1:
        print(f"Each number is the median of {a.rounds} rounds.")
        for w in ours:
            if w in theirs:
                print(f"{w}: rlhf4j {[round(run[w]) for run in ours_runs]}, "
                      f"PyTorch {[round(run[w][0]) for run in theirs_runs]}")
    print("| workload | rlhf4j tokens/s | PyTorch tokens/s (threads) | rlhf4j / PyTorch |")
    print("| --- | --- | --- | --- |")
    for w in ("tiny", "small"):
        if w in ours and w in theirs:
            t, threads = theirs[w]
            print(f"| {w} | {ours[w]:.0f} | {t:.0f} ({threads}) | {ours[w] / t:.2f} |")


def run_rlhf4j(jar, quick):
    """tokens/s per workload from one JMH run of SftStepBenchmark."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "jmh.json")
        cmd = ["java", "-jar", jar, "--filter", "SftStep", "--json", out] + (["--quick"] if quick else [])
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        with open(out) as f:
            results = json.load(f)
    return {r["params"]["workload"]: r["primaryMetric"]["score"] * TOKENS_PER_STEP[r["params"]["workload"]]
            for r in results}  # steps/s -> tokens/s


def run_torch(here, seconds):
    """(tokens/s, threads) per workload from one run of torch_sft_step.py, best of its thread settings."""
    out = subprocess.run([sys.executable, os.path.join(here, "torch_sft_step.py"), "--seconds", str(seconds)],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return {row["workload"]: (row["tokens_per_s"], row["threads"]) for row in rows}


if __name__ == "__main__":
    main()
