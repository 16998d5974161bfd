#!/usr/bin/env python3
"""One command for the transformer issue's SFT-step table: rlhf4j (JMH, SftStepBenchmark) and PyTorch
(torch_sft_step.py, best of its thread settings) on the same machine, in tokens/s, with the ratio.

Usage, from the repository root after `mvn -q -pl benchmarks -am package -DskipTests`:
    python3 scripts/bench/sft_step_vs_pytorch.py [--quick] [--torch-seconds 10]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

TOKENS_PER_STEP = {"tiny": 16 * 128, "small": 8 * 256}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="fewer JMH iterations")
    p.add_argument("--torch-seconds", type=float, default=10.0)
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    jar = os.path.join(here, "..", "..", "benchmarks", "target", "benchmarks.jar")
    if not os.path.exists(jar):
        sys.exit("benchmarks/target/benchmarks.jar is missing: run mvn -q -pl benchmarks -am package -DskipTests")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "jmh.json")
        cmd = ["java", "-jar", jar, "--filter", "SftStep", "--json", out] + (["--quick"] if a.quick else [])
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        with open(out) as f:
            results = json.load(f)
    ours = {}
    for r in results:
        workload = r["params"]["workload"]
        ours[workload] = r["primaryMetric"]["score"] * TOKENS_PER_STEP[workload]  # steps/s -> tokens/s
    torch_out = subprocess.run([sys.executable, os.path.join(here, "torch_sft_step.py"), "--seconds",
                                str(a.torch_seconds)], check=True, capture_output=True, text=True).stdout
    theirs = {}
    for line in torch_out.splitlines():
        row = json.loads(line)
        theirs[row["workload"]] = (row["tokens_per_s"], row["threads"])
    print("| workload | rlhf4j tokens/s | PyTorch tokens/s (threads) | rlhf4j / PyTorch |")
    print("| --- | --- | --- | --- |")
    for w in ("tiny", "small"):
        if w in ours and w in theirs:
            t, threads = theirs[w]
            print(f"| {w} | {ours[w]:.0f} | {t:.0f} ({threads}) | {ours[w] / t:.2f} |")


if __name__ == "__main__":
    main()
