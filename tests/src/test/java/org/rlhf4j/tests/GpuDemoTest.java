package org.rlhf4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.cli.Main;
import org.rlhf4j.tensor.Device;

/**
 * {@code rlhf4j demo --quick --device <gpu> --precision bf16}, in-process: the whole pipeline (SFT, reward model,
 * PPO, DPO, GRPO, and the demo's own sampling and evaluation) on the GPU in BF16 mixed precision learns as the CPU
 * run of the cli's DemoTest does. Prints one result line for the GPU script's table. Skips without a GPU.
 */
@Tag("gpu")
class GpuDemoTest {
    private static final String[] STAGES = {"sft", "reward", "ppo", "dpo", "arithmetic-sft", "grpo"};

    @Test
    void quickDemoOnTheGpuInBf16ImprovesOnSft(@TempDir Path dir) throws Exception {
        Device gpu = GpuAvailability.gpu();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        long start = System.nanoTime();
        int exit;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            exit = Main.run(o, e, "demo", "--quick", "--quiet", "--device", gpu.toString(), "--precision", "bf16",
                    "--output-dir", dir.toString());
        }
        double seconds = (System.nanoTime() - start) * 1e-9;
        String table = out.toString(StandardCharsets.UTF_8);
        System.out.println(table);
        assertEquals(Main.EXIT_OK, exit, () -> "exit code; stderr: " + err.toString(StandardCharsets.UTF_8));

        ObjectMapper json = new ObjectMapper();
        JsonNode summary = json.readTree(dir.resolve("summary.json").toFile());
        JsonNode s = summary.get("sentiment");
        double sft = s.get("sft").get("mean_ground_truth_reward").doubleValue();
        double ppo = s.get("ppo").get("mean_ground_truth_reward").doubleValue();
        double dpo = s.get("dpo").get("mean_ground_truth_reward").doubleValue();
        double ppoKl = s.get("ppo").get("mean_kl_to_sft").doubleValue();
        double dpoKl = s.get("dpo").get("mean_kl_to_sft").doubleValue();
        double rewardAccuracy = summary.get("reward_model_eval_accuracy").doubleValue();
        double before = summary.get("grpo").get("accuracy_before").doubleValue();
        double after = summary.get("grpo").get("accuracy_after").doubleValue();
        System.out.println(String.format(Locale.ROOT,
                "E2E | demo --quick on %s bf16 | %.0f s | SFT %.3f, PPO %.3f (KL %.2f), DPO %.3f (KL %.2f), RM %.3f, GRPO %.3f -> %.3f",
                gpu, seconds, sft, ppo, ppoKl, dpo, dpoKl, rewardAccuracy, before, after));

        // the thresholds of the CPU run (cli's DemoTest)
        assertTrue(ppo > sft + 0.05, "PPO " + ppo + " vs SFT " + sft);
        assertTrue(dpo > sft + 0.05, "DPO " + dpo + " vs SFT " + sft);
        assertTrue(after > before + 0.05, "GRPO accuracy " + before + " -> " + after);
        assertTrue(s.get("sft").get("mean_kl_to_sft").doubleValue() == 0, "SFT's KL to itself");
        assertTrue(ppoKl > 0, "PPO moved away from SFT");
        assertTrue(table.matches("(?s).*\\nSFT +" + String.format(Locale.ROOT, "%.3f", sft) + " +0\\.00\\n.*"), table);
        assertTrue(table.contains(String.format(Locale.ROOT, "%-6s %26.3f", "PPO", ppo)), table);
        assertTrue(table.contains(String.format(Locale.ROOT, "%-6s %26.3f", "DPO", dpo)), table);
        assertTrue(table.contains(String.format(Locale.ROOT, "%.3f before -> %.3f after", before, after)), table);

        // the demo and every stage ran on the GPU in BF16
        assertEquals(gpu.toString(), summary.get("device").asText(), "summary.json's device");
        assertEquals("bf16", summary.get("precision").asText(), "summary.json's precision");
        for (String stage : STAGES) {
            assertTrue(dir.resolve(stage).resolve("config.json").toFile().isFile(), stage + " finished");
            JsonNode args = json.readTree(dir.resolve(stage).resolve("training_args.json").toFile());
            assertEquals("bf16", args.get("precision").asText(), stage + "'s precision");
            assertEquals(gpu.toString(), args.get("run").get("device").asText(), stage + "'s device");
        }
    }
}
