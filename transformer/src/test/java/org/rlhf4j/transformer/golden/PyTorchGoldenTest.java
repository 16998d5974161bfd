package org.rlhf4j.transformer.golden;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Loss;
import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.io.SafeTensors;

/**
 * rlhf4j's GPT-2 against an independent GPT-2 written in plain PyTorch (F64): the fixture under
 * {@code golden/gpt2-tiny} is made by {@code scripts/golden/gpt2_reference.py}, which saves a random model as a
 * Hugging Face directory and the logits, per-token log-probs, mean cross-entropy and every parameter gradient for
 * fixed inputs.
 */
class PyTorchGoldenTest {

    private static Path fixture() throws URISyntaxException {
        return Path.of(PyTorchGoldenTest.class.getResource("/golden/gpt2-tiny/config.json").toURI()).getParent();
    }

    /** max |a - b| / max(max |b|, tiny): relative to the scale of the expected tensor. */
    private static double relativeError(Tensor actual, Tensor expected) {
        double[] a = actual.toDoubleArray(), e = expected.toDoubleArray();
        double diff = 0, scale = 1e-30;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - e[i]));
            scale = Math.max(scale, Math.abs(e[i]));
        }
        return diff / scale;
    }

    private void matches(DType dtype, double tolerance) throws Exception {
        Path dir = fixture();
        Map<String, Tensor> expected = SafeTensors.load(dir.resolve("expected.safetensors"));
        Gpt model = ModelDirectory.load(dir, dtype);
        model.eval();
        Tensor ids = expected.get("input_ids"), targets = expected.get("targets");

        Variable logits = model.forward(ids);
        Variable logp = Nn.tokenLogProbs(logits, targets, 1.0);
        Variable loss = Loss.crossEntropy(logits, targets);
        loss.backward();

        check("logits", logits.data(), expected.get("logits"), tolerance);
        check("logp", logp.data(), expected.get("logp"), tolerance);
        check("loss", loss.data().reshape(1), expected.get("loss"), tolerance);
        for (var e : model.namedParameters().entrySet()) {
            check("grad." + e.getKey(), e.getValue().grad(), expected.get("grad." + e.getKey()), tolerance);
        }
    }

    private static void check(String what, Tensor actual, Tensor expected, double tolerance) {
        assertTrue(expected != null, "fixture lacks " + what);
        double err = relativeError(actual, expected);
        assertTrue(err < tolerance, what + ": relative error " + err + " >= " + tolerance);
    }

    @Test
    void f64MatchesPyTorchTo1e10() throws Exception {
        matches(DType.F64, 1e-10);
    }

    @Test
    void f32MatchesPyTorchTo1e4() throws Exception {
        matches(DType.F32, 1e-4);
    }
}
