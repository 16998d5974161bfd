#!/usr/bin/env bash
# GPU checks of the CUDA backend, in two halves.
#
#   scripts/gpu/gpu-checks.sh prepare   on a build machine (JDK 17 + Maven, no GPU needed): builds the jars, a
#                                       jlink'ed Java runtime with the Vector API module and the JUnit console
#                                       launcher into .gpu-bundle/ (git-ignored, about 40 MB, under the 64 MiB
#                                       that travels with the working tree).
#   scripts/gpu/gpu-checks.sh run       on the GPU machine (bare: no Java, no Maven, no network): finds the CUDA 13
#                                       libraries there, runs every test tagged "gpu" and then every benchmark
#                                       tagged "gpu-benchmark" from the kernels and tests modules' test
#                                       classes (the CUDA backend, then GPT-2 124M end to end), then the PyTorch
#                                       peer scripts (scripts/gpu/*_peer.py), writes logs under $OUT (or
#                                       .gpu-bundle/out), and prints one table last.
#
# Extending it: put a JUnit test class in kernels/src/test/java or tests/src/test/java with @Tag("gpu")
# (correctness, skips without a GPU) or @Tag("gpu-benchmark") (prints result lines "NAME | ..."), or a peer script
# scripts/gpu/<name>_peer.py that prints lines in the same "NAME | ..." form (or "torch ... | ..."). Every such
# line ends up in the final table.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUNDLE="$ROOT/.gpu-bundle"
JUNIT_CONSOLE_VERSION=1.14.1   # the JUnit platform of the build's junit-bom 5.14.1

prepare() {
    command -v mvn >/dev/null || { echo "prepare needs Maven (and a JDK 17 with jlink)"; exit 1; }
    rm -rf "$BUNDLE"
    mkdir -p "$BUNDLE/lib" "$BUNDLE/classes"
    # build only what the checks need, from this working tree (test classes included)
    mvn -q -pl tensor,autograd,transformer,rl,kernels,cli,tests -DskipTests package dependency:copy-dependencies \
        -DincludeScope=test -DexcludeGroupIds=org.rlhf4j -DoutputDirectory="$BUNDLE/lib"
    local m
    for m in tensor autograd transformer rl cli; do cp "$m"/target/rlhf4j-"$m"-*[0-9T].jar "$BUNDLE/lib/"; done
    mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_CONSOLE_VERSION \
        -DoutputDirectory="$BUNDLE"
    cp kernels/target/rlhf4j-kernels-*.jar "$BUNDLE/lib/"
    cp -r kernels/target/test-classes "$BUNDLE/classes/kernels-tests"
    cp -r tests/target/test-classes "$BUNDLE/classes/e2e-tests"
    # junit and its dependencies come with the console launcher
    rm -f "$BUNDLE"/lib/junit-*.jar "$BUNDLE"/lib/opentest4j-*.jar "$BUNDLE"/lib/apiguardian-*.jar
    # the CUDA preset's native jar holds JNI wrappers for every CUDA library: keep cudart (driver API) and cublas
    local natives
    natives=$(ls "$BUNDLE"/lib/cuda-*-linux-x86_64.jar)
    python3 - "$natives" <<'PY'
import sys, zipfile, os
src = sys.argv[1]
tmp = src + ".slim"
keep = ("libjnicudart.so", "libjnicublas.so")
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        name = item.filename
        base = os.path.basename(name)
        if base.startswith("libjni") and base not in keep:
            continue
        if "/native-image/" in name and not any(k[3:-3] in name for k in keep):
            continue
        zout.writestr(item, zin.read(name))
os.replace(tmp, src)
PY
    # every other bytedeco native jar is for other platforms or unused presets
    find "$BUNDLE/lib" -name '*-linux-arm64.jar' -o -name '*-linux-ppc64le.jar' -o -name '*-windows-*.jar' \
        -o -name '*-macosx-*.jar' | xargs -r rm -f
    local jmods=java.base,java.logging,java.management,java.xml,jdk.unsupported,jdk.incubator.vector,java.naming
    jlink --add-modules "$jmods" --strip-debug --no-man-pages --no-header-files --compress=2 \
        --output "$BUNDLE/jre" 2>/dev/null
    du -sh "$BUNDLE"
    echo "prepared $BUNDLE; on the GPU machine run: scripts/gpu/gpu-checks.sh run (carry .gpu-bundle)"
}

