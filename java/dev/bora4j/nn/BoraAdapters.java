package dev.bora4j.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The adapters {@link BoraInjector} attached to a model, by module name, and what a training
 * loop needs from them: the trainable parameters (named {@code <module>.adapter.lora_A},
 * {@code <module>.adapter.lora_B}, {@code <module>.adapter.bora_sigma}), merge and unmerge.
 */
public final class BoraAdapters {

    private final Map<String, BoraAdapter> adapters;

    BoraAdapters(Map<String, BoraAdapter> adapters) {
        this.adapters = Collections.unmodifiableMap(new LinkedHashMap<>(adapters));
    }

    /** Adapters by the name of the module they are attached to, in model order. */
    public Map<String, BoraAdapter> byModule() {
        return adapters;
    }

    /** Trainable tensors by their name in the model's named_parameters(). */
    public Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (Map.Entry<String, BoraAdapter> e : adapters.entrySet()) {
            String prefix = e.getKey() + "." + AdaptableLinear.ADAPTER_CHILD + ".";
            BoraAdapter a = e.getValue();
            params.put(prefix + "lora_A", a.loraA());
            params.put(prefix + "lora_B", a.loraB());
            if (a.config().mode() == BoraConfig.Mode.BORA) {
                params.put(prefix + "bora_sigma", a.sigmaParameter());
            }
        }
        return params;
    }

    /** The trainable tensors for a torch optimizer, e.g. {@code new AdamW(adapters.parameters(), opts)}. */
    public TensorVector parameters() {
        return new TensorVector(trainableParameters().values().toArray(new Tensor[0]));
    }

    /** Number of trainable scalars. */
    public long trainableCount() {
        long n = 0;
        for (Tensor t : trainableParameters().values()) {
            n += t.numel();
        }
        return n;
    }

    /** Merges every adapter into its base weight (for inference without adapter cost). */
    public void merge() {
        adapters.values().forEach(BoraAdapter::merge);
    }

    /** Undoes {@link #merge()}. */
    public void unmerge() {
        adapters.values().forEach(BoraAdapter::unmerge);
    }
}
