package org.rlhf4j.benchmarks;

import java.util.Map;

/**
 * What {@link Report} needs to turn a JMH benchmark class into a table: the unit of its rate column and the
 * work one benchmark call does. The method named {@link #ours()} is rlhf4j; every other {@code @Benchmark}
 * method of the class is a peer measured in the same run, and the table shows the ratio to each peer.
 * A benchmark class implements this and keeps a public no-argument constructor (JMH requires one anyway).
 */
public interface Reported {
    /** The rate unit, for example {@code "GFLOP/s"} or {@code "GB/s"}. */
    String unit();

    /** Work per benchmark call in the unit's numerator (GFLOP, GB, ...), given the run's {@code @Param}s. */
    double workPerOp(Map<String, String> params);

    /** Name of the {@code @Benchmark} method that measures rlhf4j. */
    default String ours() {
        return "rlhf4j";
    }
}
