package dev.bora4j.adapters;

import dev.bora4j.internal.ModelParameters;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.TrainableAdapter;
import dev.bora4j.ops.BoraReference;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The model's weights with every adapter merged in (W0 + s*dW), under the names of a model
 * without adapters: an {@link AdaptableLinear}'s {@code <module>.base.weight} and
 * {@code <module>.base.bias} become {@code <module>.weight} and {@code <module>.bias} (the
 * original Linear's names), adapter parameters and buffers are left out, every other parameter
 * and buffer keeps its name (after the parameters, as in a torch state dict: a BatchNorm's running
 * statistics, say). The model in memory is not changed. Every adapter kind is
 * merged (BoRA, LoRA, MELoRA, HiRA, KronA); a switched-off adapter is refused.
 */
public final class MergedWeights {


    private MergedWeights() {
    }

    /** Writes the merged weights of {@code model} to {@code file} (safetensors, atomic). */
    public static void export(Path file, Module model) throws IOException {
        BoraAdapterFiles.requireNonNull(file, "file", model, "model");
        Map<String, Tensor> merged = compute(model);
        try {
            BoraAdapterFiles.requireFiniteToWrite(merged, file);
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("format", "pt");
            metadata.put("bora4j_version", AdapterConfigFile.BORA4J_VERSION);
            metadata.put("bora4j_content", "merged weights (W0 + s*dW for every adapted Linear)");
            SafetensorsTorch.write(file, merged, metadata);
        } finally {
            merged.values().forEach(Tensor::close);
        }
    }

    /**
     * New tensors (copies) of the merged weights by name: the parameters in the model's order,
     * then the buffers.
     */
    public static Map<String, Tensor> compute(Module model) {
        if (model == null) {
            throw new IllegalArgumentException("model must not be null");
        }
        Map<String, AdaptableLinear> linears = ModelModules.adaptableLinears(model);
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> param : ModelParameters.named(model).entrySet()) {
                String name = param.getKey();
                String plain = mergedName(name, linears);
                if (plain == null) {
                    continue;
                }
                Tensor value = param.getValue().detach().clone();
                put(out, plain, value); // before addDelta: freed with the others if it throws
                String owner = ownerLinear(name, linears);
                if (owner != null && name.equals(prefix(owner) + "base.weight")) {
                    addDelta(owner, linears.get(owner), value);
                }
            }
            for (Map.Entry<String, Tensor> buffer : ModelParameters.namedBuffers(model).entrySet()) {
                String plain = mergedName(buffer.getKey(), linears);
                if (plain != null) {
                    put(out, plain, buffer.getValue().detach().clone());
                }
            }
        } catch (RuntimeException e) {
            out.values().forEach(Tensor::close); // a model-sized set of copies, possibly on a GPU
            throw e;
        }
        return out;
    }

    /**
     * The name of a parameter or buffer in the model without adapters: {@code <linear>.base.X}
     * becomes {@code <linear>.X}; null for the adapter's own tensors; anything else unchanged.
     */
    private static String mergedName(String name, Map<String, AdaptableLinear> linears) {
        String owner = ownerLinear(name, linears);
        if (owner == null) {
            return name;
        }
        String local = name.substring(prefix(owner).length());
        if (local.startsWith(AdaptableLinear.ADAPTER_CHILD + ".")) {
            return null; // merged into the weight, not exported
        }
        return local.startsWith("base.") ? prefix(owner) + local.substring("base.".length()) : name;
    }

    private static String prefix(String module) {
        return module.isEmpty() ? "" : module + ".";
    }

    /** value += s*dW unless the adapter is already merged into the weight (then it holds W0 + s*dW). */
    private static void addDelta(String name, AdaptableLinear al, Tensor value) {
        if (al.adapter() == null) {
            return;
        }
        if (!(al.adapter() instanceof TrainableAdapter adapter)) {
            throw new IllegalArgumentException("module '" + name + "' carries a " + al.adapter().getClass()
                    .getSimpleName() + ", which has no weight update to merge; only TrainableAdapters are merged");
        }
        if (adapter.isMerged()) {
            return;
        }
        if (!al.isAdapterEnabled()) {
            throw new IllegalStateException("the adapter of module '" + name + "' is switched off; switch it on to"
                    + " export the weights with it merged in, or unload() the adapters to export the base weights");
        }
        // W0 + s*dW summed in float64 and rounded once, so the exported weight is the exact sum
        // to the precision of its dtype
        Tensor dw;
        if (adapter instanceof BoraAdapter bora) {
            dw = BoraReference.deltaWeight(bora.loraA().to(ScalarType.Double), bora.loraB().to(ScalarType.Double),
                    bora.sigma().to(ScalarType.Double), bora.scaling());
        } else {
            dw = adapter.deltaWeight().to(ScalarType.Double); // HiRA, KronA: s*dW in the adapters' dtype
        }
        value.copy_(value.to(ScalarType.Double).add(dw));
    }

    private static String ownerLinear(String param, Map<String, AdaptableLinear> linears) {
        for (String m : linears.keySet()) {
            if (m.isEmpty() || param.startsWith(m + ".")) {
                return m;
            }
        }
        return null;
    }

    private static void put(Map<String, Tensor> out, String name, Tensor t) {
        if (out.containsKey(name)) {
            t.close();
            throw new IllegalStateException("two tensors map to the merged name '" + name + "'; a module has"
                    + " a parameter or buffer of that name besides an AdaptableLinear child");
        }
        out.put(name, t);
    }
}
