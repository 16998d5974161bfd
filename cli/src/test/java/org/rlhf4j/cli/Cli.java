package org.rlhf4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.rlhf4j.rl.data.Datasets;
import org.rlhf4j.rl.data.PreferenceRecord;
import org.rlhf4j.rl.data.PromptRecord;
import org.rlhf4j.rl.data.SftRecord;
import org.rlhf4j.rl.metrics.MetricsLog;
import org.rlhf4j.rl.tasks.Arithmetic;
import org.rlhf4j.rl.tasks.SyntheticSentiment;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

/** Runs the command in-process, capturing its streams, and makes tiny inputs for it. */
final class Cli {
    record Result(int exitCode, String out, String err) {
        List<String> errLines() {
            return err.isEmpty() ? List.of() : List.of(err.split("\n"));
        }

        /** Asserts a failure: the exit code and exactly one line on stderr, containing each of {@code parts}. */
        void assertFailure(int code, String... parts) {
            assertEquals(code, exitCode, () -> "exit code; stderr: " + err + "; stdout: " + out);
            assertEquals(1, errLines().size(), () -> "one line on stderr, found: " + err);
            for (String p : parts) {
                if (!err.contains(p)) throw new AssertionError("stderr '" + err.strip() + "' does not contain '" + p + "'");
            }
        }

        void assertOk() {
            assertEquals(0, exitCode, () -> "exit code; stderr: " + err);
        }
    }

    private Cli() {}

    static Result run(Object... args) {
        String[] argv = new String[args.length];
        for (int i = 0; i < args.length; i++) argv[i] = args[i].toString();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(o, e, argv);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static final ByteTokenizer TOK = new ByteTokenizer();

    /** A tiny byte-level GPT-2 config: 1 layer, width 16, context 48. */
    static Path tinyConfig(Path dir) throws IOException {
        Path file = dir.resolve("tiny-config.json");
        new HfConfig(TOK.vocabSize(), 48, 16, 1, 2, 1e-5, 0.0, 0.0, 0.0, "gelu_new", TOK.eosId(), TOK.eosId()).write(file);
        return file;
    }

    static Path sftData(Path dir, int n) throws IOException {
        List<SftRecord> records = new ArrayList<>();
        for (String[] p : new SyntheticSentiment().sftCorpus(n, 1)) records.add(SftRecord.of(p[0], p[1]));
        Path file = dir.resolve("sft.jsonl");
        Datasets.writeSft(file, records);
        return file;
    }

    static Path preferenceData(Path dir, int n) throws IOException {
        List<PreferenceRecord> records = new ArrayList<>();
        List<String> prompts = new SyntheticSentiment().prompts(n, 2);
        for (int i = 0; i < n; i++) records.add(new PreferenceRecord(prompts.get(i), " great and fun.", " awful and dull."));
        Path file = dir.resolve("prefs.jsonl");
        Datasets.writePreferences(file, records);
        return file;
    }

    static Path sentimentPrompts(Path dir, int n) throws IOException {
        List<PromptRecord> records = new ArrayList<>();
        for (String p : new SyntheticSentiment().prompts(n, 3)) records.add(new PromptRecord(p));
        Path file = dir.resolve("prompts.jsonl");
        Datasets.writePrompts(file, records);
        return file;
    }

    static Path arithmeticPrompts(Path dir, int n) throws IOException {
        List<PromptRecord> records = new ArrayList<>();
        for (String p : new Arithmetic(9, false).prompts(n, 4)) records.add(new PromptRecord(p));
        Path file = dir.resolve("sums.jsonl");
        Datasets.writePrompts(file, records);
        return file;
    }

    static List<Map<String, Object>> metrics(Path runDir) throws IOException {
        return MetricsLog.read(runDir.resolve(TrainingRun.METRICS_FILE));
    }

    static Path write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }
}
