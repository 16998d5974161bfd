package org.rlhf4j.transformer.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A model, checkpoint or config file that cannot be used as it is: truncated, malformed, inconsistent with
 * itself or with the model it is loaded into. The message starts with the file and then names the tensor, key
 * or byte offset at fault.
 */
public final class ModelFileException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public ModelFileException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public ModelFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}
