package dev.bora4j.adapters;

import dev.bora4j.io.SafetensorsDtype;
import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.io.TensorInfo;
import dev.bora4j.nn.BoraConfig.Mode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The tensors an adapter file must hold for a given model, and the strict check of a file's header
 * against them, before any data is read: every expected key present, nothing unexpected, shapes
 * equal, dtypes equal or widening exactly (a bf16 file onto float32 adapters). The tensors of
 * modules_to_save the model has are optional (a file may hold some of them) but checked the same
 * way when present.
 */
final class ExpectedTensors {

    /** One expected tensor: its module, its shape and dtype, and how the shape follows from the model. */
    record Expected(String module, long[] shape, SafetensorsDtype dtype, String shapeReason) {
    }

    private final Map<String, Expected> byKey = new LinkedHashMap<>();
    /** The model's tensors of modules_to_save, by name without the key prefix. */
    private final Map<String, Expected> saved = new LinkedHashMap<>();

    /**
     * Adds lora_A, lora_B and (BORA mode) bora_sigma of a module with these sizes and adapter
     * dtype; a file may hold them in that dtype or in one that widens to it exactly.
     */
    void addModule(String module, long in, long out, int r, int b, Mode mode, ScalarType dtype) {
        SafetensorsDtype d = SafetensorsTorch.dtypeOf(dtype);
        byKey.put(AdapterKeys.loraA(module), new Expected(module, new long[] {r, in}, d,
                "r = " + r + ", in_features = " + in));
        byKey.put(AdapterKeys.loraB(module), new Expected(module, new long[] {out, r}, d,
                "out_features = " + out + ", r = " + r));
        if (mode == Mode.BORA) {
            byKey.put(AdapterKeys.sigma(module), new Expected(module, new long[] {b, b, r}, d,
                    "b = " + b + ", r = " + r));
        }
    }

    /** Adds a parameter or buffer of a module to save, which the file may hold with its shape and dtype. */
    void addSaved(String name, Tensor target) {
        saved.put(name, new Expected(AdapterKeys.moduleOfExtra(name), target.sizes().vec().get(),
                SafetensorsTorch.dtypeOf(target.scalar_type()), null));
    }

    Map<String, Expected> byKey() {
        return byKey;
    }

    /**
     * Checks the file's tensors against the expected ones and returns the names (without the
     * prefix) of the extra tensors, which must belong to the modules in {@code modulesToSave}.
     */
    List<String> check(SafetensorsReader reader, Path file, List<String> modulesToSave) throws AdapterFileException {
        Map<String, TensorInfo> present = reader.tensors();
        List<String> missing = new ArrayList<>();
        for (String key : byKey.keySet()) {
            if (!present.containsKey(key)) {
                missing.add(key);
            }
        }
        if (!missing.isEmpty()) {
            TreeSet<String> modules = new TreeSet<>();
            missing.forEach(k -> modules.add(byKey.get(k).module()));
            throw new AdapterFileException(file + ": missing " + missing.size() + " tensor(s) " + abbreviate(missing)
                    + " for module(s) " + modules + " of the model; the adapter was saved for a model with other"
                    + " target modules, or the file is incomplete");
        }
        List<String> extras = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        TreeSet<String> extraModules = new TreeSet<>();
        for (String key : present.keySet()) {
            if (byKey.containsKey(key)) {
                continue;
            }
            String name = key.startsWith(AdapterKeys.PREFIX) ? key.substring(AdapterKeys.PREFIX.length()) : null;
            if (name != null && !name.isEmpty() && modulesToSave.contains(AdapterKeys.moduleOfExtra(name))) {
                extras.add(name);
                extraModules.add(AdapterKeys.moduleOfExtra(name));
            } else {
                unexpected.add(key);
            }
        }
        if (!unexpected.isEmpty()) {
            throw new AdapterFileException(file + ": unexpected tensor(s) " + abbreviate(unexpected)
                    + ": neither an adapter tensor of a target module of the model nor under modules_to_save "
                    + modulesToSave);
        }
        for (String m : modulesToSave) {
            if (!extraModules.contains(m)) {
                throw new AdapterFileException(file + ": modules_to_save lists \"" + m + "\" but the file holds no"
                        + " tensor " + AdapterKeys.PREFIX + m + ".*");
            }
        }
        for (String name : extras) {
            checkSaved(file, name, present.get(AdapterKeys.extra(name)));
        }
        for (Map.Entry<String, Expected> e : byKey.entrySet()) {
            TensorInfo info = present.get(e.getKey());
            Expected x = e.getValue();
            if (!Arrays.equals(info.shape(), x.shape())) {
                throw new AdapterFileException(file + ": module '" + x.module() + "': tensor " + e.getKey()
                        + " has shape " + Arrays.toString(info.shape()) + " in the file but the model needs "
                        + Arrays.toString(x.shape()) + " (" + x.shapeReason() + ")");
            }
            if (!info.dtype().widensExactlyTo(x.dtype())) {
                throw new AdapterFileException(file + ": module '" + x.module() + "': tensor " + e.getKey()
                        + " is " + info.dtype() + " in the file but the model's adapters are " + x.dtype()
                        + ", which cannot hold it exactly; load it onto a model whose adapters are " + info.dtype()
                        + " or wider, or convert the file");
            }
        }
        return extras;
    }

    /** An extra tensor under a module whose tensors are restored must be one of them, of its shape and dtype. */
    private void checkSaved(Path file, String name, TensorInfo info) throws AdapterFileException {
        Expected x = saved.get(name);
        String key = AdapterKeys.extra(name);
        if (x == null) {
            String module = AdapterKeys.moduleOfExtra(name);
            if (saved.keySet().stream().anyMatch(n -> n.startsWith(module + "."))) {
                throw new AdapterFileException(file + ": tensor " + key + " is under modules_to_save but the model"
                        + " has no parameter or buffer " + name);
            }
            return; // a module the model does not have: returned as an extra tensor, restored nowhere
        }
        if (!Arrays.equals(info.shape(), x.shape()) || !info.dtype().widensExactlyTo(x.dtype())) {
            throw new AdapterFileException(file + ": tensor " + key + " is " + info.dtype() + " "
                    + Arrays.toString(info.shape()) + " in the file but the model's " + name + " is " + x.dtype() + " "
                    + Arrays.toString(x.shape()));
        }
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 6 ? names.toString() : names.subList(0, 6) + " ... (" + names.size() + " in all)";
    }
}
