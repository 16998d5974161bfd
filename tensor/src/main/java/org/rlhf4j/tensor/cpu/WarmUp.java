package org.rlhf4j.tensor.cpu;

/**
 * Runs a Vector API kernel on one thread until C2 has compiled it, before any real work reaches it.
 *
 * <p>Why: C2 compiles a kernel from what it has seen run, and for vector code the result varied with that.
 * Compiled from real work (two threads, mixed sizes, several callers), kernels came out badly in a
 * share of JVMs: the GEMM micro-kernel with an accumulator spilled to the stack (half speed), the e^x loop of
 * GELU and attention with its vectors boxed (4 to 6 GB allocated per small-model SFT step instead of 1.5).
 * Compiled after a warm-up on one thread, they came out clean in every JVM tried (benchmarks/RESULTS.md).
 *
 * <p>{@code -Drlhf4j.warmup=false} skips every warm-up (tests use it to get kernels that start out interpreted).
 */
final class WarmUp {
    /** False when {@code -Drlhf4j.warmup=false}. */
    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("rlhf4j.warmup", "true").trim());

    private WarmUp() {}

    /**
     * Runs {@code batch} until its time stops falling (4 batches in a row within 3% of the best, after at least
     * {@code minBatches}) or {@code maxNanos} have passed; returns the milliseconds spent. Does nothing when
     * warm-ups are off ({@link #ENABLED}).
     */
    static double untilFlat(Runnable batch, int minBatches, long maxNanos) {
        if (!ENABLED) return 0;
        long start = System.nanoTime();
        long best = Long.MAX_VALUE;
        int flat = 0;
        for (int i = 0; flat < 4 && System.nanoTime() - start < maxNanos; i++) {
            long t = System.nanoTime();
            batch.run();
            long elapsed = System.nanoTime() - t;
            flat = i >= minBatches && elapsed > best * 0.97 ? flat + 1 : 0;
            best = Math.min(best, elapsed);
        }
        return (System.nanoTime() - start) / 1e6;
    }
}
