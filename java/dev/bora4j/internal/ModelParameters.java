package dev.bora4j.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;

/** A model's {@code named_parameters()} and {@code named_buffers()} as Java maps, for the code that walks them by name. */
public final class ModelParameters {

    private ModelParameters() {
    }

    /**
     * Every parameter of {@code model} by its dotted name, in the model's order, each a handle of
     * its own: the dict's {@code get} hands out a reference into the dict, which dangles once the
     * dict is freed.
     */
    public static Map<String, Tensor> named(Module model) {
        return copied(model.named_parameters());
    }

    /** Every buffer of {@code model} (BatchNorm's running statistics, say) by its dotted name, likewise. */
    public static Map<String, Tensor> namedBuffers(Module model) {
        return copied(model.named_buffers());
    }

    /** The entries of {@code tensors} (by dotted name) that lie under one of {@code modules}. */
    public static Map<String, Tensor> under(List<String> modules, Map<String, Tensor> tensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            if (modules.stream().anyMatch(m -> name.startsWith(m + "."))) {
                out.put(name, t);
            }
        });
        return out;
    }

    private static Map<String, Tensor> copied(StringTensorDict dict) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        StringVector keys = dict.keys();
        for (long i = 0; i < keys.size(); i++) {
            String key = keys.get(i).getString();
            out.put(key, new Tensor(dict.get(key)));
        }
        return out;
    }
}
