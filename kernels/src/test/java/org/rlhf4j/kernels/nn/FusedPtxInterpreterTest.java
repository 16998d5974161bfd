package org.rlhf4j.kernels.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.rlhf4j.kernels.PythonCheck;

/**
 * Runs the fused kernels' PTX itself (softmax, token log-probs, cross-entropy, layer norm, GELU, AdamW,
 * embedding; F32 and BF16; head, body, tail and scalar paths, rows longer than a block) on the interpreter of
 * {@code kernels/src/ptxgen} against NumPy references ({@code check_fused_ptx.py --ci}), so the kernels' logic
 * is checked in the normal build without a GPU. Skips, saying so, when python3 with NumPy is missing.
 */
class FusedPtxInterpreterTest {
    @Test
    void fusedKernelsMatchNumpyOnTheInterpreter() throws Exception {
        PythonCheck.Result r = PythonCheck.run("the fused PTX interpreter check", "src/ptxgen/check_fused_ptx.py",
                Duration.ofMinutes(15), "--ci");
        for (String family : new String[] {"softmax ok", "logprobs + crossentropy ok", "layernorm ok",
                "gelu, adamw (bitwise), embedding (bitwise) ok", "bf16 softmax (fwd, bwd) + logprobs ok"}) {
            assertTrue(r.output().contains(family), "missing \"" + family + "\" in:\n" + r.output());
        }
        assertEquals(0, r.exitValue(), "kernels that disagree with the reference:\n"
                + r.lines(l -> l.contains("FAIL") || l.contains("Error")));
    }
}
