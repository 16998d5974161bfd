package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * After their class-initialization warm-ups ({@link WarmUp}), the compiled e^x loops of GELU and attention
 * allocate no vectors. Runs in a JVM of its own (a separate Surefire execution), as an application's first use
 * of the kernels would: in the JVM of the whole suite, after many other tests have run these kernels (and the
 * Vector API's shared code) at other sizes and thread counts, C2 has been seen to recompile tanh with its vectors
 * boxed (86 bytes per element), which is an open problem (benchmarks/RESULTS.md).
 */
class WarmedKernelsTest {
    @BeforeEach
    void needsTheVectorApi() {
        assumeTrue(Simd.ENABLED, "the Vector API kernels are off");
    }

    private static float[] ramp(float lo, float hi, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * i / (n - 1);
        return x;
    }

    /**
     * Bytes this thread allocates per element of {@code run}, once compiled: the run is repeated (up to 20 s) until
     * a window of 50 calls comes under {@code limit}, and the last window is returned. A C2 compile that boxes
     * its vectors allocates 40 or more bytes per element on every call.
     */
    private static double allocatedPerElement(Runnable run, int elements, double limit) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM does not count allocated bytes per thread");
        long deadline = System.nanoTime() + 20_000_000_000L;
        double perElement;
        do {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 50; i++) run.run();
            perElement = (threads.getCurrentThreadAllocatedBytes() - before) / (50.0 * elements);
        } while (perElement >= limit && System.nanoTime() < deadline);
        return perElement;
    }

    @Test
    void compiledEAndTanhLoopsAllocateOnlyTheirScratch() {
        // GELU's path: tanh over whole blocks (one 4 KiB scratch block per call) and e^x (one small lambda)
        int n = 4 * VectorMath.BLOCK;
        float[] x = ramp(-12f, 12f, n), y = new float[n];
        double tanh = allocatedPerElement(() -> VectorMath.tanh(x, 0, y, 0, n), n, 1.5);
        assertTrue(tanh < 1.5, "tanh allocates " + tanh + " bytes per element once compiled");
        double exp = allocatedPerElement(() -> VectorMath.exp(x, 0, y, 0, n, 1f, 0f), n, 0.1);
        assertTrue(exp < 0.1, "exp allocates " + exp + " bytes per element once compiled");
    }

    @Test
    void compiledAttentionSoftmaxRowAllocatesNothing() {
        VectorAttentionKernels kernels = new VectorAttentionKernels();
        int n = 256;
        float[] row = ramp(-30f, 0f, n), work = new float[n], lanes = new float[VectorMath.BLOCK];
        double bytes = allocatedPerElement(() -> {
            System.arraycopy(row, 0, work, 0, n);
            kernels.expSubSum(work, 0, n, 0.5f, lanes);
        }, n, 0.1);
        assertTrue(bytes < 0.1, "the softmax row's e^x allocates " + bytes + " bytes per element once compiled");
    }
}
