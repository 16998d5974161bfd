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
import picocli.CommandLine;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.cpu.StandInBackend;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.SafeTensors;

/**
 * {@code --device} and {@code --precision}: their values, a CUDA device that cannot be used, runs with the models on
 * a stand-in CUDA device (cuda:5: the CPU's arithmetic under a CUDA name), BF16 on the CPU, and a resume on another
 * device than the one that wrote the checkpoint.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeviceAndPrecisionOptionsTest {
    private static final String STAND_IN = "cuda:5";

    @TempDir
    static Path dir;

    Path config, sftData, prefs, texts, sftDir;

    @BeforeAll
    void setUp() throws IOException {
        StandInBackend.install(5);
        config = Cli.tinyConfig(dir);
        sftData = Cli.sftData(dir, 32);
        prefs = Cli.preferenceData(dir, 16);
        texts = Cli.write(dir.resolve("texts.jsonl"), "{\"text\": \"Review: the movie was great.\"}\n"
                + "{\"text\": \"Review: the food is awful.\"}\n");
        sftDir = dir.resolve("sft-cpu");
        Cli.run(sft(6, "--output-dir", sftDir)).assertOk();
    }

    /** A tiny sft run of {@code steps} steps, then {@code extra}. */
    Object[] sft(int steps, Object... extra) {
        Object[] args = {"sft", "--config", config, "--dataset", sftData, "--learning-rate", "3e-3",
                "--per-device-train-batch-size", "8", "--max-steps", steps, "--quiet"};
        return SubcommandsTest.concat(args, extra);
    }

    /** Runs {@code command} as the demo does, so that its placed models can be looked at afterwards. */
    static <T extends TrainCommand> T runCommand(T command, Object... args) throws Exception {
        String[] argv = new String[args.length];
        for (int i = 0; i < args.length; i++) argv[i] = args[i].toString();
        new CommandLine(command).parseArgs(argv);
        assertEquals(Main.EXIT_OK, command.call());
        return command;
    }

    /** Asserts that the command moved {@code count} models and that every parameter of each is on the stand-in. */
    static void assertModelsOnStandIn(TrainCommand command, int count) {
        assertEquals(count, command.placedModels.size(), "models moved to the device");
        for (Object m : command.placedModels) {
            if (m instanceof Gpt g) {
                assertEquals(STAND_IN, g.device().toString(), "a GPT's parameters");
            } else {
                RewardModel rm = (RewardModel) m;
                assertEquals(STAND_IN, rm.trunk().device().toString(), "a reward model's trunk");
                assertEquals(STAND_IN, rm.head().device().toString(), "a reward model's head");
            }
        }
    }

    static List<Double> losses(Path run) throws IOException {
        return Cli.metrics(run).stream().map(m -> ((Number) m.get("loss")).doubleValue()).toList();
    }

    static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    static JsonNode trainingArgs(Path run) throws IOException {
        return JsonLines.JSON.readTree(run.resolve(TrainingRun.ARGS_FILE).toFile());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpu", "cuda:", "cuda:-1", "cuda:x", "CUDA", "cuda:0:1", "cpu:0", ""})
    void aBadDeviceIsAUsageErrorOfEveryCommand(String device) {
        Path out = dir.resolve("bad-device");
        for (Object[] args : everyCommand(out)) {
            Cli.run(SubcommandsTest.concat(args, "--device", device))
                    .assertFailure(2, "--device must be cpu, cuda or cuda:N, found '" + device + "'", "--help");
        }
        assertFalse(Files.exists(out), "nothing is written");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fp16", "f16", "bf32", "BF16", "bfloat16", "fp32", ""})
    void aBadPrecisionIsAUsageErrorOfEveryCommand(String precision) {
        Path out = dir.resolve("bad-precision");
        for (Object[] args : everyCommand(out)) {
            Cli.run(SubcommandsTest.concat(args, "--precision", precision))
                    .assertFailure(2, "--precision must be f32 or bf16, found '" + precision + "'");
        }
        assertFalse(Files.exists(out), "nothing is written");
    }

    /** Arguments of every command that take it past parsing to its own checks. */
    private List<Object[]> everyCommand(Path out) {
        return List.of(sft(1, "--output-dir", out),
                new Object[] {"reward", "--model", sftDir, "--dataset", prefs, "--output-dir", out},
                new Object[] {"dpo", "--model", sftDir, "--dataset", prefs, "--output-dir", out},
                new Object[] {"ppo", "--model", sftDir, "--reward-model", sftDir, "--dataset", prefs, "--output-dir", out},
                new Object[] {"grpo", "--model", sftDir, "--dataset", prefs, "--reward-funcs", "sentiment", "--output-dir", out},
                new Object[] {"generate", "--model", sftDir, "hi"},
                new Object[] {"score", "--model", sftDir, "--input", texts});
    }

    /**
     * Good values get past the options: the device is opened before the model is read, so a missing model directory
     * is reported only once the device is there.
     */
    @Test
    void goodValuesAreAcceptedAndTheDeviceIsOpenedBeforeTheModelIsRead() {
        Path noModel = dir.resolve("no-model");
        for (String device : new String[] {"cpu", STAND_IN}) {
            for (String precision : new String[] {"f32", "bf16"}) {
                Cli.run("generate", "--model", noModel, "--device", device, "--precision", precision, "hi")
                        .assertFailure(1, "no-model", "no such directory");
            }
        }
        // plain "cuda" is cuda:0: unusable here, or (on a GPU machine) opened, and then the model is missing
        Cli.Result cuda = Cli.run("generate", "--model", noModel, "--device", "cuda", "hi");
        cuda.assertFailure(1);
        assertTrue(cuda.err().contains("--device cuda: cuda:0 requested") || cuda.err().contains("no-model"), cuda.err());
        Cli.run("generate", "--model", noModel, "--device", "cuda:9", "hi").assertFailure(1, "--device cuda:9", "cuda:9 requested");
    }

    @Test
    void anUnusableCudaDeviceFailsWithTheReasonAndWritesNothing() throws IOException {
        Path out = dir.resolve("no-gpu");
        Cli.Result r = Cli.run(sft(2, "--device", "cuda:9", "--output-dir", out));
        r.assertFailure(1, "sft: error: --device cuda:9: cuda:9 requested, but ");
        assertFalse(r.err().contains("\tat "), "no stack trace");
        assertFalse(Files.exists(out), "nothing is written");

        // an earlier run is left alone, even with --overwrite-output-dir (the device is opened before the clean-up)
        byte[] weights = Files.readAllBytes(sftDir.resolve("model.safetensors"));
        Cli.run(sft(2, "--device", "cuda:9", "--overwrite-output-dir", "--output-dir", sftDir)).assertFailure(1, "cuda:9");
        assertArrayEquals(weights, Files.readAllBytes(sftDir.resolve("model.safetensors")));
        assertTrue(Files.exists(sftDir.resolve("config.json")));

        Cli.run("score", "--model", sftDir, "--input", texts, "--device", "cuda:9").assertFailure(1, "cuda:9 requested");
        Cli.run("score", "--model", sftDir, "--input", texts, "--device", STAND_IN, "--dtype", "float64")
                .assertFailure(2, "--dtype float64 runs on the CPU only");
        Cli.run("score", "--model", sftDir, "--input", texts, "--precision", "bf16", "--dtype", "float64")
                .assertFailure(2, "--precision bf16 goes with --dtype float32");
    }

    /** SFT with the model on the stand-in device follows the CPU run and writes the same kind of outputs. */
    @Test
    void sftOnTheStandInDeviceFinishesAndMatchesTheCpu() throws Exception {
        Path out = dir.resolve("sft-stand-in");
        Object[] sft = sft(6, "--device", STAND_IN, "--save-steps", "3", "--output-dir", out);
        assertModelsOnStandIn(runCommand(new SftCommand(), java.util.Arrays.copyOfRange(sft, 1, sft.length)), 1);
        SubcommandsTest.assertFinishedRun(out, 6, "loss", "loss");
        JsonNode args = trainingArgs(out);
        assertEquals(STAND_IN, args.get("run").get("device").textValue());
        assertEquals("f32", args.get("precision").textValue());
        assertEquals("cpu", trainingArgs(sftDir).get("run").get("device").textValue());

        List<Double> device = losses(out), cpu = losses(sftDir);
        assertEquals(cpu.get(0), device.get(0), "the first loss, bit for bit");
        for (int i = 1; i < 6; i++) assertEquals(cpu.get(i), device.get(i), 1e-4, "loss at step " + (i + 1));
        var a = SafeTensors.load(sftDir.resolve("model.safetensors")).get("transformer.wte.weight").toDoubleArray();
        var b = SafeTensors.load(out.resolve("model.safetensors")).get("transformer.wte.weight").toDoubleArray();
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4, "wte[" + i + "] saved from the device");

        // the model saved from the device generates on the device and on the CPU alike
        Object[] generate = {"generate", "--model", out, "--temperature", "0", "--max-new-tokens", "6", "Review: the movie was"};
        Cli.Result onCpu = Cli.run(generate), onDevice = Cli.run(SubcommandsTest.concat(generate, "--device", STAND_IN));
        onCpu.assertOk();
        onDevice.assertOk();
        assertEquals(onCpu.out(), onDevice.out());
        Cli.Result scoredOnDevice = Cli.run("score", "--model", out, "--input", texts, "--device", STAND_IN);
        scoredOnDevice.assertOk();
        assertEquals(Cli.run("score", "--model", out, "--input", texts).out(), scoredOnDevice.out());
    }

    /** DPO with policy and reference on the stand-in device. */
    @Test
    void dpoOnTheStandInDeviceFinishesAndMatchesTheCpu() throws Exception {
        Object[] dpo = {"--model", sftDir, "--dataset", prefs, "--learning-rate", "1e-3",
                "--per-device-train-batch-size", "8", "--max-steps", "3", "--beta", "0.2", "--quiet"};
        Path onDevice = dir.resolve("dpo-stand-in"), onCpu = dir.resolve("dpo-cpu");
        DpoCommand command = runCommand(new DpoCommand(), SubcommandsTest.concat(dpo, "--device", STAND_IN, "--output-dir", onDevice));
        assertModelsOnStandIn(command, 2); // policy and reference
        SubcommandsTest.assertFinishedRun(onDevice, 3, "rewards/accuracies", "rewards_margins");
        assertEquals(STAND_IN, trainingArgs(onDevice).get("run").get("device").textValue());
        Cli.run(SubcommandsTest.concat(SubcommandsTest.concat(new Object[] {"dpo"}, dpo), "--output-dir", onCpu)).assertOk();
        List<Double> device = losses(onDevice), cpu = losses(onCpu);
        for (int i = 0; i < 3; i++) assertEquals(cpu.get(i), device.get(i), 1e-4, "DPO loss at step " + (i + 1));
    }

    /** A reward model trained on the stand-in device, then PPO with all four models there, and GRPO scored by it. */
    @Test
    void rewardPpoAndGrpoOnTheStandInDeviceFinish() throws Exception {
        Path rewardDir = dir.resolve("reward-stand-in"), ppoDir = dir.resolve("ppo-stand-in");
        RewardCommand reward = runCommand(new RewardCommand(), "--model", sftDir, "--dataset", prefs, "--learning-rate", "1e-3",
                "--per-device-train-batch-size", "8", "--max-steps", "2", "--quiet", "--device", STAND_IN, "--output-dir", rewardDir);
        assertModelsOnStandIn(reward, 1);
        SubcommandsTest.assertFinishedRun(rewardDir, 2, "accuracy", "loss");
        PpoCommand ppo = runCommand(new PpoCommand(), "--model", sftDir, "--reward-model", rewardDir, "--dataset",
                Cli.sentimentPrompts(dir, 8), "--learning-rate", "1e-3", "--per-device-train-batch-size", "4",
                "--num-mini-batches", "2", "--num-ppo-epochs", "1", "--response-length", "6", "--max-steps", "2", "--quiet",
                "--device", STAND_IN, "--output-dir", ppoDir);
        assertModelsOnStandIn(ppo, 4); // policy, reference, reward model, value model
        SubcommandsTest.assertFinishedRun(ppoDir, 2, "objective/kl", "kl");

        Path grpoDir = dir.resolve("grpo-stand-in");
        GrpoCommand grpo = runCommand(new GrpoCommand(), "--model", sftDir, "--dataset", Cli.arithmeticPrompts(dir, 8),
                "--reward-funcs", rewardDir + ",sentiment", "--learning-rate", "1e-3", "--per-device-train-batch-size", "8",
                "--num-generations", "4", "--max-completion-length", "3", "--max-steps", "2", "--beta", "0.05", "--quiet",
                "--device", STAND_IN, "--output-dir", grpoDir);
        assertModelsOnStandIn(grpo, 3); // policy, reference, the reward model of --reward-funcs
        SubcommandsTest.assertFinishedRun(grpoDir, 2, "reward", "reward");
    }

    /** BF16 on the CPU: slower, but it trains, and the products really are BF16 (the losses differ from F32's). */
    @Test
    void bf16SftOnTheCpuLearns() throws IOException {
        Path f32 = dir.resolve("sft-f32-long"), bf16 = dir.resolve("sft-bf16");
        Cli.run(sft(24, "--output-dir", f32)).assertOk();
        Cli.run(sft(24, "--precision", "bf16", "--output-dir", bf16)).assertOk();
        assertEquals("bf16", trainingArgs(bf16).get("precision").textValue());
        List<Double> low = losses(bf16), full = losses(f32);
        assertTrue(mean(low.subList(19, 24)) < low.get(0) - 0.5, "BF16 loss falls: " + low);
        assertNotEquals(full.get(0), low.get(0), "BF16 products change the first loss");
        assertEquals(full.get(0), low.get(0), 0.01 * full.get(0), "but only a little");
        assertEquals(mean(full.subList(19, 24)), mean(low.subList(19, 24)), 0.05, "and BF16 tracks F32: " + full + " " + low);
    }

    /** A run on the stand-in device, interrupted after its checkpoint, resumed on the CPU. */
    @Test
    void aRunMadeOnTheDeviceResumesOnTheCpu() throws IOException {
        Path out = dir.resolve("resume-across-devices");
        TrainingRun.failAfterStep = 4;
        try {
            Cli.run(sft(6, "--save-steps", "3", "--device", STAND_IN, "--output-dir", out))
                    .assertFailure(1, "simulated failure after step 4");
        } finally {
            TrainingRun.failAfterStep = -1;
        }
        assertTrue(Files.exists(out.resolve("checkpoints/checkpoint-3.safetensors")));
        Cli.run(sft(6, "--save-steps", "3", "--precision", "bf16", "--resume", "--output-dir", out))
                .assertFailure(1, "--resume", "precision", "\"f32\"", "\"bf16\"");

        Object[] resume = sft(6, "--save-steps", "3", "--resume", "--output-dir", out);
        List<Object> loud = new java.util.ArrayList<>(List.of(resume));
        loud.remove("--quiet"); // for the line that says where the run resumes
        Cli.Result r = Cli.run(loud.toArray());
        r.assertOk();
        assertTrue(r.out().contains("(step 3, written on cuda:5, continuing on cpu)"), r.out());
        assertEquals("cpu", trainingArgs(out).get("run").get("device").textValue());
        List<Double> resumed = losses(out), cpu = losses(sftDir);
        assertEquals(6, resumed.size());
        for (int i = 0; i < 6; i++) assertEquals(cpu.get(i), resumed.get(i), 1e-4, "loss at step " + (i + 1));
        Map<String, org.rlhf4j.tensor.Tensor> a = SafeTensors.load(sftDir.resolve("model.safetensors"));
        Map<String, org.rlhf4j.tensor.Tensor> b = SafeTensors.load(out.resolve("model.safetensors"));
        for (String name : a.keySet()) {
            double[] x = a.get(name).toDoubleArray(), y = b.get(name).toDoubleArray();
            for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 1e-4, name + "[" + i + "] after the resume");
        }
    }
}
