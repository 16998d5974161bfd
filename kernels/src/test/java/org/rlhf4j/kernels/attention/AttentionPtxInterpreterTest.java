package org.rlhf4j.kernels.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.rlhf4j.kernels.PythonCheck;

/**
 * Runs the attention PTX itself (every kernel of attention_f32.ptx and attention_bf16.ptx, with tails and left
 * padding) on the PTX interpreter of {@code kernels/src/ptxgen} against a NumPy F64 reference, so the kernels'
 * logic is checked in the normal build without a GPU. Skips, saying so, when python3 with NumPy is missing.
 */
class AttentionPtxInterpreterTest {
    @Test
    void attentionKernelsMatchNumpyOnTheInterpreter() throws Exception {
        PythonCheck.Result r = PythonCheck.run("the attention PTX interpreter check", "src/ptxgen/check_attention_ptx.py",
                Duration.ofMinutes(15), "--ci");
        assertTrue(r.output().contains(" ok "), "no check ran:\n" + r.output());
        assertEquals(0, r.exitValue(), "kernels that disagree with the reference:\n"
                + r.lines(l -> l.contains("FAIL") || l.contains("Error")));
    }
}
