package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link WarmUp#untilFlat}: when it stops, on batches whose time is made up (spins of known length). */
class WarmUpTest {
    private static void spinMicros(long micros) {
        long end = System.nanoTime() + micros * 1000;
        while (System.nanoTime() < end) Thread.onSpinWait();
    }

    @Test
    void stopsFourBatchesAfterTheTimeStopsFalling() {
        // 10 batches from 3 ms down to 0.3 ms, then 0.3 ms for good
        AtomicInteger batches = new AtomicInteger();
        WarmUp.untilFlat(() -> {
            int i = batches.getAndIncrement();
            spinMicros(i < 10 ? 3000 - 300 * i : 300);
        }, 5, 10_000_000_000L);
        // flat from batch 10 on: batches 10..13 count as flat only if 10 beat the best by no more than 3%, which
        // it does not (it is the new best), so the earliest stop is after batch 14; noise can add a few
        int ran = batches.get();
        assertTrue(ran >= 14 && ran <= 40, "ran " + ran + " batches");
    }

    @Test
    void runsAtLeastTheMinimumNumberOfBatches() {
        AtomicInteger batches = new AtomicInteger();
        WarmUp.untilFlat(() -> {
            batches.incrementAndGet();
            spinMicros(200);
        }, 30, 10_000_000_000L);
        assertTrue(batches.get() >= 34, "ran " + batches.get() + " batches");
    }

    @Test
    void stopsAtTheTimeLimitWhenTheTimeKeepsFalling() {
        // each batch 10% shorter than the one before, from 20 ms: never flat
        AtomicInteger batches = new AtomicInteger();
        long start = System.nanoTime();
        double millis = WarmUp.untilFlat(() -> {
            int i = batches.getAndIncrement();
            spinMicros((long) (20_000 * Math.pow(0.9, i)));
        }, 0, 100_000_000L);
        double elapsed = (System.nanoTime() - start) / 1e6;
        assertTrue(millis >= 100 && millis <= 150, "took " + millis + " ms by its count");
        assertTrue(elapsed >= 100 && elapsed <= 200, "took " + elapsed + " ms");
    }
}
