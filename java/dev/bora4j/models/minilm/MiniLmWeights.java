package dev.bora4j.models.minilm;

import dev.bora4j.onnx.OnnxModel;
import dev.bora4j.onnx.OnnxNode;
import dev.bora4j.onnx.OnnxTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Loads a BERT encoder's weights from the initializers of its ONNX export. Biases, embeddings
 * and LayerNorms keep their Hugging Face names in the export; the projection weights are
 * anonymous ({@code onnx::MatMul_<N>}), stored [in, out], and are named here after the MatMul
 * node that consumes them ({@code /encoder/layer.0/attention/self/query/MatMul} ->
 * {@code encoder.layer.0.attention.self.query.weight}).
 */
public final class MiniLmWeights {

    /** A buffer of the export, not a parameter: positions are computed with arange. */
    private static final String POSITION_IDS = "embeddings.position_ids";

    private MiniLmWeights() {
    }

    /** An ONNX initializer and whether it must be transposed to become a torch parameter. */
    record Source(OnnxTensor tensor, boolean transpose) {
    }

    /** Hugging Face parameter name -> ONNX initializer. */
    static Map<String, Source> byParameterName(OnnxModel onnx) {
        Map<String, Source> result = new LinkedHashMap<>();
        for (OnnxTensor t : onnx.initializers().values()) {
            if (t.name().equals(POSITION_IDS)) {
                continue;
            }
            if (t.name().startsWith("onnx::MatMul_")) {
                List<OnnxNode> users = onnx.consumersOf(t.name());
                if (users.size() != 1 || !users.get(0).opType().equals("MatMul")
                        || !users.get(0).name().matches("/[\\w./]+/MatMul")) {
                    throw new IllegalArgumentException("cannot tell which projection weight " + t.name()
                            + " is: it should feed exactly one MatMul node named /<module path>/MatMul, found " + users);
                }
                String path = users.get(0).name();
                String module = path.substring(1, path.length() - "/MatMul".length()).replace('/', '.');
                put(result, module + ".weight", new Source(t, true));
            } else {
                put(result, t.name(), new Source(t, false));
            }
        }
        return result;
    }

    private static void put(Map<String, Source> map, String name, Source source) {
        if (map.put(name, source) != null) {
            throw new IllegalArgumentException("two ONNX initializers map to parameter " + name);
        }
    }

    /**
     * Copies every parameter of {@code model} from the export. Fails if a parameter has no
     * initializer, a shape differs, or an initializer is left unused.
     */
    public static void load(MiniLmModel model, OnnxModel onnx) {
        if (!ByteOrder.nativeOrder().equals(ByteOrder.LITTLE_ENDIAN)) {
            throw new UnsupportedOperationException("ONNX raw_data is little-endian; big-endian hosts are not supported");
        }
        Map<String, Source> sources = byParameterName(onnx);
        Set<String> used = new HashSet<>();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> entry : MiniLmModules.namedParameters(model).entrySet()) {
                String name = entry.getKey();
                Tensor param = entry.getValue();
                String hfName = huggingFaceName(name);
                Source source = sources.get(hfName);
                if (source == null) {
                    throw new IllegalArgumentException("no ONNX initializer for parameter " + name
                            + " (looked for " + hfName + ")");
                }
                copyInto(param, source, name);
                used.add(hfName);
            }
        }
        if (!used.containsAll(sources.keySet())) {
            Set<String> unused = new HashSet<>(sources.keySet());
            unused.removeAll(used);
            throw new IllegalArgumentException("ONNX initializers not used by the model: " + unused);
        }
        checkPositionIds(onnx, model.config().maxPositions());
    }

    /** Our projections wrap a torch Linear as child "base"; the export has no such level. */
    static String huggingFaceName(String parameterName) {
        return parameterName.replace(".base.", ".");
    }

    private static void copyInto(Tensor param, Source source, String name) {
        OnnxTensor t = source.tensor();
        if (t.dataType() != OnnxTensor.FLOAT) {
            throw new IllegalArgumentException("initializer " + t.name() + " for " + name + " has ONNX type "
                    + t.dataType() + ", expected FLOAT (1)");
        }
        long[] dims = t.dims();
        long[] expected = new long[(int) param.dim()];
        for (int d = 0; d < expected.length; d++) {
            expected[d] = param.size(d);
        }
        long[] asStored = source.transpose() && expected.length == 2
                ? new long[] {expected[1], expected[0]} : expected;
        if (!Arrays.equals(dims, asStored)) {
            throw new IllegalArgumentException("initializer " + t.name() + " has shape " + Arrays.toString(dims)
                    + " but parameter " + name + " needs " + Arrays.toString(asStored)
                    + (source.transpose() ? " (stored [in, out])" : ""));
        }
        Tensor stored = torch.empty(dims);
        // raw_data is not 4-byte aligned in the file: copy byte-wise into the aligned tensor.
        new BytePointer(stored.data_ptr()).capacity(t.length()).put(t.buffer(), t.offset(), t.length());
        param.copy_(source.transpose() ? stored.t() : stored);
    }

    private static void checkPositionIds(OnnxModel onnx, long maxPositions) {
        OnnxTensor ids = onnx.initializers().get(POSITION_IDS);
        if (ids == null) {
            return;
        }
        if (ids.dataType() != OnnxTensor.INT64 || ids.numel() != maxPositions) {
            throw new IllegalArgumentException(POSITION_IDS + " should be " + maxPositions + " int64 values, got " + ids);
        }
        ByteBuffer bb = ByteBuffer.wrap(ids.buffer(), ids.offset(), ids.length())
                .order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < maxPositions; i++) {
            if (bb.getLong() != i) {
                throw new IllegalArgumentException(POSITION_IDS + " is not 0, 1, 2, ...: the encoder computes "
                        + "positions with arange and would not match this export");
            }
        }
    }
}
