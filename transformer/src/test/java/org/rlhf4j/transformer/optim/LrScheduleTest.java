package org.rlhf4j.transformer.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    private static final double LR = 1e-3;
    private static final double TOL = 1e-15;

    @Test
    void cosineWarmsUpLinearlyThenFollowsHalfACosineToZero() {
        LrSchedule s = LrSchedule.cosine(LR, 10, 110);
        assertEquals(0.0, s.at(0), TOL);                     // first update: lr 0, as HF
        assertEquals(5e-4, s.at(5), TOL);                    // mid-warmup: 5/10
        assertEquals(1e-3, s.at(10), TOL);                   // end of warmup: progress 0
        assertEquals(LR * 0.5 * (1 + Math.sqrt(0.5)), s.at(35), TOL); // progress 1/4: cos(pi/4)
        assertEquals(5e-4, s.at(60), TOL);                   // middle: progress 1/2
        assertEquals(0.0, s.at(110), TOL);                   // end
        assertEquals(0.0, s.at(500), TOL);                   // stays at the minimum after the end
    }

    @Test
    void cosineWithAMinimumRatioEndsAtThatFraction() {
        LrSchedule s = LrSchedule.cosine(LR, 10, 110, 0.1);
        assertEquals(0.0, s.at(0), TOL);
        assertEquals(5e-4, s.at(5), TOL);
        assertEquals(1e-3, s.at(10), TOL);
        assertEquals(5.5e-4, s.at(60), TOL);                 // 0.1 + 0.9 * 0.5
        assertEquals(1e-4, s.at(110), TOL);
        assertEquals(1e-4, s.at(1000), TOL);
    }

    @Test
    void cosineWithoutWarmupStartsAtThePeak() {
        LrSchedule s = LrSchedule.cosine(LR, 0, 100);
        assertEquals(1e-3, s.at(0), TOL);
        assertEquals(5e-4, s.at(50), TOL);
    }

    @Test
    void linearDecaysToZeroAtTheEnd() {
        LrSchedule s = LrSchedule.linear(LR, 10, 110);
        assertEquals(0.0, s.at(0), TOL);
        assertEquals(5e-4, s.at(5), TOL);
        assertEquals(1e-3, s.at(10), TOL);
        assertEquals(5e-4, s.at(60), TOL);
        assertEquals(2.5e-4, s.at(85), TOL);
        assertEquals(0.0, s.at(110), TOL);
        assertEquals(0.0, s.at(150), TOL);
    }

    @Test
    void constantIsConstantAfterItsWarmup() {
        LrSchedule plain = LrSchedule.constant(LR);
        assertEquals(1e-3, plain.at(0), TOL);
        assertEquals(1e-3, plain.at(1_000_000), TOL);
        LrSchedule warm = LrSchedule.constantWithWarmup(LR, 4);
        assertEquals(0.0, warm.at(0), TOL);
        assertEquals(5e-4, warm.at(2), TOL);
        assertEquals(1e-3, warm.at(4), TOL);
        assertEquals(1e-3, warm.at(400), TOL);
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(LR, 20, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(LR, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(LR, 0, 10, 1.5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.linear(-LR, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(LR).at(-1));
    }
}
