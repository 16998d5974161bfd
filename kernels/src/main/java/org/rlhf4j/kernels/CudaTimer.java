package org.rlhf4j.kernels;

import static org.bytedeco.cuda.global.cudart.*;

import java.util.Arrays;
import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * Times GPU work with CUDA events recorded on the context's stream: the time between {@link #start()} and
 * {@link #stop()} as the device measured it, not the host's view of asynchronous launches. The benchmarks use it
 * instead of JMH, which times the host thread and cannot see when enqueued GPU work ends.
 *
 * <pre>{@code
 * try (CudaTimer t = new CudaTimer(ctx)) {
 *     double ms = t.median(5, 20, () -> backend.copy(dst, src));   // 5 warm-ups, median of 20
 * }
 * }</pre>
 */
public final class CudaTimer implements AutoCloseable {
    private final CudaContext context;
    private final CUevent_st begin = new CUevent_st(), end = new CUevent_st();

    public CudaTimer(CudaContext context) {
        this.context = context;
        context.makeCurrent();
        Driver.check(cuEventCreate(begin, CU_EVENT_DEFAULT), "cuEventCreate");
        Driver.check(cuEventCreate(end, CU_EVENT_DEFAULT), "cuEventCreate");
    }

    public void start() {
        Driver.check(cuEventRecord(begin, context.stream()), "cuEventRecord");
    }

    public void stop() {
        Driver.check(cuEventRecord(end, context.stream()), "cuEventRecord");
    }

    /** Milliseconds between the last start and stop; waits for the stop event. */
    public double elapsedMillis() {
        Driver.check(cuEventSynchronize(end), "cuEventSynchronize");
        float[] ms = new float[1];
        Driver.check(cuEventElapsedTime(ms, begin, end), "cuEventElapsedTime");
        return ms[0];
    }

    /** Runs {@code work} warmups times, then times each of {@code runs} runs alone; returns the median in ms. */
    public double median(int warmups, int runs, Runnable work) {
        for (int i = 0; i < warmups; i++) work.run();
        context.synchronize();
        double[] times = new double[runs];
        for (int i = 0; i < runs; i++) {
            start();
            work.run();
            stop();
            times[i] = elapsedMillis();
        }
        Arrays.sort(times);
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    }

    @Override
    public void close() {
        cuEventDestroy(begin);
        cuEventDestroy(end);
    }
}
