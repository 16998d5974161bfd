package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs one of the module's Python checks (the PTX kernels on an interpreter, against NumPy) from a test, so the
 * kernels' logic is checked in the normal build without a GPU. The test is skipped, saying so, when python3 with
 * NumPy is not installed.
 */
public final class PythonCheck {
    private PythonCheck() {}

    /** What the script printed (stdout and stderr together) and its exit status. */
    public record Result(String output, int exitValue) {
        /** The output lines that {@code keep} accepts, each followed by a newline. */
        public String lines(Predicate<String> keep) {
            return output.lines().filter(keep).reduce("", (a, b) -> a + b + "\n");
        }
    }

    /**
     * Runs {@code python3 script args...}, prints what it wrote, and fails the test when it did not finish within
     * {@code timeout}. {@code script} is relative to the kernels module (the build runs tests from the module or from
     * the repository root); {@code check} names the check in the skip message.
     */
    public static Result run(String check, String script, Duration timeout, String... args)
            throws IOException, InterruptedException {
        assumeTrue(pythonWithNumpy(), "python3 with NumPy is not installed: " + check + " did not run");
        Path path = Paths.get(script);
        if (!Files.exists(path)) path = Paths.get("kernels").resolve(path);
        List<String> command = new ArrayList<>(List.of("python3", path.toString()));
        command.addAll(List.of(args));
        // Output goes to a file, not a pipe, so that a hanging script cannot block the read and the timeout applies.
        Path log = Files.createTempFile("python-check", ".log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean finished = p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            System.out.println(out);
            assertTrue(finished, "the interpreter check did not finish in " + timeout.toMinutes() + " minutes");
            return new Result(out, p.exitValue());
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static boolean pythonWithNumpy() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
