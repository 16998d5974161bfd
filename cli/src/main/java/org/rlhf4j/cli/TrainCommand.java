package org.rlhf4j.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What the five training commands share: the output directory and the run loop. */
abstract class TrainCommand implements Callable<Integer> {
    @Mixin
    RunOptions run;

    @Spec
    CommandSpec spec;

    /** Checks the options (usage errors) and the input files (before any directory is touched). */
    abstract void validate();

    /** The resolved hyper-parameters and inputs, for training_args.json. */
    abstract Map<String, Object> arguments();

    /** Loads models and data and builds the trainer. */
    abstract TrainingRun.Session open() throws Exception;

    /** The metrics of the finished run (for callers such as the demo). */
    List<Map<String, Object>> metrics = List.of();

    @Override
    public Integer call() throws Exception {
        validate();
        TrainingRun training = new TrainingRun(spec.name(), run, arguments(), Streams.out(), Streams.err());
        training.prepare();
        TrainingRun.Session session = open();
        metrics = training.run(session);
        return Main.EXIT_OK;
    }

    static String fmt(Map<String, Object> m, String key, String label) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) return "";
        return label + " " + String.format(java.util.Locale.ROOT, "%.4g", n.doubleValue());
    }

    static String join(String... parts) {
        StringBuilder b = new StringBuilder();
        for (String p : parts) {
            if (p.isEmpty()) continue;
            if (b.length() > 0) b.append(", ");
            b.append(p);
        }
        return b.toString();
    }
}
