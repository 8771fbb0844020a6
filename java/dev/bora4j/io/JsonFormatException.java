package dev.bora4j.io;

import java.io.IOException;
import java.nio.file.Path;

/** A JSON file that {@link StrictJson} refuses; the message is the file, then what is wrong. */
public class JsonFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String problem;

    public JsonFormatException(Path file, String problem) {
        this(file, problem, null);
    }

    public JsonFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.problem = problem;
    }

    /** What is wrong, without the file's name (for messages that name it themselves). */
    public String problem() {
        return problem;
    }
}
