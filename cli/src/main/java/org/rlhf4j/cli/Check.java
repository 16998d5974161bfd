package org.rlhf4j.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** Range checks of option values: a failure is a usage error naming the option, the allowed range and the value. */
final class Check {
    private Check() {}

    private static ParameterException fail(CommandSpec spec, String option, String rule, Object found) {
        return new ParameterException(spec.commandLine(), option + " must be " + rule + ", found " + found);
    }

    static void positive(CommandSpec spec, String option, double v) {
        if (!(v > 0) || Double.isInfinite(v)) throw fail(spec, option, "> 0", v);
    }

    static void nonNegative(CommandSpec spec, String option, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) throw fail(spec, option, ">= 0", v);
    }

    static void atLeast(CommandSpec spec, String option, long v, long min) {
        if (v < min) throw fail(spec, option, ">= " + min, v);
    }

    static void range(CommandSpec spec, String option, double v, double lo, double hi) {
        if (!(v >= lo && v <= hi)) throw fail(spec, option, "in [" + lo + ", " + hi + "]", v);
    }

    /** -1 (unset) or a positive count. */
    static void stepsOrUnset(CommandSpec spec, String option, long v) {
        if (v == 0 || v < -1) throw fail(spec, option, "> 0 (or -1 for unset)", v);
    }

    static void oneOf(CommandSpec spec, String option, String v, String... allowed) {
        if (!Arrays.asList(allowed).contains(v)) throw fail(spec, option, "one of " + List.of(allowed), v);
    }

    /** A library config's own validation failed: report it as a usage error. */
    static ParameterException invalid(CommandSpec spec, IllegalArgumentException e) {
        return new ParameterException(spec.commandLine(), "invalid hyper-parameters: " + e.getMessage());
    }

    /** A trainer state read back from a checkpoint's JSON, as longs. */
    static Map<String, Long> longs(Map<String, Object> state) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (var e : state.entrySet()) {
            if (!(e.getValue() instanceof Number n)) {
                throw new IllegalArgumentException("trainer state '" + e.getKey() + "' is not a number: " + e.getValue());
            }
            out.put(e.getKey(), n.longValue());
        }
        return out;
    }
}
