package dev.bora4j.models.minilm;

import dev.bora4j.onnx.OnnxModel;
import dev.bora4j.onnx.OnnxModelReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The MiniLM (BERT) encoder rebuilt with libtorch modules. Module and parameter names follow
 * Hugging Face's BertModel ({@code embeddings.*}, {@code encoder.layer.<i>.attention.self.query},
 * ...), so adapters can be attached by module name. Every projection is an
 * {@link dev.bora4j.nn.AdaptableLinear}; its weights are under {@code <name>.base.*}.
 * There is no pooler: the sentence embedding is the mean of the token states over the mask,
 * as sentence-transformers computes it for all-MiniLM-L6-v2.
 * <p>By default the layers run on the real tokens only ({@link TokenPacking}): every
 * projection, adapter, LayerNorm and FFN skips the padding, and attention alone sees the padded
 * layout. {@link #setPackTokens(boolean) setPackTokens(false)} runs everything on the padded
 * batch instead (the same results up to rounding, slower).
 * {@link #setAttentionImplementation} picks eager attention (the default) or torch's fused
 * {@code scaled_dot_product_attention}; {@link EncoderMode} sets both.
 * <p>Forward calls allocate native tensors that JavaCPP frees only when their handles are
 * released: run them inside a {@link org.bytedeco.javacpp.PointerScope} (one per step) and
 * under a {@link org.bytedeco.pytorch.NoGradGuard} when no gradient is needed.
 */
public final class MiniLmModel extends Module {

    private final MiniLmConfig config;
    private final MiniLmEmbeddings embeddings;
    private final MiniLmLayer[] layers;
    // Java-created modules must stay reachable from Java while the native tree holds them:
    // libtorch calls back into their Java peers (train(), eval(), ...).
    private final Module encoderContainer;
    private final Module layerContainer;
    private boolean packTokens = true;
    private AttentionImplementation attention = AttentionImplementation.EAGER;

    /** A randomly initialised, trainable encoder of the given shape. */
    public MiniLmModel(MiniLmConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        this.config = config;
        embeddings = register_module("embeddings", new MiniLmEmbeddings(config));
        encoderContainer = register_module("encoder", new Module());
        layerContainer = encoderContainer.register_module("layer", new Module());
        layers = new MiniLmLayer[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = layerContainer.register_module(Integer.toString(i), new MiniLmLayer(config));
        }
    }

    /** all-MiniLM-L6-v2 loaded from the ONNX file on the classpath, frozen and in eval mode. */
    public static MiniLmModel loadPretrained() {
        try (InputStream in = MiniLmResources.open(MiniLmResources.ONNX_MODEL)) {
            return fromOnnx(OnnxModelReader.read(in), MiniLmConfig.ALL_MINILM_L6_V2);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + MiniLmResources.ONNX_MODEL, e);
        }
    }

    /** An encoder of the given shape with every parameter copied from the export, frozen, in eval mode. */
    public static MiniLmModel fromOnnx(OnnxModel onnx, MiniLmConfig config) {
        MiniLmModel model = new MiniLmModel(config);
        MiniLmWeights.load(model, onnx);
        model.setTrainable(false);
        model.eval();
        return model;
    }

    public MiniLmConfig config() {
        return config;
    }

    public MiniLmLayer layer(int index) {
        return layers[index];
    }

    /** Turns requires_grad on or off for every base parameter (pretrained weights are frozen by default). */
    public void setTrainable(boolean trainable) {
        TensorVector params = parameters(true);
        for (long i = 0; i < params.size(); i++) {
            params.get(i).set_requires_grad(trainable);
        }
    }

    public long parameterCount() {
        TensorVector params = parameters(true);
        long n = 0;
        for (long i = 0; i < params.size(); i++) {
            n += params.get(i).numel();
        }
        return n;
    }

    /** Whether the layers run on the real tokens only (the default) or on the padded batch. */
    public boolean packsTokens() {
        return packTokens;
    }

    /** Runs the layers on the real tokens only (true, the default) or on the padded batch (false). */
    public void setPackTokens(boolean packTokens) {
        this.packTokens = packTokens;
    }

    /** How attention is computed: {@link AttentionImplementation#EAGER} unless set. */
    public AttentionImplementation attentionImplementation() {
        return attention;
    }

    /** Computes attention with {@code implementation} in every layer. */
    public void setAttentionImplementation(AttentionImplementation implementation) {
        if (implementation == null) {
            throw new IllegalArgumentException("implementation must not be null");
        }
        attention = implementation;
        for (MiniLmLayer layer : layers) {
            layer.attention().self().setImplementation(implementation);
        }
    }

    /**
     * Last-layer token states [batch, seq, hidden], e.g. for a token classification head. At the
     * padding they are 0 when tokens are packed, meaningless values otherwise.
     */
    public Tensor tokenStates(TokenBatch batch) {
        if (!packTokens) {
            return encode(batch, null);
        }
        TokenPacking packing = TokenPacking.of(batch.attentionMask());
        return packing.unpack(encode(batch, packing));
    }

    /** Sentence embeddings [batch, hidden]: token states mean-pooled over the attention mask. */
    public Tensor sentenceEmbeddings(TokenBatch batch) {
        if (!packTokens) {
            return meanPool(encode(batch, null), batch.attentionMask());
        }
        TokenPacking packing = TokenPacking.of(batch.attentionMask());
        return packing.sentenceMeans(encode(batch, packing));
    }

    /** The layers' output, packed [tokens, hidden] when {@code packing} is given, else [batch, seq, hidden]. */
    private Tensor encode(TokenBatch batch, TokenPacking packing) {
        Tensor mask = additiveMask(batch.attentionMask());
        Tensor hidden = embeddings.forward(batch.inputIds(), batch.tokenTypeIds());
        if (packing != null) {
            hidden = packing.pack(hidden);
        }
        for (MiniLmLayer layer : layers) {
            hidden = layer.forward(hidden, mask, packing);
        }
        return hidden;
    }

    /** Mean of {@code states} [batch, seq, hidden] over the positions where {@code attentionMask} [batch, seq] is 1. */
    public static Tensor meanPool(Tensor states, Tensor attentionMask) {
        Tensor mask = attentionMask.to(states.scalar_type()).unsqueeze(-1);
        Tensor summed = states.mul(mask).sum(1);
        Tensor counts = mask.sum(1).clamp_min(new Scalar(1e-9));
        return summed.div(counts);
    }

    /** (1 - mask) * lowest float, shaped [batch, 1, 1, seq] to broadcast over heads and queries. */
    static Tensor additiveMask(Tensor attentionMask) {
        Tensor m = attentionMask.to(torch.ScalarType.Float);
        return m.add(new Scalar(-1.0)).mul(new Scalar((double) Float.MAX_VALUE))
                .unsqueeze(1).unsqueeze(2);
    }
}
