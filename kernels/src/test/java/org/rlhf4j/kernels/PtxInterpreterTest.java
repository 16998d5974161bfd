package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the runtime PTX kernels (elementwise, reduce, index, philox) on a small PTX interpreter
 * ({@code kernels/src/ptxcheck}) against NumPy references, so their logic is checked in the normal build
 * without a GPU. Skips, saying so, when python3 with NumPy is not installed.
 */
class PtxInterpreterTest {
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
    void runtimeKernelsMatchNumpyOnTheInterpreter() throws Exception {
        assumeTrue(pythonWithNumpy(), "python3 with NumPy is not installed: the PTX interpreter check did not run");
        Path script = Paths.get("src/ptxcheck/check_runtime_ptx.py");
        if (!Files.exists(script)) script = Paths.get("kernels").resolve(script);
        Process p = new ProcessBuilder("python3", script.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean finished = p.waitFor(600, TimeUnit.SECONDS);
        System.out.println(out);
        assertEquals(true, finished, "the interpreter check did not finish in 10 minutes");
        assertEquals(0, p.exitValue(), "kernels that disagree with NumPy:\n" + out.lines()
                .filter(l -> l.startsWith("FAIL")).reduce("", (a, b) -> a + b + "\n"));
    }
}
