package org.rlhf4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.rlhf4j.rl.metrics.MetricsLog;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.io.TrainingCheckpoint;

/**
 * One training command's run in its output directory:
 *
 * <pre>
 *   training_args.json                     the resolved configuration (written first)
 *   metrics.jsonl                          one line per step, TRL's metric names
 *   checkpoints/checkpoint-STEP.safetensors the latest checkpoint, every --save-steps steps (removed at the end)
 *   plots/*.png                            the main curves
 *   model.safetensors, config.json         the model in Hugging Face's layout (+ tokenizer files), written last
 * </pre>
 *
 * {@code config.json} is the last file written, atomically, so a directory with it holds a finished run and one
 * without it does not. {@code --resume} reloads the latest checkpoint, checks that it was written by the same
 * command with the same arguments, drops the metrics lines after it and continues. The {@code run} section of
 * training_args.json (output directory, save steps, device) is not compared: a run written on a GPU may continue on
 * the CPU and the other way round (checkpoints hold host tensors, loaded onto the models' device).
 */
final class TrainingRun {
    static final String ARGS_FILE = "training_args.json";
    static final String METRICS_FILE = "metrics.jsonl";
    static final String CHECKPOINT_DIR = "checkpoints";
    static final String PLOT_DIR = "plots";
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-(\\d+)\\.safetensors");

    /** What a training command plugs into the run. */
    interface Session {
        long totalSteps();

        long step();

        /** One optimizer step (or RL iteration); its metrics, with "step". */
        Map<String, Object> trainStep();

        /** Tensors of every trained model, by name. */
        Map<String, Tensor> modelState();

        Map<String, Tensor> optimizerState();

        long optimizerSteps();

        /** Random generators whose state must survive a resume (dropout), by name. */
        default Map<String, Generator> generators() {
            return Map.of();
        }

        /** The trainer's own position (epoch, cursor, KL coefficient, ...), as JSON values. */
        Map<String, Object> trainerState();

        /** Restores models, optimizer and trainer from a checkpoint; IllegalArgumentException when it does not fit. */
        void restore(TrainingCheckpoint checkpoint, long optimizerSteps, Map<String, Object> trainerState);

        /** Writes the trained model to {@code dir} in HF format, config.json last. */
        void saveModel(Path dir) throws IOException;

        List<Plots.Plot> plots();

        /** The few metrics the progress bar shows. */
        String progress(Map<String, Object> metrics);
    }

    /** Tests set this to make a run fail right after the given step, as a crash would (-1: never). */
    static volatile long failAfterStep = -1;
    /** For tests: the plots fail as they do on a machine without fonts. */
    static volatile boolean failPlots = false;

    private final String command;
    private final RunOptions options;
    private final Device device;
    private final Map<String, Object> arguments;
    private final PrintStream out, err;

    /**
     * {@code arguments}: the resolved configuration; a resume must find the same in training_args.json.
     * {@code device}: where the models are, recorded with the run options.
     */
    TrainingRun(String command, RunOptions options, Device device, Map<String, Object> arguments, PrintStream out,
                PrintStream err) {
        this.command = command;
        this.options = options;
        this.device = device;
        this.arguments = arguments;
        this.out = out;
        this.err = err;
    }

    Path dir() {
        return options.outputDir;
    }

    /**
     * Checks the output directory before any work is done (so that a bad directory fails fast): a finished run,
     * or an unfinished one without --resume, is refused unless --overwrite-output-dir.
     */
    void prepare() throws IOException {
        Path dir = options.outputDir;
        if (options.saveSteps < 1) throw new CliException("--save-steps must be >= 1, found " + options.saveSteps);
        if (options.resume && options.overwrite) throw new CliException("--resume and --overwrite-output-dir contradict each other");
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new CliException("--output-dir " + dir + ": is not a directory");
        boolean finished = Files.exists(dir.resolve(ModelDirectory.CONFIG_FILE));
        boolean earlier = finished || Files.exists(dir.resolve(METRICS_FILE)) || Files.exists(dir.resolve(ARGS_FILE))
                || latestCheckpoint() != null;
        if (options.overwrite) {
            // cleaned in run(), once models and data have loaded: a bad input leaves the earlier run alone
        } else if (options.resume) {
            if (finished) {
                throw new CliException("--resume: " + dir + " holds a finished run (it has config.json); nothing to resume");
            }
            if (latestCheckpoint() == null) {
                throw new CliException("--resume: no checkpoint in " + dir.resolve(CHECKPOINT_DIR)
                        + " (expected checkpoint-STEP.safetensors)");
            }
        } else if (earlier) {
            throw new CliException("--output-dir " + dir + " holds " + (finished ? "a finished" : "an unfinished")
                    + " earlier run; pass --resume to continue it or --overwrite-output-dir to start over");
        }
    }

