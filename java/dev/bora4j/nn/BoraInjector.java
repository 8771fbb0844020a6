package dev.bora4j.nn;

import dev.bora4j.internal.ModelParameters;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringSharedModuleDict;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;

/**
 * Injects BoRA adapters into an existing torch model by module name, as PEFT's
 * {@code get_peft_model} does with {@code target_modules}: every {@link AdaptableLinear} whose
 * name matches the config gets a {@link BoraAdapter} ({@link HiraAdapter}, {@link KronaAdapter}
 * in those modes), and every base parameter is frozen.
 */
public final class BoraInjector {

    private static final String TORCH_LINEAR = "torch::nn::LinearImpl";

    private BoraInjector() {
    }

    /**
     * Freezes all parameters of {@code model} (but those of adapters attached before), attaches an
     * adapter to each matching {@link AdaptableLinear}, and returns the adapters with their
     * trainable parameters.
     *
     * @throws IllegalArgumentException if a matching module is a plain torch Linear, already has
     *     an adapter, has sizes the block count does not divide, or if nothing matches
     */
    public static BoraAdapters inject(Module model, BoraConfig config) {
        if (model == null || config == null) {
            throw new IllegalArgumentException("model and config must not be null");
        }
        Map<String, AdaptableLinear> targets = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        StringSharedModuleDict modules = model.named_modules();
        StringVector keys = modules.keys();
        List<String> adaptablePrefixes = new ArrayList<>();
        for (long i = 0; i < keys.size(); i++) {
            BytePointer key = keys.get(i);
            String name = key == null ? "" : key.getString();
            names.add(name);
            if (isInsideAdaptable(name, adaptablePrefixes)) {
                continue; // the base Linear and the adapter of an AdaptableLinear are not targets themselves
            }
            Module m = modules.get(name);
            AdaptableLinear al = AdaptableLinear.lookup(m);
            if (al != null) {
                adaptablePrefixes.add(name);
            }
            if (!config.matches(name)) {
                continue;
            }
            if (al == null) {
                if (TORCH_LINEAR.equals(m.name().getString())) {
                    throw new IllegalArgumentException("module '" + name + "' matches the target modules but is a"
                            + " plain torch Linear; build it as new AdaptableLinear(linear) so an adapter can be"
                            + " attached");
                }
                continue; // containers and other layers whose names match (e.g. by a broad regex)
            }
            if (al.adapter() != null) {
                throw new IllegalArgumentException("module '" + name + "' already has an adapter; detach it with"
                        + " setAdapter(null) first");
            }
            if (al.inFeatures() % config.blocks() != 0 || al.outFeatures() % config.blocks() != 0) {
                throw new IllegalArgumentException("module '" + name + "' is " + al.inFeatures() + " -> "
                        + al.outFeatures() + " features, which the block count b = " + config.blocks()
                        + " does not divide; choose b among the common divisors or exclude the module");
            }
            targets.put(name, al);
        }
        if (targets.isEmpty()) {
            String excluded = config.describeExclusions();
            throw new IllegalArgumentException("no AdaptableLinear module matches the target modules "
                    + config.targetModules() + (config.targetRegex() != null ? " / regex " + config.targetRegex() : "")
                    + (excluded != null ? " once exclude_modules " + excluded + " are left out" : "")
                    + "; module names are " + abbreviate(names));
        }
        // Every adapter is built before the model changes: one that cannot be (a KronA factor that
        // does not divide, no memory) leaves the model as it was, so the call can be retried.
        Map<String, Tensor> params = ModelParameters.named(model);
        List<String> adapterPrefixes = adapterPrefixes(adaptablePrefixes);
        List<String> savedModules = modulesToSave(config, names, targets.keySet());
        Map<String, Tensor> saved = under(savedModules, params, adapterPrefixes);
        Map<String, Tensor> savedBuffers = under(savedModules, ModelParameters.namedBuffers(model), adapterPrefixes);
        Map<String, TrainableAdapter> adapters = new LinkedHashMap<>();
        for (Map.Entry<String, AdaptableLinear> e : targets.entrySet()) {
            adapters.put(e.getKey(), newAdapter(e.getValue(), config));
        }
        freezeAllButAdapters(params, adapterPrefixes);
        saved.values().forEach(p -> p.requires_grad_(true));
        for (Map.Entry<String, AdaptableLinear> e : targets.entrySet()) {
            e.getValue().setAdapter(adapters.get(e.getKey())); // a child module: the model holds it strongly too
        }
        return new BoraAdapters(adapters, targets.values(), saved, savedBuffers);
    }

