package dev.bora4j.io;

import java.io.IOException;

/** A safetensors file (or header) breaks the format; the message says what is wrong and where. */
public class SafetensorsFormatException extends IOException {

    public SafetensorsFormatException(String message) {
        super(message);
    }

    public SafetensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
