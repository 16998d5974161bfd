#!/usr/bin/env bash
# The attention part of the GPU checks, after the Java run.
#
# The Java side needs nothing from here: CudaAttentionGpuTest carries the tag "gpu" and AttentionGpuBenchmark
# the tag "gpu-benchmark", so the GPU script's tagged JUnit run already includes them. This script adds the
# PyTorch peer (scaled_dot_product_attention on the same shapes) and prints one table of both:
#
#   scripts/gpu/attention-checks.sh JAVA_LOG
#
# JAVA_LOG is the output of that JUnit run (it holds AttentionGpuBenchmark's "BENCH | attention ..." rows).
# Exits non-zero when the log shows no attention benchmark rows (the benchmark did not run) or PyTorch fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
log=${1:?usage: scripts/gpu/attention-checks.sh JAVA_LOG}
if ! grep -q '^BENCH | attention .*(rlhf4j)' "$log"; then
    echo "attention-checks: no attention benchmark rows in $log (did AttentionGpuBenchmark run?)" >&2
    exit 1
fi
PYTHONUNBUFFERED=1 python3 scripts/gpu/torch_attention_peer.py --compare "$log"
