package dev.bora4j.adapters;

import dev.bora4j.nn.AdaptableLinear;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringSharedModuleDict;
import org.bytedeco.pytorch.StringVector;

/** The {@link AdaptableLinear} modules of a model by name, in model order. */
final class ModelModules {

    private ModelModules() {
    }

    /**
     * Every AdaptableLinear of {@code model}, except those nested inside another one (as the
     * injector skips them: an adapter is never itself a target).
     */
    static Map<String, AdaptableLinear> adaptableLinears(Module model) {
        Map<String, AdaptableLinear> found = new LinkedHashMap<>();
        StringSharedModuleDict modules = model.named_modules();
        StringVector keys = modules.keys();
        for (long i = 0; i < keys.size(); i++) {
            BytePointer key = keys.get(i);
            String name = key == null ? "" : key.getString();
            if (isInside(name, found)) {
                continue;
            }
            AdaptableLinear al = AdaptableLinear.lookup(modules.get(name));
            if (al != null) {
                found.put(name, al);
            }
        }
        return found;
    }

    private static boolean isInside(String name, Map<String, AdaptableLinear> outer) {
        for (String p : outer.keySet()) {
            if (!name.equals(p) && (p.isEmpty() || name.startsWith(p + "."))) {
                return true;
            }
        }
        return false;
    }
}
