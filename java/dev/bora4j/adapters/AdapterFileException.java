package dev.bora4j.adapters;

import java.io.IOException;

/**
 * An adapter folder that cannot be loaded: a missing or ill-formed {@code adapter_config.json}, a
 * field of the wrong type or out of range, or {@code adapter_model.safetensors} tensors that do
 * not fit the config or the model (missing or unexpected keys, wrong shape or dtype) or hold NaN or
 * Inf. The message names the file, the field or tensor, and what was expected.
 */
public class AdapterFileException extends IOException {

    private static final long serialVersionUID = 1L;

    public AdapterFileException(String message) {
        super(message);
    }

    public AdapterFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
