package dev.bora4j.models.minilm;

import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** BERT input embeddings: word + token type + position, then LayerNorm (HF name "embeddings"). */
public final class MiniLmEmbeddings extends Module {

    private final EmbeddingImpl wordEmbeddings;
    private final EmbeddingImpl positionEmbeddings;
    private final EmbeddingImpl tokenTypeEmbeddings;
    private final LayerNormImpl layerNorm;
    private final long maxPositions;

    MiniLmEmbeddings(MiniLmConfig config) {
        wordEmbeddings = register_module("word_embeddings", new EmbeddingImpl(config.vocabSize(), config.hiddenSize()));
        positionEmbeddings = register_module("position_embeddings",
                new EmbeddingImpl(config.maxPositions(), config.hiddenSize()));
        tokenTypeEmbeddings = register_module("token_type_embeddings",
                new EmbeddingImpl(config.typeVocabSize(), config.hiddenSize()));
        layerNorm = register_module("LayerNorm", MiniLmModules.layerNorm(config.hiddenSize(), config.layerNormEps()));
        maxPositions = config.maxPositions();
    }

    /** @param inputIds [batch, seq] int64; @param tokenTypeIds [batch, seq] int64; returns [batch, seq, hidden]. */
    public Tensor forward(Tensor inputIds, Tensor tokenTypeIds) {
        long seq = inputIds.size(1);
        if (seq > maxPositions) {
            throw new IllegalArgumentException("sequence of " + seq + " tokens exceeds the model's "
                    + maxPositions + " positions; truncate it");
        }
        Tensor positions = torch.arange(new Scalar(0), new Scalar(seq),
                new TensorOptions().dtype(new ScalarTypeOptional(torch.ScalarType.Long)));
        // Same order of additions as the exported graph: (word + type) + position.
        Tensor sum = wordEmbeddings.forward(inputIds).add(tokenTypeEmbeddings.forward(tokenTypeIds))
                .add(positionEmbeddings.forward(positions.unsqueeze(0)));
        return layerNorm.forward(sum);
    }
}
