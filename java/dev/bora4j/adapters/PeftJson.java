package dev.bora4j.adapters;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.bora4j.nn.BoraConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Writes adapter_config.json files as PEFT does: sorted keys, two-space indent, nulls kept. */
final class PeftJson {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping()
            .create();

    private PeftJson() {
    }

    static String toJson(Map<String, Object> fields) {
        return GSON.toJson(new TreeMap<>(fields)) + "\n";
    }

    /** An integral value as an integer literal (16, not 16.0), as Python writes an int alpha. */
    static Number number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Number) (long) v : (Number) v;
    }

    /**
     * The target_modules value for a config: its regex string, or its list of name suffixes. A
     * config with both (PEFT allows only one form) is written as the exact names of the adapted
     * modules, which PEFT and bora4j both match by suffix on the same model.
     */
    static Object targetModules(BoraConfig config, Collection<String> adaptedModules) {
        if (config.targetRegex() != null && config.targetModules().isEmpty()) {
            return config.targetRegex();
        }
        if (config.targetRegex() == null) {
            return new ArrayList<>(config.targetModules());
        }
        return new ArrayList<>(adaptedModules);
    }

    /** The exclude_modules value for a config: its regex string, its list of name suffixes, or null. */
    static Object excludeModules(BoraConfig config) {
        if (config.excludeRegex() != null) {
            return config.excludeRegex();
        }
        return config.excludeModules().isEmpty() ? null : new ArrayList<>(config.excludeModules());
    }

    /** modules_to_save: the module of each extra tensor (its name without the last component). */
    static List<String> modulesToSave(Collection<String> extraTensorNames) {
        List<String> modules = new ArrayList<>();
        for (String name : extraTensorNames) {
            String module = AdapterKeys.moduleOfExtra(name);
            if (!modules.contains(module)) {
                modules.add(module);
            }
        }
        return modules;
    }
}
