package org.rlhf4j.rl.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A dataset file that cannot be used as it is. The message reads {@code <file>:<line>: <problem>}, with the
 * 1-based line of the first bad record (0 when the problem is not on one line), as compilers report errors.
 */
public final class DatasetFileException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int line;

    public DatasetFileException(Path file, int line, String problem) {
        this(file, line, problem, null);
    }

    public DatasetFileException(Path file, int line, String problem, Throwable cause) {
        super(file + (line > 0 ? ":" + line : "") + ": " + problem, cause);
        this.file = file;
        this.line = line;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** The 1-based line at fault, or 0 when the problem is not on one line. */
    public int line() {
        return line;
    }
}
