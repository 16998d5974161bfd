package org.rlhf4j.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's worker pool: a fork-join pool sized to the machine, or to {@code -Drlhf4j.threads=N}.
 * Small jobs run on the calling thread, so they never pay for a hand-off.
 */
public final class Parallel {
    /** Work below this many elementary operations runs on the calling thread. */
    public static final long SERIAL_GRAIN = 1L << 15;

    private static volatile ForkJoinPool pool = newPool(defaultThreads());

    private Parallel() {}

    static int defaultThreads() {
        String configured = System.getProperty("rlhf4j.threads");
        if (configured != null && !configured.isBlank()) {
            int n = Integer.parseInt(configured.trim());
            if (n < 1) throw new IllegalArgumentException("rlhf4j.threads must be >= 1, found " + n);
            return n;
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * A pool of exactly {@code threads} workers. A plain ForkJoinPool adds a compensating worker when one blocks in
     * a join, and on a machine with as many cores as workers that extra thread shares a core: work split into
     * equal chunks then finishes at the pace of the shared core, and a thread spinning on a GEMM panel another
     * thread is packing may wait out a whole time slice. So the pool may not grow (maximum size = parallelism,
     * and a join that cannot compensate just waits).
     */
    private static ForkJoinPool newPool(int threads) {
        java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
        return new ForkJoinPool(threads, p -> {
            // getPoolIndex() is not assigned until the worker registers, so number the threads here
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("rlhf4j-cpu-" + count.getAndIncrement());
            t.setDaemon(true);
            return t;
        }, null, false, threads, threads, 1, pool -> true, 60, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Number of worker threads the CPU backend splits work over. */
    public static int threads() {
        return pool.getParallelism();
    }

    /** Replaces the pool with one of {@code n} threads (tests run the suite at several thread counts). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be >= 1, found " + n);
        if (n == threads()) return;
        ForkJoinPool old = pool;
        pool = newPool(n);
        old.shutdown();
    }

    /** A body that processes the half-open range {@code [from, to)} of some index space. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into chunks; {@code costPerItem} is the rough number of
     * elementary operations per index and decides whether splitting pays at all.
     */
    public static void forRange(int n, long costPerItem, RangeBody body) {
        if (n <= 0) return;
        long total = (long) n * Math.max(1, costPerItem);
        int threads = threads();
        if (threads == 1 || n == 1 || total < SERIAL_GRAIN || ForkJoinTask.getPool() == pool) {
            body.run(0, n);
            return;
        }
        int maxChunks = (int) Math.min(n, Math.min((long) threads * 4, total / SERIAL_GRAIN + 1));
        int chunks = Math.max(1, maxChunks);
        pool.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    /** Runs {@code body} once per task index in {@code [0, tasks)}, in parallel, with no chunk merging. */
    public static void forEachTask(int tasks, RangeBody body) {
        if (tasks <= 0) return;
        if (tasks == 1 || threads() == 1 || ForkJoinTask.getPool() == pool) {
            body.run(0, tasks);
            return;
        }
        pool.invoke(new Chunk(body, tasks, tasks, 0, tasks));
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int n, chunks, lo, hi;

        Chunk(RangeBody body, int n, int chunks, int lo, int hi) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int from = (int) ((long) n * lo / chunks);
                int to = (int) ((long) n * (lo + 1) / chunks);
                if (from < to) body.run(from, to);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunk(body, n, chunks, lo, mid), new Chunk(body, n, chunks, mid, hi));
        }
    }
}
