package org.rlhf4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.io.SafeTensors;

/** Every subcommand end to end on tiny data: what each run leaves behind, generation, and --resume. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubcommandsTest {
    @TempDir
    static Path dir;

    Path config, sftData, prefs, prompts, sftDir, rewardDir;

    @BeforeAll
    void trainSftAndRewardModels() throws IOException {
        config = Cli.tinyConfig(dir);
        sftData = Cli.sftData(dir, 64);
        prefs = Cli.preferenceData(dir, 32);
        prompts = Cli.sentimentPrompts(dir, 16);
        sftDir = dir.resolve("sft");
        Cli.run("sft", "--config", config, "--dataset", sftData, "--learning-rate", "3e-3", "--per-device-train-batch-size", "8",
                "--max-steps", "6", "--quiet", "--output-dir", sftDir).assertOk();
        rewardDir = dir.resolve("reward");
        Cli.run("reward", "--model", sftDir, "--dataset", prefs, "--eval-dataset", prefs, "--learning-rate", "1e-3",
                "--per-device-train-batch-size", "8", "--max-steps", "4", "--quiet", "--output-dir", rewardDir).assertOk();
    }

    /** A finished run: HF model files, one metrics line per step with the given metric, the resolved args, plots. */
    static void assertFinishedRun(Path run, int steps, String metric, String plot) throws IOException {
        assertTrue(Files.isRegularFile(run.resolve(ModelDirectory.CONFIG_FILE)), "config.json in " + run);
        assertTrue(Files.isRegularFile(run.resolve(ModelDirectory.WEIGHTS_FILE)), "model.safetensors in " + run);
        List<Map<String, Object>> metrics = Cli.metrics(run);
        assertEquals(steps, metrics.size(), "metrics.jsonl lines");
        for (int i = 0; i < steps; i++) {
            assertEquals(i + 1, ((Number) metrics.get(i).get("step")).intValue(), "step of line " + (i + 1));
            assertTrue(metrics.get(i).get(metric) instanceof Number, metric + " in line " + (i + 1) + ": " + metrics.get(i));
        }
        JsonNode args = JsonLines.JSON.readTree(run.resolve(TrainingRun.ARGS_FILE).toFile());
        assertTrue(args.has("learning_rate") && args.has("seed"), "training_args.json: " + args);
        byte[] png = Files.readAllBytes(run.resolve(TrainingRun.PLOT_DIR).resolve(plot + ".png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4), plot + ".png is a PNG");
        assertFalse(Files.exists(run.resolve(TrainingRun.CHECKPOINT_DIR)), "checkpoints are removed when the run finishes");
    }

    @Test
    void sftWritesModelMetricsPlotsAndArgs() throws IOException {
        assertFinishedRun(sftDir, 6, "loss", "loss");
        JsonNode args = JsonLines.JSON.readTree(sftDir.resolve(TrainingRun.ARGS_FILE).toFile());
        assertEquals(3e-3, args.get("learning_rate").doubleValue());
        assertEquals(8, args.get("per_device_train_batch_size").intValue());
        assertEquals(1024, args.get("max_length").intValue(), "TRL's default max_length");
        assertEquals("sft", args.get("command").textValue());
        // the saved model loads back, byte-level vocabulary and all
        assertEquals(Cli.TOK.vocabSize(), ModelDirectory.load(sftDir, DType.F32).config().vocabSize());
    }

    @Test
    void rewardWritesASequenceClassificationModel() throws IOException {
        assertFinishedRun(rewardDir, 4, "accuracy", "loss");
        assertTrue(Files.readString(rewardDir.resolve("config.json")).contains("GPT2ForSequenceClassification"));
        RewardModel.load(rewardDir, DType.F32); // loads with its score head
        Map<String, Object> last = Cli.metrics(rewardDir).get(3);
        assertTrue(last.get("eval_accuracy") instanceof Number, "eval metrics at the end: " + last);
    }

    @Test
    void aRunWhosePlotsFailStillSavesItsModelAndSaysWhy() throws IOException {
        Path out = dir.resolve("sft-no-plots");
        TrainingRun.failPlots = true;
        Cli.Result r;
        try {
            r = Cli.run("sft", "--config", config, "--dataset", sftData, "--max-steps", "2", "--quiet", "--output-dir", out);
        } finally {
            TrainingRun.failPlots = false;
        }
        r.assertOk();
        assertTrue(r.err().contains("warning: no plots") && r.err().contains("simulated plot failure"), r.err());
        assertTrue(Files.exists(out.resolve("config.json")) && Files.exists(out.resolve("model.safetensors")));
        assertEquals(2, Cli.metrics(out).size());
    }

    @Test
    void dpoTrainsThePolicyAndLogsTrlMetrics() throws IOException {
        Path out = dir.resolve("dpo");
        Cli.run("dpo", "--model", sftDir, "--dataset", prefs, "--learning-rate", "1e-3", "--per-device-train-batch-size", "8",
                "--max-steps", "3", "--beta", "0.2", "--quiet", "--output-dir", out).assertOk();
        assertFinishedRun(out, 3, "rewards/accuracies", "rewards_margins");
        assertTrue(Cli.metrics(out).get(2).get("rewards/margins") instanceof Number);
        assertNotEquals(SafeTensors.load(sftDir.resolve("model.safetensors")).get("transformer.wte.weight").toDoubleArray()[0],
                SafeTensors.load(out.resolve("model.safetensors")).get("transformer.wte.weight").toDoubleArray()[0],
                "the policy changed");
    }

    @Test
    void ppoTrainsWithTheRewardModel() throws IOException {
        Path out = dir.resolve("ppo");
        Cli.run("ppo", "--model", sftDir, "--reward-model", rewardDir, "--dataset", prompts, "--learning-rate", "1e-3",
                "--per-device-train-batch-size", "4", "--num-mini-batches", "2", "--num-ppo-epochs", "1",
                "--response-length", "8", "--max-steps", "2", "--quiet", "--output-dir", out).assertOk();
        assertFinishedRun(out, 2, "objective/kl", "kl");
        assertTrue(Cli.metrics(out).get(0).get("objective/scores") instanceof Number);
    }

    @Test
    void grpoTrainsWithABuiltInRewardFunction() throws IOException {
        Path out = dir.resolve("grpo");
        Cli.run("grpo", "--model", sftDir, "--dataset", Cli.arithmeticPrompts(dir, 8), "--reward-funcs", "arithmetic",
                "--learning-rate", "1e-3", "--per-device-train-batch-size", "8", "--num-generations", "4",
                "--max-completion-length", "3", "--max-steps", "2", "--beta", "0.05", "--quiet", "--output-dir", out).assertOk();
        assertFinishedRun(out, 2, "reward", "reward");
        assertTrue(Cli.metrics(out).get(1).get("kl") instanceof Number, "kl with beta > 0");
    }

    @Test
    void generateSamplesCompletionsFromArgumentsAndJsonl() throws IOException {
        Cli.Result text = Cli.run("generate", "--model", sftDir, "--temperature", "0", "--max-new-tokens", "5",
                "Review: the movie was", "Review: the food is");
        text.assertOk();
        List<String> lines = text.out().lines().toList();
        assertEquals(2, lines.size(), text.out());
        assertTrue(lines.get(0).startsWith("Review: the movie was"), lines.get(0));
        assertEquals(text.out(), Cli.run("generate", "--model", sftDir, "--temperature", "0", "--max-new-tokens", "5",
                "Review: the movie was", "Review: the food is").out(), "greedy decoding is deterministic");

        Cli.Result jsonl = Cli.run("generate", "--model", sftDir, "--input", prompts, "--num-return-sequences", "2",
                "--max-new-tokens", "6", "--top-k", "20", "--top-p", "0.9", "--format", "jsonl");
        jsonl.assertOk();
        List<String> records = jsonl.out().lines().toList();
        assertEquals(32, records.size(), "16 prompts x 2 sequences");
        JsonNode first = JsonLines.JSON.readTree(records.get(0));
        assertTrue(first.get("prompt").isTextual() && first.get("completion").isTextual(), records.get(0));
        assertTrue(List.of("stop", "length").contains(first.get("finish_reason").textValue()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "sft", "reward", "dpo", "ppo", "grpo", "generate", "score"})
    void everySubcommandHasHelp(String name) {
        Cli.Result r = Cli.run(name, "--help");
        r.assertOk();
        assertTrue(r.out().contains("Usage: rlhf4j " + name), r.out());
    }

    /** A run that fails after its checkpoint, resumed, ends exactly as the uninterrupted run (same seed, same data). */
    @ParameterizedTest
    @ValueSource(strings = {"sft", "reward", "dpo", "ppo", "grpo"})
    void resumeContinuesFromTheLastCheckpointExactly(String command) throws IOException {
        Path whole = dir.resolve("whole-" + command), interrupted = dir.resolve("interrupted-" + command);
        Object[] args = switch (command) {
            case "sft" -> new Object[] {"sft", "--config", config, "--dataset", sftData, "--learning-rate", "3e-3",
                    "--per-device-train-batch-size", "8", "--max-steps", "6", "--save-steps", "3", "--quiet"};
            case "reward" -> new Object[] {"reward", "--model", sftDir, "--dataset", prefs, "--learning-rate", "1e-3",
                    "--per-device-train-batch-size", "8", "--max-steps", "6", "--save-steps", "3", "--quiet"};
            case "ppo" -> new Object[] {"ppo", "--model", sftDir, "--reward-model", rewardDir, "--dataset", prompts,
                    "--learning-rate", "1e-3", "--per-device-train-batch-size", "4", "--num-mini-batches", "2",
                    "--num-ppo-epochs", "1", "--response-length", "6", "--adaptive-kl", "--max-steps", "6",
                    "--save-steps", "3", "--quiet"};
            case "dpo" -> new Object[] {"dpo", "--model", sftDir, "--dataset", prefs, "--learning-rate", "1e-3",
                    "--per-device-train-batch-size", "8", "--max-steps", "6", "--save-steps", "3", "--quiet"};
            default -> new Object[] {"grpo", "--model", sftDir, "--dataset", prompts, "--reward-funcs", "sentiment",
                    "--learning-rate", "1e-3", "--per-device-train-batch-size", "8", "--num-generations", "4",
                    "--max-completion-length", "6", "--max-steps", "6", "--save-steps", "3", "--quiet"};
        };
        Cli.run(concat(args, "--output-dir", whole)).assertOk();

        TrainingRun.failAfterStep = 4;
        try {
            Cli.run(concat(args, "--output-dir", interrupted)).assertFailure(1, "simulated failure after step 4");
        } finally {
            TrainingRun.failAfterStep = -1;
        }
        assertFalse(Files.exists(interrupted.resolve("config.json")), "a failed run does not look finished");
        assertTrue(Files.exists(interrupted.resolve("checkpoints/checkpoint-3.safetensors")));
        assertEquals(4, Cli.metrics(interrupted).size());

        Cli.run(concat(args, "--output-dir", interrupted)).assertFailure(1, "pass --resume");
        Cli.run(concat(args, "--output-dir", interrupted, "--resume")).assertOk();

        List<Map<String, Object>> a = Cli.metrics(whole), b = Cli.metrics(interrupted);
        assertEquals(6, b.size(), "metrics after step 3 are dropped and written again");
        String key = switch (command) {
            case "grpo" -> "reward";
            case "ppo" -> "loss/value_avg";
            default -> "loss";
        };
        for (int i = 0; i < 6; i++) assertEquals(a.get(i).get(key), b.get(i).get(key), key + " at step " + (i + 1));
        if (command.equals("ppo")) assertEquals(a.get(5).get("kl_coef"), b.get(5).get("kl_coef"), "the adaptive KL coefficient");
        var wa = SafeTensors.load(whole.resolve("model.safetensors"));
        var wb = SafeTensors.load(interrupted.resolve("model.safetensors"));
        for (String name : wa.keySet()) {
            assertArrayEquals(wa.get(name).toDoubleArray(), wb.get(name).toDoubleArray(), name + " after resume");
        }
    }

    static Object[] concat(Object[] a, Object... b) {
        Object[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
