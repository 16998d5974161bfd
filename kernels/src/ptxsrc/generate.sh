#!/usr/bin/env bash
# Regenerates the runtime PTX modules (elementwise, reduce, index, philox) from these templates. The kernels are
# written in PTX here; the scripts only stamp out what repeats (the strided decode per operand count, the
# four-in-flight fast path, the reduction combine steps) and fill in hex float constants. Check the result with
# ptxas and kernels/src/ptxcheck/check_runtime_ptx.py.
set -euo pipefail
cd "$(dirname "$0")"
OUT=../main/resources/org/rlhf4j/kernels/ptx
python3 kernels_ew.py
python3 constants.py elementwise.tmpl "$OUT/elementwise.ptx"
python3 gen_reduce.py
python3 gen_index.py
rm -f elementwise.tmpl
python3 constants.py philox.tmpl "$OUT/philox.ptx"
