package dev.bora4j.onnx;

/** The bytes are not a well-formed ONNX model (truncated, corrupt or an unsupported encoding). */
public class OnnxFormatException extends IllegalArgumentException {

    public OnnxFormatException(String message) {
        super(message);
    }
}
