package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The vectorized PTX interpreter that the emulated device (cuda:6) runs kernels on ({@code src/ptxcheck/simt.py})
 * passes the checks the per-thread interpreters pass: the runtime kernels in full, the fused NN and F32 attention
 * kernels' build subsets, against the same NumPy references ({@code check_simt.py}). Skips without python3 and
 * NumPy.
 */
class SimtInterpreterTest {
    @Test
    void theVectorizedInterpreterPassesTheKernelChecks() throws Exception {
        PythonCheck.Result r = PythonCheck.run("the vectorized interpreter check", "src/ptxcheck/check_simt.py",
                Duration.ofMinutes(5), "--ci");
        assertEquals(0, r.exitValue(), "checks that fail on simt:\n" + r.lines(l -> l.contains("FAIL")));
        assertTrue(r.output().contains("simt: all checks passed"), r.output());
    }
}
