package org.rlhf4j.kernels.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the fused kernels' PTX itself (softmax, token log-probs, cross-entropy, layer norm, GELU, AdamW,
 * embedding; F32 and BF16; head, body, tail and scalar paths, rows longer than a block) on the interpreter of
 * {@code kernels/src/ptxgen} against NumPy references ({@code check_fused_ptx.py --ci}), so the kernels' logic
 * is checked in the normal build without a GPU. Skips, saying so, when python3 with NumPy is missing.
 */
class FusedPtxInterpreterTest {
    private static boolean pythonWithNumpy() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void fusedKernelsMatchNumpyOnTheInterpreter() throws Exception {
        assumeTrue(pythonWithNumpy(), "python3 with NumPy is not installed: the fused PTX interpreter check did not run");
        Path script = Paths.get("src/ptxgen/check_fused_ptx.py");
        if (!Files.exists(script)) script = Paths.get("kernels").resolve(script);
        Process p = new ProcessBuilder("python3", script.toString(), "--ci").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean finished = p.waitFor(900, TimeUnit.SECONDS);
        System.out.println(out);
        assertTrue(finished, "the interpreter check did not finish in 15 minutes");
        for (String family : new String[] {"softmax ok", "logprobs + crossentropy ok", "layernorm ok",
                "gelu, adamw (bitwise), embedding (bitwise) ok", "bf16 softmax (fwd, bwd) + logprobs ok"}) {
            assertTrue(out.contains(family), "missing \"" + family + "\" in:\n" + out);
        }
        assertEquals(0, p.exitValue(), "kernels that disagree with the reference:\n" + out.lines()
                .filter(l -> l.contains("FAIL") || l.contains("Error")).reduce("", (a, b) -> a + b + "\n"));
    }
}
