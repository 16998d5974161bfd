package org.rlhf4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.transformer.gpt.Gpt;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What the five training commands share: the output directory, the device and precision, and the run loop. */
abstract class TrainCommand implements Callable<Integer> {
    @Mixin
    RunOptions run;

    @Mixin
    DeviceOptions devices;

    @Spec
    CommandSpec spec;

    /** Checks the options (usage errors) and the input files (before any directory is touched). */
    abstract void validate();

    /** The resolved hyper-parameters and inputs, for training_args.json. */
    abstract Map<String, Object> arguments();

    /**
     * Loads models and data, moves every model to {@link #device()} and builds the trainer (whose optimizer then
     * holds its state on that device).
     */
    abstract TrainingRun.Session open() throws Exception;

    /** The precision of the config (parsed in {@link #validate}, where the config is built). */
    final Precision precision() {
        return devices.precision(spec);
    }

    /** Where the models go: resolved before anything is loaded. */
    final Device device() {
        return devices.device();
    }

    /** Every model {@link #open} moved to the device (a {@link Gpt} or a {@link RewardModel}), in order. */
    final List<Object> placedModels = new ArrayList<>();

    /** Moves a loaded model to the device, before any trainer or optimizer sees it; returns it. */
    final Gpt onDevice(Gpt model) {
        placedModels.add(model.to(device()));
        return model;
    }

    final RewardModel onDevice(RewardModel model) {
        placedModels.add(ModelFiles.onDevice(model, device()));
        return model;
    }

    /** The metrics of the finished run (for callers such as the demo). */
    List<Map<String, Object>> metrics = List.of();

    @Override
    public Integer call() throws Exception {
        devices.check(spec);
        validate();
        devices.resolve(spec); // a GPU that cannot be used fails here, before any file is read or written
        Map<String, Object> arguments = new LinkedHashMap<>(arguments());
        arguments.put("precision", precision().label()); // a resume must keep it; the device may change
        TrainingRun training = new TrainingRun(spec.name(), run, device(), arguments, Streams.out(), Streams.err());
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
