package org.rlhf4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where a training command writes, and how it treats what is already there. */
final class RunOptions {
    @Option(names = "--output-dir", required = true, paramLabel = "DIR",
            description = "Directory for the model (HF format), metrics.jsonl, plots, training_args.json and checkpoints.")
    Path outputDir;

    @Option(names = {"--resume", "--resume-from-checkpoint"},
            description = "Continue from the last checkpoint in the output directory (same arguments required; --device may differ).")
    boolean resume;

    @Option(names = "--overwrite-output-dir", description = "Delete an earlier run's files in the output directory first.")
    boolean overwrite;

    @Option(names = "--save-steps", defaultValue = "500", paramLabel = "N",
            description = "Write a checkpoint every N steps (default: ${DEFAULT-VALUE}).")
    int saveSteps;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar and no summary.")
    boolean quiet;

    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("output_dir", outputDir.toString());
        m.put("save_steps", saveSteps);
        return m;
    }
}
