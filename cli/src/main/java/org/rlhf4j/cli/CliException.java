package org.rlhf4j.cli;

/**
 * A problem with what the user asked for or gave (a file, a value, a directory): the command prints its message
 * as one line on stderr and exits with {@link Main#EXIT_FAILURE}. The message names what was expected and what
 * was found.
 */
public final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CliException(String message) {
        super(message);
    }

    public CliException(String message, Throwable cause) {
        super(message, cause);
    }
}
