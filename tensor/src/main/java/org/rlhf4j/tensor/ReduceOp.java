package org.rlhf4j.tensor;

/** Reductions along an axis. MAX and MIN propagate NaN; an empty SUM is 0, an empty MEAN is NaN. */
public enum ReduceOp { SUM, MEAN, MAX, MIN }
