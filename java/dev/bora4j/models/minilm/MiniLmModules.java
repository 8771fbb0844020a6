package dev.bora4j.models.minilm;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Tensor;

/** Small construction and inspection helpers shared by the MiniLM modules. */
final class MiniLmModules {

    private MiniLmModules() {
    }

    /**
     * Parameters by dotted name, in registration order. Goes through keys() and values(): an
     * item fetched with get(i) is a temporary whose tensor must not be used after it.
     */
    static Map<String, Tensor> namedParameters(Module module) {
        org.bytedeco.pytorch.StringTensorDict dict = module.named_parameters(true);
        StringVector keys = dict.keys();
        TensorVector values = dict.values();
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (long i = 0; i < keys.size(); i++) {
            result.put(keys.get(i).getString(), values.get(i));
        }
        return result;
    }

    static LayerNormImpl layerNorm(long size, double eps) {
        // new LongVector(n) would be n zeros, not the shape [n]
        LayerNormOptions options = new LayerNormOptions(new LongVector().push_back(size));
        options.eps().put(eps);
        return new LayerNormImpl(options);
    }
}
