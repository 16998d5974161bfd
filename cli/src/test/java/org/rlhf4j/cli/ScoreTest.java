package org.rlhf4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.io.SafeTensors;

/** score's per-token log-probs against values computed independently of it. */
class ScoreTest {
    /**
     * The PyTorch fixture of the transformer module (scripts/golden/gpt2_reference.py: a random GPT-2 as an HF
     * directory, and the logits PyTorch computed in F64 for its input_ids). The expected log-prob of token t is
     * log_softmax(logits[t-1])[ids[t]], done here in double from PyTorch's logits.
     */
    static final Path GOLDEN = Path.of("..", "transformer", "src", "test", "resources", "golden", "gpt2-tiny");

    @Test
    void tokenLogProbsMatchPyTorch(@TempDir Path dir) throws IOException {
        Map<String, Tensor> expected = SafeTensors.load(GOLDEN.resolve("expected.safetensors"));
        Tensor ids = expected.get("input_ids");                 // [2, 10]
        Tensor logits = expected.get("logits").to(DType.F64);    // [2, 10, 64]
        int rows = ids.size(0), t = ids.size(1), v = logits.size(2);
        int[] allIds = ids.toIntArray();
        double[] allLogits = logits.contiguous().toDoubleArray();
        StringBuilder input = new StringBuilder();
        for (int b = 0; b < rows; b++) {
            input.append("{\"tokens\": [");
            for (int i = 0; i < t; i++) input.append(i == 0 ? "" : ", ").append(allIds[b * t + i]);
            input.append("]}\n");
        }
        Path in = Cli.write(dir.resolve("in.jsonl"), input.toString());
        assertTrue(worstError(Cli.run("score", "--model", GOLDEN, "--input", in), rows, t, v, allIds, allLogits) < 1e-4,
                "F32 model against PyTorch's F64 logits");
        assertTrue(worstError(Cli.run("score", "--model", GOLDEN, "--input", in, "--dtype", "float64"), rows, t, v, allIds,
                allLogits) < 1e-10, "F64 model against PyTorch's F64 logits");
    }

    private static double worstError(Cli.Result r, int rows, int t, int v, int[] allIds, double[] allLogits) throws IOException {
        r.assertOk();
        List<String> lines = r.out().lines().toList();
        assertEquals(rows, lines.size(), r.out());
        double worst = 0;
        for (int b = 0; b < rows; b++) {
            JsonNode o = JsonLines.JSON.readTree(lines.get(b));
            assertEquals(t, o.get("tokens").size());
            assertEquals(t, o.get("logprobs").size(), "one entry per token");
            assertTrue(o.get("logprobs").get(0).isNull(), "the first token has no log-prob");
            for (int i = 1; i < t; i++) {
                int row = (b * t + i - 1) * v;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int k = 0; k < v; k++) max = Math.max(max, allLogits[row + k]);
                for (int k = 0; k < v; k++) sum += Math.exp(allLogits[row + k] - max);
                double want = allLogits[row + allIds[b * t + i]] - max - Math.log(sum);
                double got = o.get("logprobs").get(i).doubleValue();
                worst = Math.max(worst, Math.abs(got - want));
            }
        }
        return worst;
    }

    /** Text is tokenized with the model's (byte-level) tokenizer; log-probs equal forward + log-softmax done here. */
    @Test
    void textInputsUseTheModelsTokenizer(@TempDir Path dir) throws IOException {
        Gpt model = new Gpt(new Gpt.Config(Cli.TOK.vocabSize(), 32, 1, 2, 16, 1e-5, 0.0), DType.F32, new Generator(5));
        Path modelDir = dir.resolve("model");
        ModelDirectory.save(model, HfConfig.of(model.config(), Cli.TOK.eosId(), Cli.TOK.eosId()), modelDir);
        String text = "Review: good.";
        Cli.Result r = Cli.run("score", "--model", modelDir, "--input",
                Cli.write(dir.resolve("in.jsonl"), "{\"text\": \"" + text + "\"}\n\n{\"tokens\": [72, 105]}\n"));
        r.assertOk();
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), "blank lines are skipped: " + r.out());
        JsonNode o = JsonLines.JSON.readTree(lines.get(0));
        int[] ids = Cli.TOK.encode(text);
        assertEquals(ids.length, o.get("tokens").size());
        for (int i = 0; i < ids.length; i++) assertEquals(ids[i], o.get("tokens").get(i).intValue());

        double[] logits = model.forward(Tensor.ofInts(ids, 1, ids.length)).data().to(DType.F64).toDoubleArray();
        int v = model.config().vocabSize();
        for (int i = 1; i < ids.length; i++) {
            int row = (i - 1) * v;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < v; k++) max = Math.max(max, logits[row + k]);
            for (int k = 0; k < v; k++) sum += Math.exp(logits[row + k] - max);
            double want = logits[row + ids[i]] - max - Math.log(sum);
            assertEquals(want, o.get("logprobs").get(i).doubleValue(), 1e-5, "log-prob of token " + i);
        }
        assertEquals(2, JsonLines.JSON.readTree(lines.get(1)).get("logprobs").size());
    }
}
