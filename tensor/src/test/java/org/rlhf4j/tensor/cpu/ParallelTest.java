package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker pool never has more worker threads than its parallelism (a plain ForkJoinPool had 3 of 2 here). */
class ParallelTest {
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    private static long liveWorkers() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("rlhf4j-cpu-")).count();
    }

    @Test
    void poolDoesNotGrowBeyondItsParallelism() {
        // A fresh pool of 2 (the machine's core count in CI).
        Parallel.setThreads(1);
        Parallel.setThreads(2);
        // Parallel GEMMs: their workers join stolen halves and spin on shared panels, which is where a plain
        // ForkJoinPool added a compensating third worker on a 2-core machine.
        int n = 1024;
        float[] x = new float[n * n], y = new float[n * n], z = new float[n * n];
        java.util.Arrays.fill(x, 1f);
        java.util.Arrays.fill(y, 2f);
        for (int round = 0; round < 12; round++) {
            CpuGemm.sgemm(1, n, n, n, 1f, x, 0, 0, n, 1, y, 0, 0, n, 1, 0f, z, 0, 0, n, 1);
        }
        assertEquals(2f * n, z[n * n - 1]);
        // The old pool's workers may still be shutting down; count those of the current one.
        long workers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("rlhf4j-cpu-")
                        && t instanceof java.util.concurrent.ForkJoinWorkerThread
                        && ((java.util.concurrent.ForkJoinWorkerThread) t).getPool().getParallelism() == 2
                        && !((java.util.concurrent.ForkJoinWorkerThread) t).getPool().isShutdown())
                .count();
        assertTrue(workers <= 2, "the pool of 2 has " + workers + " workers");
        assertTrue(liveWorkers() >= 1, "no worker ran at all");
    }
}