    /**
     * The names of the modules the config's modules_to_save select.
     *
     * @throws IllegalArgumentException if a name matches no module, or matches an adapter target
     */
    private static List<String> modulesToSave(BoraConfig config, List<String> moduleNames,
            java.util.Set<String> targets) {
        List<String> savedModules = new ArrayList<>();
        if (config.modulesToSave().isEmpty()) {
            return savedModules;
        }
        for (String name : moduleNames) {
            if (config.savesModule(name)) {
                for (String t : targets) {
                    if (name.equals(t) || name.startsWith(t + ".") || t.startsWith(name + ".")) {
                        throw new IllegalArgumentException("module '" + name + "' is in modules_to_save and holds"
                                + " or is the adapter target '" + t + "'; a module is either adapted or saved whole");
                    }
                }
                savedModules.add(name);
            }
        }
        for (String wanted : config.modulesToSave()) {
            if (savedModules.stream().noneMatch(m -> BoraConfig.isOrEndsWith(m, wanted))) {
                throw new IllegalArgumentException("modules_to_save '" + wanted + "' matches no module; module names"
                        + " are " + abbreviate(moduleNames));
            }
        }
        return savedModules;
    }

    /** The tensors (parameters or buffers) of the given modules, other than earlier adapters'. */
    private static Map<String, Tensor> under(List<String> modules, Map<String, Tensor> tensors,
            List<String> adapterPrefixes) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        ModelParameters.under(modules, tensors).forEach((key, t) -> {
            if (adapterPrefixes.stream().noneMatch(key::startsWith)) { // not an earlier adapter's
                out.put(key, t.retainReference()); // held by BoraAdapters beyond any PointerScope
            }
        });
        return out;
    }

    /**
     * Freezes every parameter of the model except those of adapters attached earlier (an earlier
     * inject or load on other modules): those stay as trainable as they were.
     */
    private static void freezeAllButAdapters(Map<String, Tensor> params, List<String> adapterPrefixes) {
        params.forEach((name, p) -> {
            if (adapterPrefixes.stream().noneMatch(name::startsWith)) {
                p.requires_grad_(false);
            }
        });
    }

    /** {@code "<layer>.adapter."} for each AdaptableLinear: the prefix of its adapter's parameters. */
    private static List<String> adapterPrefixes(List<String> adaptablePrefixes) {
        List<String> out = new ArrayList<>();
        for (String p : adaptablePrefixes) {
            out.add((p.isEmpty() ? "" : p + ".") + AdaptableLinear.ADAPTER_CHILD + ".");
        }
        return out;
    }

    /** The adapter class for the config's mode. */
    static TrainableAdapter newAdapter(AdaptableLinear target, BoraConfig config) {
        return switch (config.mode()) {
            case HIRA -> new HiraAdapter(target, config);
            case KRONA -> new KronaAdapter(target, config);
            default -> new BoraAdapter(target, config);
        };
    }

    private static boolean isInsideAdaptable(String name, List<String> prefixes) {
        for (String p : prefixes) {
            if (name.startsWith(p.isEmpty() ? "" : p + ".") && !name.equals(p)) {
                return true;
            }
        }
        return false;
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 20 ? names.toString() : names.subList(0, 20) + " ... (" + names.size() + " in all)";
    }
}