find_cuda_libs() {
    # the driver's libcuda.so.1, and libcudart.so.13 / libcublas.so.13 / libcublasLt.so.13 from the CUDA image
    # or the pip nvidia-* packages that PyTorch uses
    local dirs=() d
    local py_roots
    py_roots=$(python3 -c 'import sys, site; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true)
    for d in $py_roots /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib* \
             /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
        [ -d "$d" ] || continue
        while IFS= read -r f; do dirs+=("$(dirname "$f")"); done < <(find "$d" -maxdepth 6 \
            \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcuda.so.1' \) \
            2>/dev/null)
    done
    printf '%s\n' "${dirs[@]}" | awk 'NF && !seen[$0]++' | paste -sd: -
}

run() {
    [ -x "$BUNDLE/jre/bin/java" ] || { echo "no $BUNDLE/jre: run 'scripts/gpu/gpu-checks.sh prepare' first and carry .gpu-bundle"; exit 1; }
    local out="${OUT:-$BUNDLE/out}"
    mkdir -p "$out"
    local env="$out/environment.txt"
    {
        date -u
        if command -v nvidia-smi >/dev/null; then
            nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader 2>&1
        else
            echo "nvidia-smi: not on the PATH"
        fi
    } > "$env"
    local libs
    libs=$(find_cuda_libs)
    echo "CUDA library folders: ${libs:-none found}" >> "$env"
    export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    local cp="$BUNDLE/classes/kernels-tests:$BUNDLE/classes/e2e-tests"
    # the console's default pattern takes only *Test and *Tests classes: the benchmarks are *Benchmark
    local scan=(--scan-class-path "$BUNDLE/classes/kernels-tests" --scan-class-path "$BUNDLE/classes/e2e-tests"
                --include-classname '^.*(Test|Tests|Benchmark)$')
    # GPU_CHECKS_SELECT: more console options for both runs, to fit the device time, for example
    # GPU_CHECKS_SELECT="--exclude-classname .*GpuDemoTest" (demo --quick takes minutes)
    # shellcheck disable=SC2206
    scan+=(${GPU_CHECKS_SELECT:-})
    for j in "$BUNDLE"/lib/*.jar; do cp="$cp:$j"; done
    local java=("$BUNDLE/jre/bin/java" --add-modules jdk.incubator.vector -Xmx24g -XX:+UseParallelGC
                -Djava.library.path="$libs" -Dorg.bytedeco.javacpp.logger.debug=true)
    local console=("$BUNDLE"/junit-platform-console-standalone-*.jar)
    local t0=$SECONDS
    set +e
    "${java[@]}" -jar "${console[0]}" execute --class-path "$cp" "${scan[@]}" \
        --include-tag gpu --details=tree --disable-banner --disable-ansi-colors > "$out/gpu-tests.log" 2>&1
    local tests_rc=$?
    local t1=$SECONDS
    "${java[@]}" -jar "${console[0]}" execute --class-path "$cp" "${scan[@]}" \
        --include-tag gpu-benchmark --details=tree --disable-banner --disable-ansi-colors > "$out/benchmarks.log" 2>&1
    local bench_rc=$?
    local t2=$SECONDS
    : > "$out/peers.log"
    for p in scripts/gpu/*_peer.py; do
        [ -f "$p" ] || continue
        echo "== $p" >> "$out/peers.log"
        PYTHONUNBUFFERED=1 timeout "${GPU_CHECKS_PEER_TIMEOUT:-120}" python3 "$p" >> "$out/peers.log" 2>&1 \
            || echo "== $p failed with $?" >> "$out/peers.log"
    done
    local t3=$SECONDS
    set -e
    # one table last: test counts, then every result line of the benchmarks and peers
    {
        echo "==================== rlhf4j GPU checks ===================="
        sed -n '1,2p' "$env"
        echo "-- seconds: tests $((t1 - t0)), benchmarks $((t2 - t1)), peers $((t3 - t2))"
        echo "-- correctness (tag gpu): exit $tests_rc"
        grep -E '^\[ *[0-9]+ (tests|containers) (found|successful|failed|skipped|aborted)' "$out/gpu-tests.log" || echo "(no summary: see gpu-tests.log)"
        grep -E '✘|\[X\]' "$out/gpu-tests.log" | head -40 || true
        echo "-- benchmarks (tag gpu-benchmark): exit $bench_rc"
        grep -ahE '^([A-Z][A-Z0-9_-]*|torch [^|]*) \| ' "$out/gpu-tests.log" "$out/benchmarks.log" "$out/peers.log" \
            || echo "(no result lines)"
        if grep -q "no GPU here" "$out/gpu-tests.log" 2>/dev/null; then
            echo "NO GPU: every GPU test skipped: $(grep -m1 -o 'no GPU here:.*' "$out/gpu-tests.log")"
        fi
    } > "$out/summary.txt"
    cat "$out/summary.txt"
    if grep -q "^NO GPU" "$out/summary.txt"; then exit 3; fi
    exit $(( tests_rc != 0 ? 1 : (bench_rc != 0 ? 2 : 0) ))
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: $0 prepare|run"; exit 64 ;;
esac