    /** Removes the files a run writes (and nothing else). */
    private void clean() throws IOException {
        Path dir = options.outputDir;
        if (!Files.isDirectory(dir)) return;
        Files.deleteIfExists(dir.resolve(ModelDirectory.CONFIG_FILE)); // first: the directory stops looking finished
        for (String f : new String[] {ModelDirectory.WEIGHTS_FILE, METRICS_FILE, ARGS_FILE, "vocab.json", "merges.txt"}) {
            Files.deleteIfExists(dir.resolve(f));
        }
        deleteMatching(dir.resolve(CHECKPOINT_DIR), "checkpoint-*.safetensors");
        deleteMatching(dir.resolve(PLOT_DIR), "*.png");
    }

    private static void deleteMatching(Path dir, String glob) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
            for (Path f : files) Files.deleteIfExists(f);
        }
    }

    private Path latestCheckpoint() throws IOException {
        Path dir = options.outputDir.resolve(CHECKPOINT_DIR);
        if (!Files.isDirectory(dir)) return null;
        Path best = null;
        long bestStep = -1;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "checkpoint-*.safetensors")) {
            for (Path f : files) {
                Matcher m = CHECKPOINT.matcher(f.getFileName().toString());
                if (m.matches() && Long.parseLong(m.group(1)) > bestStep) {
                    bestStep = Long.parseLong(m.group(1));
                    best = f;
                }
            }
        }
        return best;
    }

    /** Runs the session to its end and writes everything; returns the metrics of the whole run (earlier lines too). */
    List<Map<String, Object>> run(Session session) throws IOException {
        Path dir = options.outputDir;
        if (options.overwrite) clean();
        Files.createDirectories(dir);
        Map<String, Object> resolved = new LinkedHashMap<>();
        resolved.put("command", command);
        resolved.putAll(arguments);
        Map<String, Object> runOptions = options.describe();
        runOptions.put("device", device.toString());
        resolved.put("run", runOptions);
        if (options.resume) resume(session, resolved);
        byte[] json = (JsonLines.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(resolved) + "\n")
                .getBytes(StandardCharsets.UTF_8);
        writeAtomically(dir.resolve(ARGS_FILE), json);

        long total = session.totalSteps();
        try (MetricsLog log = MetricsLog.appendTo(dir.resolve(METRICS_FILE));
             Progress progress = Progress.start(command, total, session.step(), options.quiet, err)) {
            while (session.step() < total) {
                Map<String, Object> m = session.trainStep();
                log.accept(m);
                progress.stepTo(session.step(), session.progress(m));
                if (session.step() % options.saveSteps == 0 && session.step() < total) saveCheckpoint(session);
                if (session.step() == failAfterStep) throw new IllegalStateException("simulated failure after step " + failAfterStep);
            }
        }
        List<Map<String, Object>> metrics = MetricsLog.read(dir.resolve(METRICS_FILE));
        try {
            if (failPlots) throw new InternalError("simulated plot failure");
            Plots.write(dir.resolve(PLOT_DIR), metrics, session.plots());
        } catch (Exception | LinkageError | InternalError e) {
            // a server without fonts (AWT draws the axis labels) must not cost the trained model
            err.println(command + ": warning: no plots (" + e + "); metrics.jsonl has every value");
        }
        session.saveModel(dir);
        deleteMatching(dir.resolve(CHECKPOINT_DIR), "checkpoint-*.safetensors");
        try {
            Files.deleteIfExists(dir.resolve(CHECKPOINT_DIR));
        } catch (java.nio.file.DirectoryNotEmptyException e) {
            // files of the user's own in there: leave the directory
        }
        if (!options.quiet) {
            Map<String, Object> last = metrics.isEmpty() ? Map.of() : metrics.get(metrics.size() - 1);
            out.println(command + ": " + session.step() + " steps; " + session.progress(last) + "; wrote " + dir);
        }
        return metrics;
    }

    private void saveCheckpoint(Session session) throws IOException {
        Path dir = options.outputDir.resolve(CHECKPOINT_DIR);
        Files.createDirectories(dir);
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("command", command);
        metadata.put("optimizer_step", session.optimizerSteps());
        metadata.put("trainer", session.trainerState());
        Path file = dir.resolve("checkpoint-" + session.step() + ".safetensors");
        Map<String, Generator.State> generators = new LinkedHashMap<>();
        for (var e : session.generators().entrySet()) generators.put(e.getKey(), e.getValue().state());
        TrainingCheckpoint checkpoint = new TrainingCheckpoint(session.modelState(), session.optimizerState(), session.step(),
                generators, metadata);
        checkpoint.save(file);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "checkpoint-*.safetensors")) {
            for (Path f : files) if (!f.equals(file)) Files.deleteIfExists(f);
        }
    }

    @SuppressWarnings("unchecked")
    private void resume(Session session, Map<String, Object> resolved) throws IOException {
        Path dir = options.outputDir;
        Path argsFile = dir.resolve(ARGS_FILE);
        String savedDevice = null;
        if (Files.exists(argsFile)) {
            JsonNode saved;
            try {
                saved = JsonLines.JSON.readTree(Files.readAllBytes(argsFile));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new CliException(argsFile + ": malformed JSON: " + e.getOriginalMessage());
            }
            JsonNode now = JsonLines.JSON.readTree(JsonLines.JSON.writeValueAsString(resolved)); // numbers typed as on disk
            if (saved instanceof ObjectNode s && now instanceof ObjectNode n) {
                JsonNode savedRun = s.get("run");
                if (savedRun != null && savedRun.get("device") != null) savedDevice = savedRun.get("device").asText();
                if (!s.has("precision")) s.put("precision", "f32"); // written before there was a choice
                s.remove("run");
                n.remove("run");
                for (var it = n.fields(); it.hasNext(); ) {
                    var e = it.next();
                    if (!e.getValue().equals(s.get(e.getKey()))) {
                        throw new CliException("--resume: " + argsFile + " has " + e.getKey() + " = " + s.get(e.getKey())
                                + " but this command has " + e.getValue() + "; resume with the same arguments");
                    }
                }
            }
        }
        Path file = latestCheckpoint();
        TrainingCheckpoint checkpoint = TrainingCheckpoint.load(file);
        Object writer = checkpoint.metadata().get("command");
        if (!command.equals(writer)) {
            throw new CliException(file + ": a checkpoint of '" + writer + "', not of '" + command + "'");
        }
        if (!(checkpoint.metadata().get("optimizer_step") instanceof Number optimizerSteps)
                || !(checkpoint.metadata().get("trainer") instanceof Map<?, ?> trainer)) {
            throw new CliException(file + ": checkpoint metadata lacks optimizer_step or trainer");
        }
        if (checkpoint.step() > session.totalSteps()) {
            throw new CliException(file + ": checkpoint at step " + checkpoint.step() + " is past this run's "
                    + session.totalSteps() + " steps");
        }
        try {
            session.restore(checkpoint, optimizerSteps.longValue(), (Map<String, Object>) trainer);
        } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
            throw new CliException(file + ": does not fit this run: " + e.getMessage(), e);
        }
        truncateMetrics(dir.resolve(METRICS_FILE), checkpoint.step());
        if (!options.quiet) {
            String moved = savedDevice == null || savedDevice.equals(device.toString()) ? ""
                    : ", written on " + savedDevice + ", continuing on " + device;
            out.println(command + ": resuming from " + file + " (step " + checkpoint.step() + moved + ")");
        }
    }

    /** Keeps the metrics lines up to {@code step}: the steps after the checkpoint run again. */
    private static void truncateMetrics(Path file, long step) throws IOException {
        if (!Files.exists(file)) return;
        List<String> kept = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Map<String, Object>> parsed = MetricsLog.read(file);
        int p = 0;
        for (String line : lines) {
            if (line.isBlank()) continue;
            Object s = parsed.get(p++).get("step");
            if (s instanceof Number n && n.longValue() <= step) kept.add(line);
        }
        writeAtomically(file, (kept.isEmpty() ? "" : String.join("\n", kept) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
