package org.rlhf4j.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * demo --quick: the pipeline runs, PPO and DPO beat SFT on the ground truth, GRPO raises the accuracy; demo's --device
 * and --precision are checked and the device opened before anything is written (the GPU run is the tests module's
 * GpuDemoTest).
 */
class DemoTest {
    @Test
    void quickDemoImprovesOnSft(@TempDir Path dir) throws IOException {
        Cli.Result r = Cli.run("demo", "--quick", "--quiet", "--output-dir", dir);
        r.assertOk();
        System.out.println(r.out());
        JsonNode summary = JsonLines.JSON.readTree(dir.resolve(DemoCommand.SUMMARY_FILE).toFile());
        JsonNode s = summary.get("sentiment");
        double sft = s.get("sft").get("mean_ground_truth_reward").doubleValue();
        double ppo = s.get("ppo").get("mean_ground_truth_reward").doubleValue();
        double dpo = s.get("dpo").get("mean_ground_truth_reward").doubleValue();
        double before = summary.get("grpo").get("accuracy_before").doubleValue();
        double after = summary.get("grpo").get("accuracy_after").doubleValue();
        assertTrue(ppo > sft + 0.05, "PPO " + ppo + " vs SFT " + sft);
        assertTrue(dpo > sft + 0.05, "DPO " + dpo + " vs SFT " + sft);
        assertTrue(after > before + 0.05, "GRPO accuracy " + before + " -> " + after);
        assertTrue(s.get("sft").get("mean_kl_to_sft").doubleValue() == 0, "SFT's KL to itself");
        assertTrue(s.get("ppo").get("mean_kl_to_sft").doubleValue() > 0, "PPO moved away from SFT");

        // the printed table has a row per model, with the numbers of summary.json
        assertTrue(r.out().matches("(?s).*\\nSFT +" + String.format(java.util.Locale.ROOT, "%.3f", sft) + " +0\\.00\\n.*"), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "%-6s %26.3f", "PPO", ppo)), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "%-6s %26.3f", "DPO", dpo)), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "%.3f before -> %.3f after", before, after)), r.out());
        for (String stage : new String[] {"sft", "reward", "ppo", "dpo", "arithmetic-sft", "grpo"}) {
            assertTrue(Files.exists(dir.resolve(stage).resolve("config.json")), stage + " finished");
        }
    }

    @Test
    void badDeviceAndPrecisionAreUsageErrorsAndAnUnusableDeviceWritesNothing(@TempDir Path dir) {
        Path out = dir.resolve("demo");
        Cli.run("demo", "--quick", "--device", "tpu", "--output-dir", out)
                .assertFailure(2, "demo: error: --device must be cpu, cuda or cuda:N, found 'tpu'", "--help");
        Cli.run("demo", "--quick", "--precision", "fp16", "--output-dir", out)
                .assertFailure(2, "demo: error: --precision must be f32 or bf16, found 'fp16'");
        Cli.run("demo", "--quick", "--device", "cuda:9", "--output-dir", out)
                .assertFailure(1, "demo: error: --device cuda:9: cuda:9 requested, but ");
        assertFalse(Files.exists(out), "nothing is written");

        String help = Cli.run("demo", "--help").out();
        assertTrue(help.contains("--device=DEVICE") && help.contains("--precision=NAME"), help);
    }
}
