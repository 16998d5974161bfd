package org.rlhf4j.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Bad input: one line on stderr saying what was expected and found, a non-zero exit, no finished-looking output. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
    @TempDir
    static Path dir;

    Path config, sftData, modelDir;

    @BeforeAll
    void setUp() throws IOException {
        config = Cli.tinyConfig(dir);
        sftData = Cli.sftData(dir, 16);
        modelDir = dir.resolve("model");
        Cli.run("sft", "--config", config, "--dataset", sftData, "--max-steps", "1", "--quiet", "--output-dir", modelDir).assertOk();
    }

    Cli.Result sft(Path out, Object... extra) {
        Object[] args = {"sft", "--config", config, "--dataset", sftData, "--max-steps", "4", "--save-steps", "2",
                "--quiet", "--output-dir", out};
        return Cli.run(SubcommandsTest.concat(args, extra));
    }

    @Test
    void missingFile() {
        Path out = dir.resolve("missing");
        Cli.run("sft", "--config", config, "--dataset", dir.resolve("nope.jsonl"), "--output-dir", out)
                .assertFailure(1, "--dataset", "nope.jsonl", "no such file");
        assertFalse(Files.exists(out), "nothing is written for a run that cannot start");
        Cli.run("generate", "--model", dir.resolve("no-model"), "hi").assertFailure(1, "no-model", "no such directory");
        Cli.run("score", "--model", modelDir, "--input", dir.resolve("none.jsonl")).assertFailure(1, "none.jsonl", "no such file");
    }

    @Test
    void unreadableFile() throws IOException {
        Path file = Cli.write(dir.resolve("locked.jsonl"), "{\"prompt\": \"a\", \"completion\": \"b\"}\n");
        assertTrue(file.toFile().setReadable(false, false));
        try {
            org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(file),
                    "this user (root?) reads files without read permission: no unreadable file to test with");
            sft(dir.resolve("locked")).assertFailure(1, "locked.jsonl", "not readable");
        } finally {
            file.toFile().setReadable(true, false);
        }
    }

    @Test
    void malformedJsonlLineNamesFileAndLine() throws IOException {
        Path bad = Cli.write(dir.resolve("bad.jsonl"), "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\", \"completion\n");
        Cli.run("sft", "--config", config, "--dataset", bad, "--output-dir", dir.resolve("bad"))
                .assertFailure(1, "bad.jsonl:2:", "invalid JSON");
        Path wrongLayout = Cli.write(dir.resolve("layout.jsonl"), "{\"prompt\": \"a\"}\n");
        Cli.run("dpo", "--model", modelDir, "--dataset", wrongLayout, "--output-dir", dir.resolve("layout"))
                .assertFailure(1, "layout.jsonl:1:", "missing field \"chosen\"");
        Path badTokens = Cli.write(dir.resolve("tokens.jsonl"), "{\"tokens\": [1, 2]}\n{\"tokens\": [1, 999]}\n");
        Cli.run("score", "--model", modelDir, "--input", badTokens).assertFailure(1, "tokens.jsonl:2:", "tokens[1]", "999");
    }

    @Test
    void unknownOptionAndOutOfRangeValues() {
        sft(dir.resolve("bogus"), "--bogus").assertFailure(2, "Unknown option: '--bogus'", "rlhf4j sft --help");
        Cli.run("frobnicate").assertFailure(2, "frobnicate");
        sft(dir.resolve("lr"), "--learning-rate", "-1").assertFailure(2, "--learning-rate must be > 0, found -1.0");
        Cli.run("grpo", "--model", modelDir, "--dataset", sftData, "--reward-funcs", "arithmetic", "--num-generations", "3",
                "--per-device-train-batch-size", "8", "--output-dir", dir.resolve("g"))
                .assertFailure(2, "--per-device-train-batch-size 8 must be a multiple of --num-generations 3");
        Cli.run("dpo", "--model", modelDir, "--dataset", sftData, "--loss-type", "magic", "--output-dir", dir.resolve("d"))
                .assertFailure(2, "--loss-type must be one of [sigmoid, robust, hinge, ipo], found magic");
        sft(dir.resolve("steps"), "--num-train-epochs", "abc").assertFailure(2, "--num-train-epochs", "abc");
        assertFalse(Files.exists(dir.resolve("lr")));
    }

    @Test
    void corruptCheckpoint() throws IOException {
        Path out = dir.resolve("corrupt");
        TrainingRun.failAfterStep = 3;
        try {
            sft(out).assertFailure(1, "simulated failure");
        } finally {
            TrainingRun.failAfterStep = -1;
        }
        Path checkpoint = out.resolve("checkpoints/checkpoint-2.safetensors");
        byte[] bytes = Files.readAllBytes(checkpoint);
        bytes[bytes.length - 5] ^= 0x40; // a flipped bit in the tensor data
        Files.write(checkpoint, bytes);
        sft(out, "--resume").assertFailure(1, "checkpoint-2.safetensors");
        assertFalse(Files.exists(out.resolve("config.json")));

        Files.write(checkpoint, java.util.Arrays.copyOf(bytes, 100)); // truncated
        sft(out, "--resume").assertFailure(1, "checkpoint-2.safetensors");
    }

    @Test
    void mismatchedCheckpoint() throws IOException {
        Path out = dir.resolve("mismatch");
        TrainingRun.failAfterStep = 3;
        try {
            sft(out).assertFailure(1, "simulated failure");
        } finally {
            TrainingRun.failAfterStep = -1;
        }
        sft(out, "--resume", "--learning-rate", "1e-3").assertFailure(1, "learning_rate", "resume with the same arguments");

        // a checkpoint of another architecture (width 32): caught by the tensor shapes
        Path wide = Cli.write(dir.resolve("wide.json"), Files.readString(config).replace("\"n_embd\": 16", "\"n_embd\": 32"));
        assertTrue(Files.readString(wide).contains("\"n_embd\": 32"), "the config changed: " + Files.readString(wide));
        Files.delete(out.resolve(TrainingRun.ARGS_FILE));
        Cli.run("sft", "--config", wide, "--dataset", sftData, "--max-steps", "4", "--save-steps", "2", "--quiet",
                "--output-dir", out, "--resume").assertFailure(1, "checkpoint-2.safetensors", "does not fit this run");

        // a checkpoint of another command
        Path other = dir.resolve("other");
        Files.createDirectories(other.resolve("checkpoints"));
        Files.copy(out.resolve("checkpoints/checkpoint-2.safetensors"), other.resolve("checkpoints/checkpoint-2.safetensors"),
                StandardCopyOption.REPLACE_EXISTING);
        Cli.run("dpo", "--model", modelDir, "--dataset", Cli.preferenceData(dir, 8), "--max-steps", "4", "--quiet",
                "--output-dir", other, "--resume").assertFailure(1, "a checkpoint of 'sft', not of 'dpo'");
    }

    @Test
    void corruptModelDirectory() throws IOException {
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(modelDir.resolve("config.json"), broken.resolve("config.json"));
        byte[] weights = Files.readAllBytes(modelDir.resolve("model.safetensors"));
        Files.write(broken.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
        Cli.run("generate", "--model", broken, "hello").assertFailure(1, "model.safetensors");
        Cli.write(broken.resolve("config.json"), "{\"n_embd\": 16,");
        Cli.run("score", "--model", broken, "--input", Cli.write(dir.resolve("one.jsonl"), "{\"tokens\": [1, 2]}\n"))
                .assertFailure(1, "config.json", "malformed JSON");
    }

    @Test
    void finishedOutputDirectoryIsNotOverwritten() throws IOException {
        sft(modelDir).assertFailure(1, "holds a finished earlier run", "--overwrite-output-dir");
        sft(modelDir, "--resume").assertFailure(1, "nothing to resume");
        assertTrue(Files.exists(modelDir.resolve("config.json")), "the finished run is untouched");
        Cli.run("sft", "--config", config, "--dataset", Cli.write(dir.resolve("broken.jsonl"), "{\"text\": 1}\n"),
                "--overwrite-output-dir", "--quiet", "--output-dir", modelDir).assertFailure(1, "broken.jsonl:1:");
        assertTrue(Files.exists(modelDir.resolve("config.json")), "--overwrite-output-dir with bad input keeps the earlier run");
    }
}
