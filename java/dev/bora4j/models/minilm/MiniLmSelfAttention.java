package dev.bora4j.models.minilm;

import dev.bora4j.nn.AdaptableLinear;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** Multi-head scaled dot-product self-attention with separate query/key/value projections (HF "attention.self"). */
public final class MiniLmSelfAttention extends Module {

    private final AdaptableLinear query;
    private final AdaptableLinear key;
    private final AdaptableLinear value;
    private final long numHeads;
    private final long headSize;
    private final double scale;
    private AttentionImplementation implementation = AttentionImplementation.EAGER;

    MiniLmSelfAttention(MiniLmConfig config) {
        long h = config.hiddenSize();
        query = register_module("query", new AdaptableLinear(new LinearImpl(h, h)));
        key = register_module("key", new AdaptableLinear(new LinearImpl(h, h)));
        value = register_module("value", new AdaptableLinear(new LinearImpl(h, h)));
        numHeads = config.numHeads();
        headSize = config.headSize();
        scale = Math.sqrt(headSize);
    }

    public AdaptableLinear query() {
        return query;
    }

    public AdaptableLinear key() {
        return key;
    }

    public AdaptableLinear value() {
        return value;
    }

    void setImplementation(AttentionImplementation implementation) {
        this.implementation = implementation;
    }

    /**
     * @param hidden        [batch, seq, hidden], or [tokens, hidden] when {@code packing} is given
     * @param additiveMask  [batch, 1, 1, seq]: 0 where attended, a huge negative value at padding
     * @param packing       the real tokens of the batch when {@code hidden} is packed, else null
     * @return the attention context in the layout of {@code hidden}
     */
    public Tensor forward(Tensor hidden, Tensor additiveMask, TokenPacking packing) {
        long batch = additiveMask.size(0);
        long seq = additiveMask.size(3);
        // the projections run on the tokens as given; attention itself needs the padded layout
        Tensor q = heads(padded(query.forward(hidden), packing), batch, seq);
        Tensor k = heads(padded(key.forward(hidden), packing), batch, seq);
        Tensor v = heads(padded(value.forward(hidden), packing), batch, seq);
        Tensor context = attend(q, k, v, additiveMask).permute(0, 2, 1, 3).contiguous()
                .reshape(batch, seq, numHeads * headSize);
        return packing == null ? context : packing.pack(context);
    }

    /** softmax(q k^T / sqrt(d) + mask) v over [batch, heads, seq, headSize]. */
    private Tensor attend(Tensor q, Tensor k, Tensor v, Tensor additiveMask) {
        if (implementation == AttentionImplementation.SDPA) {
            return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(additiveMask), 0.0, false,
                    new DoubleOptional(), false);
        }
        // Divide (not multiply by the reciprocal) as the exported graph does.
        Tensor scores = q.matmul(k.transpose(-1, -2)).div(new Scalar(scale)).add(additiveMask);
        return scores.softmax(-1).matmul(v);
    }

    private static Tensor padded(Tensor x, TokenPacking packing) {
        return packing == null ? x : packing.unpack(x);
    }

    /** [batch, seq, heads*headSize] -> [batch, heads, seq, headSize]. */
    private Tensor heads(Tensor x, long batch, long seq) {
        return x.reshape(batch, seq, numHeads, headSize).permute(0, 2, 1, 3);
    }
}
