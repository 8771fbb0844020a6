package dev.bora4j.adapters;

import dev.bora4j.nn.BoraAdapters;
import java.util.Collections;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** An adapter folder loaded onto a model: its config, the adapters now attached, and extra tensors. */
public final class LoadedAdapter {

    private final AdapterConfigFile config;
    private final BoraAdapters adapters;
    private final Map<String, Tensor> extraTensors;

    LoadedAdapter(AdapterConfigFile config, BoraAdapters adapters, Map<String, Tensor> extraTensors) {
        this.config = config;
        this.adapters = adapters;
        this.extraTensors = Collections.unmodifiableMap(extraTensors);
    }

    public AdapterConfigFile config() {
        return config;
    }

    public BoraAdapters adapters() {
        return adapters;
    }

    /**
     * The extra tensors (modules_to_save) by their name in the model, e.g. "classifier.weight":
     * new CPU tensors, for the caller to copy into its own modules.
     */
    public Map<String, Tensor> extraTensors() {
        return extraTensors;
    }
}
