package dev.bora4j.nn;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The adapters {@link BoraInjector} attached to a model, by module name, and what a training
 * loop needs from them: the trainable parameters (named {@code <module>.adapter.lora_A},
 * {@code <module>.adapter.lora_B}, {@code <module>.adapter.bora_sigma}; HiRA's
 * {@code hira_A} / {@code hira_B}; KronA's {@code krona_A} / {@code krona_B}), merge and unmerge,
 * switching them all off for a while ({@link #disabled()}) and taking them out of the model
 * ({@link #mergeAndUnload()}, {@link #unload()}).
 */
public final class BoraAdapters {

    // emptied by unload() / mergeAndUnload(): the model no longer holds these adapters
    private Map<String, TrainableAdapter> adapters;
    private List<AdaptableLinear> layers;
    private Map<String, Tensor> modulesToSave;
    private Map<String, Tensor> modulesToSaveBuffers;

    BoraAdapters(Map<String, ? extends TrainableAdapter> adapters, Collection<AdaptableLinear> layers,
            Map<String, Tensor> modulesToSaveParameters, Map<String, Tensor> modulesToSaveBuffers) {
        this.adapters = Collections.unmodifiableMap(new LinkedHashMap<>(adapters));
        this.layers = List.copyOf(layers);
        this.modulesToSave = Collections.unmodifiableMap(new LinkedHashMap<>(modulesToSaveParameters));
        this.modulesToSaveBuffers = Collections.unmodifiableMap(new LinkedHashMap<>(modulesToSaveBuffers));
    }

    /** Every adapter by the name of the module it is attached to, in model order. */
    public Map<String, TrainableAdapter> all() {
        return adapters;
    }

    /**
     * The BoRA-family adapters (BORA, LORA, MELORA modes) by module name, in model order.
     *
     * @throws IllegalStateException if the adapters are HiRA or KronA ones, which have no
     *     A / B / Sigma block layout; use {@link #all()} for those
     */
    public Map<String, BoraAdapter> byModule() {
        Map<String, BoraAdapter> bora = new LinkedHashMap<>();
        for (Map.Entry<String, TrainableAdapter> e : adapters.entrySet()) {
            if (!(e.getValue() instanceof BoraAdapter b)) {
                throw new IllegalStateException("module '" + e.getKey() + "' has a " + e.getValue().config().mode()
                        + " adapter, which is not a BoraAdapter (no lora_A / lora_B / Sigma layout); use all()");
            }
            bora.put(e.getKey(), b);
        }
        return Collections.unmodifiableMap(bora);
    }

    /**
     * Trainable tensors by their name in the model's named_parameters(): the adapters', then those
     * of the config's modules_to_save.
     */
    public Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (Map.Entry<String, TrainableAdapter> e : adapters.entrySet()) {
            String prefix = e.getKey() + "." + AdaptableLinear.ADAPTER_CHILD + ".";
            for (Map.Entry<String, Tensor> t : e.getValue().trainableTensors().entrySet()) {
                params.put(prefix + t.getKey(), t.getValue());
            }
        }
        params.putAll(modulesToSaveParameters());
        return params;
    }

    /**
     * The parameters of the modules the config lists in modules_to_save (trained with the adapters
     * and saved with them), by name in the model; new handles.
     */
    public Map<String, Tensor> modulesToSaveParameters() {
        Map<String, Tensor> params = new LinkedHashMap<>();
        modulesToSave.forEach((name, t) -> params.put(name, new Tensor(t)));
        return params;
    }

    /**
     * Everything of the modules_to_save that save writes and load restores, by name in the model:
     * their parameters, then their buffers (BatchNorm's running statistics, say), as in PEFT's
     * state dict; new handles.
     */
    public Map<String, Tensor> modulesToSaveState() {
        Map<String, Tensor> state = modulesToSaveParameters();
        modulesToSaveBuffers.forEach((name, t) -> state.put(name, new Tensor(t)));
        return state;
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

    /**
     * Merges every adapter into its base weight (for inference without adapter cost).
     *
     * @throws IllegalStateException if an adapter is switched off ({@link #disabled()}); nothing
     *     is merged then
     */
    public void merge() {
        layers.forEach(AdaptableLinear::requireEnabledForMerge);
        adapters.values().forEach(TrainableAdapter::merge);
    }

    /** Undoes {@link #merge()}. */
    public void unmerge() {
        adapters.values().forEach(TrainableAdapter::unmerge);
    }

    /**
     * Merges every adapter into its base weight and detaches it, as PEFT's
     * {@code merge_and_unload()} does: the model is a plain model again that computes what the
     * adapted one did, with no adapter tensors in its {@code named_parameters()} or state and no
     * adapter code in its forward. The base parameters stay frozen; the modules_to_save keep what
     * they learned and are frozen too. Afterwards this object holds
     * no adapters (every method acts on none).
     *
     * @throws IllegalStateException if an adapter is switched off ({@link #disabled()}); nothing
     *     is merged or detached then
     */
    public void mergeAndUnload() {
        merge();
        detachAll();
    }

    /**
     * Detaches every adapter without merging it, as PEFT's {@code unload()} does: the model
     * computes its base outputs again (merged adapters are unmerged first). Afterwards this
     * object holds no adapters.
     */
    public void unload() {
        unmerge();
        detachAll();
    }

    private void detachAll() {
        for (AdaptableLinear layer : layers) {
            if (adapters.containsValue(layer.adapter())) {
                layer.setAdapter(null);
                layer.setAdapterEnabled(true);
            }
        }
        adapters.values().forEach(TrainableAdapter::release);
        for (Tensor p : modulesToSave.values()) { // frozen like the rest of the base model, handle let go
            p.requires_grad_(false);
            p.releaseReference();
        }
        modulesToSaveBuffers.values().forEach(Tensor::releaseReference);
        adapters = Map.of();
        layers = List.of();
        modulesToSave = Map.of();
        modulesToSaveBuffers = Map.of();
    }

    /**
     * Switches every adapter off until the returned scope is closed, as PEFT's
     * {@code with model.disable_adapter():} does: inside it the model computes its base outputs
     * (a reference model for free), and closing it switches back on the adapters it switched
     * off, so scopes nest.
     *
     * <pre>{@code
     * try (BoraAdapters.Disabled base = adapters.disabled()) {
     *     Tensor reference = model.forward(x);
     * }
     * }</pre>
     *
     * @throws IllegalStateException if an adapter is merged into its base weight (unmerge first);
     *     no adapter is switched off then
     */
    public Disabled disabled() {
        layers.forEach(AdaptableLinear::requireNotMerged);
        List<AdaptableLinear> switchedOff = new ArrayList<>();
        for (AdaptableLinear layer : layers) {
            if (layer.isAdapterEnabled()) {
                layer.setAdapterEnabled(false);
                switchedOff.add(layer);
            }
        }
        return new Disabled(switchedOff);
    }

    /** The scope of {@link #disabled()}: closing it switches its adapters back on. */
    public static final class Disabled implements AutoCloseable {
        private final List<AdaptableLinear> switchedOff;
        private boolean closed;

        private Disabled(List<AdaptableLinear> switchedOff) {
            this.switchedOff = switchedOff;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                switchedOff.forEach(layer -> layer.setAdapterEnabled(true));
            }
        }
    }
}
