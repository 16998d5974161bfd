package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Runs the runtime PTX kernels (elementwise, reduce, index, philox) on a small PTX interpreter
 * ({@code kernels/src/ptxcheck}) against NumPy references, so their logic is checked in the normal build
 * without a GPU. Skips, saying so, when python3 with NumPy is not installed.
 */
class PtxInterpreterTest {
    @Test
    void runtimeKernelsMatchNumpyOnTheInterpreter() throws Exception {
        PythonCheck.Result r = PythonCheck.run("the PTX interpreter check", "src/ptxcheck/check_runtime_ptx.py",
                Duration.ofMinutes(10));
        assertEquals(0, r.exitValue(), "kernels that disagree with NumPy:\n" + r.lines(l -> l.startsWith("FAIL")));
    }
}
