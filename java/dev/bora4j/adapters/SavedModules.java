package dev.bora4j.adapters;

import dev.bora4j.internal.ModelParameters;
import dev.bora4j.io.SafetensorsDtype;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.BoraAdapters;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;

/**
 * The modules_to_save of an adapter folder: written as extra tensors (parameters and buffers,
 * as in PEFT's state dict) and, on load, checked against the model and copied back into it.
 */
final class SavedModules {

    private SavedModules() {
    }

    /** The model's parameters, then its buffers, by dotted name: what a saved module holds. */
    static Map<String, Tensor> state(Module model) {
        Map<String, Tensor> state = ModelParameters.named(model);
        state.putAll(ModelParameters.namedBuffers(model));
        return state;
    }

    /** The tensors of {@code state} that lie under one of {@code modules}. */
    static Map<String, Tensor> under(List<String> modules, Map<String, Tensor> state) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.forEach((name, t) -> {
            if (modules.stream().anyMatch(m -> name.startsWith(m + "."))) {
                out.put(name, t);
            }
        });
        return out;
    }

    /**
     * The file's modules_to_save that name modules of the model (exact paths, as save writes
     * them). The injector matches them as name suffixes, as PEFT does, so a name that would also
     * catch another module, whose parameters the file does not hold, is refused.
     */
    static List<String> presentIn(Module model, List<String> listed, Set<String> params, Path configPath)
            throws AdapterFileException {
        List<String> present = listed.stream().filter(m -> params.stream().anyMatch(p -> p.startsWith(m + ".")))
                .toList();
        StringVector names = present.isEmpty() ? new StringVector() : model.named_modules().keys();
        for (long i = 0; i < names.size(); i++) {
            BytePointer key = names.get(i);
            String name = key == null ? "" : key.getString(); // the root module's name is empty
            for (String m : present) {
                if (name.endsWith("." + m) && !present.contains(name)) {
                    throw new AdapterFileException(configPath + ": modules_to_save \"" + m + "\" also names module '"
                            + name + "' of this model (names match as suffixes), whose parameters the adapter does"
                            + " not hold");
                }
            }
        }
        return present;
    }

    /**
     * The file's values for {@code params} (parameters and buffers of modules_to_save, by name),
     * checked before anything changes: of the tensor's shape, in its dtype or one that widens to it
     * exactly, finite. A tensor the file lacks keeps its value (files written before buffers were
     * saved restore the parameters); extras under those modules that the model does not have are
     * refused.
     */
    static Map<String, Tensor> checked(Path weights, Map<String, Tensor> extras, Map<String, Tensor> params)
            throws AdapterFileException {
        Map<String, Tensor> restored = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            String name = e.getKey();
            Tensor param = e.getValue();
            Tensor value = extras.get(name);
            String key = AdapterKeys.extra(name);
            if (value == null) {
                continue; // files written with only some of a module's tensors (the weight, say) restore those
            }
            SafetensorsDtype have = SafetensorsTorch.dtypeOf(value.scalar_type());
            SafetensorsDtype need = SafetensorsTorch.dtypeOf(param.scalar_type());
            if (!Arrays.equals(value.sizes().vec().get(), param.sizes().vec().get())
                    || !have.widensExactlyTo(need)) {
                throw new AdapterFileException(weights + ": tensor " + key + " is " + have + " "
                        + Arrays.toString(value.sizes().vec().get()) + " in the file but the model's " + name
                        + " is " + need + " " + Arrays.toString(param.sizes().vec().get()));
            }
            BoraAdapterFiles.requireFinite(weights, key, value);
            restored.put(name, value);
        }
        for (String name : extras.keySet()) {
            String module = AdapterKeys.moduleOfExtra(name);
            boolean underRestored = params.keySet().stream().anyMatch(p -> p.startsWith(module + "."));
            if (underRestored && !params.containsKey(name)) {
                throw new AdapterFileException(weights + ": tensor " + AdapterKeys.extra(name) + " is under"
                        + " modules_to_save but the model has no parameter or buffer " + name);
            }
        }
        return restored;
    }

    /** Copies the checked {@code values} into the model's tensors of the same names. */
    static void copy(Map<String, Tensor> values, Map<String, Tensor> params) {
        try (NoGradGuard ng = new NoGradGuard()) {
            values.forEach((name, value) -> params.get(name).copy_(value));
        }
    }

    /**
     * The options plus the adapters' modules_to_save state (parameters and buffers) as extra
     * tensors; a tensor the options name explicitly is the one written.
     */
    static AdapterSaveOptions withState(AdapterSaveOptions options, BoraAdapters adapters) {
        AdapterSaveOptions out = options;
        for (Map.Entry<String, Tensor> e : adapters.modulesToSaveState().entrySet()) {
            if (!options.extraTensors().containsKey(e.getKey())) {
                out = out.withExtraTensor(e.getKey(), e.getValue());
            }
        }
        return out;
    }
}
