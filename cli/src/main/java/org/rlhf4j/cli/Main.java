package org.rlhf4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;

/**
 * The {@code rlhf4j} command. Exit codes: 0 success, 1 a run that failed (bad file, bad data, a numerical
 * failure, a --device that this machine cannot provide), 2 a usage error (unknown option, missing or out-of-range value). Every failure is one line on stderr.
 */
@Command(name = "rlhf4j", mixinStandardHelpOptions = true, version = "rlhf4j 0.1.0",
        description = "RLHF on the JVM: supervised fine-tuning, reward models, PPO, DPO and GRPO for GPT-2 models.",
        subcommands = {DemoCommand.class, SftCommand.class, RewardCommand.class, DpoCommand.class, PpoCommand.class,
                GrpoCommand.class, GenerateCommand.class, ScoreCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_OK = 0, EXIT_FAILURE = 1, EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: one of " + spec.subcommands().keySet());
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(run(System.out, System.err, args));
    }

    /** Runs the command with the given streams; returns the exit code (used by main and by the tests). */
    public static int run(PrintStream out, PrintStream err, String... args) {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setOut(new java.io.PrintWriter(out, true));
        cmd.setErr(new java.io.PrintWriter(err, true));
        cmd.setParameterExceptionHandler((ex, ignored) -> {
            err.println(usageLine(ex));
            return EXIT_USAGE;
        });
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof ParameterException pe) {
                err.println(usageLine(pe));
                return EXIT_USAGE;
            }
            err.println(commandLine.getCommandName() + ": error: " + oneLine(describe(ex)));
            if (Boolean.getBoolean("rlhf4j.stacktrace")) ex.printStackTrace(err);
            return EXIT_FAILURE;
        });
        // commands receive the streams through the top-level object
        Streams.set(out, err);
        try {
            return cmd.execute(args);
        } finally {
            Streams.clear();
        }
    }

    private static String usageLine(ParameterException ex) {
        String name = ex.getCommandLine().getCommandSpec().qualifiedName();
        return name + ": error: " + oneLine(ex.getMessage()) + " (see '" + name + " --help')";
    }

    private static String describe(Throwable ex) {
        if (ex instanceof UncheckedIOException u && u.getCause() != null) ex = u.getCause();
        if (ex instanceof java.nio.file.NoSuchFileException e) return e.getFile() + ": no such file";
        if (ex instanceof java.nio.file.AccessDeniedException e) return e.getFile() + ": permission denied";
        if (ex instanceof java.nio.file.FileSystemException e) {
            return e.getFile() + ": " + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason());
        }
        String message = ex.getMessage();
        if (ex instanceof CliException || ex instanceof IOException || ex instanceof IllegalArgumentException
                || ex instanceof ArithmeticException) {
            return message == null ? ex.getClass().getSimpleName() : message;
        }
        if (ex instanceof OutOfMemoryError) return "out of memory (raise the heap: RLHF4J_HEAP=8g ./rlhf4j ...)";
        return "internal error: " + ex.getClass().getName() + (message == null ? "" : ": " + message)
                + " (run with -Drlhf4j.stacktrace=true for the stack trace)";
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }
}
