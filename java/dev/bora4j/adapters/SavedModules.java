package dev.bora4j.adapters;

import dev.bora4j.internal.ModelParameters;
import dev.bora4j.nn.BoraAdapters;
import java.nio.file.Path;
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
     * The file's values for {@code targets} (parameters and buffers of modules_to_save, by name),
     * whose shapes and dtypes {@link ExpectedTensors} checked from the header, refused if not
     * finite, before anything changes. A tensor the file lacks keeps its value (files written
     * before buffers were saved restore the parameters).
     */
    static Map<String, Tensor> finiteValues(Path weights, Map<String, Tensor> extras, Map<String, Tensor> targets)
            throws AdapterFileException {
        Map<String, Tensor> restored = new LinkedHashMap<>();
        for (String name : targets.keySet()) {
            Tensor value = extras.get(name);
            if (value != null) {
                BoraAdapterFiles.requireFinite(weights, AdapterKeys.extra(name), value);
                restored.put(name, value);
            }
        }
        return restored;
    }

    /** Expects the tensors of {@code targets} in the file: optional, of their shapes and dtypes. */
    static void expect(ExpectedTensors expected, Map<String, Tensor> targets) {
        targets.forEach(expected::addSaved);
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
