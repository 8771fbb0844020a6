package dev.bora4j.models.minilm;

/**
 * Shape of a BERT-style MiniLM encoder. {@link #ALL_MINILM_L6_V2} is the model that ships in
 * the langchain4j artifact.
 */
public record MiniLmConfig(long vocabSize, long hiddenSize, int numLayers, int numHeads,
                           long intermediateSize, long maxPositions, long typeVocabSize, double layerNormEps) {

    public static final MiniLmConfig ALL_MINILM_L6_V2 =
            new MiniLmConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12);

    public MiniLmConfig {
        if (vocabSize <= 0 || hiddenSize <= 0 || numLayers <= 0 || numHeads <= 0 || intermediateSize <= 0
                || maxPositions <= 0 || typeVocabSize <= 0 || !(layerNormEps > 0)) {
            throw new IllegalArgumentException("every MiniLM size and the LayerNorm eps must be positive");
        }
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("hidden size " + hiddenSize + " is not divisible by "
                    + numHeads + " attention heads");
        }
    }

    public long headSize() {
        return hiddenSize / numHeads;
    }
}
