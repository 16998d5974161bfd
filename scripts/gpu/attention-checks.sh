#!/usr/bin/env bash
# The attention results side by side with PyTorch, after scripts/gpu/gpu-checks.sh run.
#
# gpu-checks.sh already runs the attention checks: CudaAttentionGpuTest (tag "gpu"), AttentionGpuBenchmark
# (tag "gpu-benchmark") and torch_attention_peer.py (every *_peer.py), and lists their rows in its table. This
# script prints the attention rows as one comparison table (rlhf4j, PyTorch SDPA, ratio of the rates):
#
#   scripts/gpu/attention-checks.sh [OUT_DIR]     OUT_DIR: where gpu-checks.sh wrote benchmarks.log and
#                                                 peers.log ($OUT, else .gpu-bundle/out)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-${OUT:-.gpu-bundle/out}}
for f in benchmarks.log peers.log; do
    [ -f "$out/$f" ] || { echo "attention-checks: no $out/$f (run scripts/gpu/gpu-checks.sh run first)" >&2; exit 1; }
done
if ! grep -q '^BENCH | attention .*(rlhf4j)' "$out/benchmarks.log"; then
    echo "attention-checks: no attention benchmark rows in $out/benchmarks.log (did AttentionGpuBenchmark run?)" >&2
    exit 1
fi
python3 scripts/gpu/torch_attention_peer.py --compare "$out/benchmarks.log" "$out/peers.log"
