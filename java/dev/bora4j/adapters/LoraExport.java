package dev.bora4j.adapters;

import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Exports BoRA adapters as a plain PEFT LoRA of rank r' = b*r that computes the same update:
 * A' = blockdiag(A_1..A_b) (b*r x in), block (i, j) of B' (out x b*r) = B_i diag(S[i][j]) with S
 * the effective Sigma, so B' A' = dW exactly in real arithmetic (B' costs one rounding per
 * element). lora_alpha is set so the scaling is unchanged: alpha' = alpha * b (PEFT's alpha / r'),
 * or alpha * sqrt(b) with rsLoRA (alpha / sqrt(r')). LORA-mode adapters (b = 1, S = 1) come out as
 * themselves. The folder has the layout PEFT writes for LoRA adapters, meant for
 * {@code PeftModel.from_pretrained} and vLLM.
 */
public final class LoraExport {

    private LoraExport() {
    }

    /** Writes the exported LoRA folder: {@code adapter_model.safetensors} and a LoRA {@code adapter_config.json}. */
    public static void export(Path dir, BoraAdapters adapters, AdapterSaveOptions options) throws IOException {
        BoraAdapterFiles.requireNonNull(dir, "dir", options, "options");
        BoraConfig config = BoraAdapterFiles.commonConfig(adapters);
        options = SavedModules.withState(options, adapters);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, BoraAdapter> e : adapters.byModule().entrySet()) {
            BoraAdapter a = e.getValue();
            try (NoGradGuard ng = new NoGradGuard()) {
                tensors.put(AdapterKeys.loraA(e.getKey()), blockDiagonalA(a.loraA(), config.blocks()));
                tensors.put(AdapterKeys.loraB(e.getKey()), expandedB(a.loraB(), a.sigma()));
            }
        }
        BoraAdapterFiles.putExtras(tensors, options);
        String json = configJson(config, adapters.byModule().keySet(), options);
        BoraAdapterFiles.writeFolder(dir, tensors, json, "exact LoRA export (r' = b*r = "
                + exportedRank(config) + ") of a BoRA adapter (" + config.mode() + " mode, r = " + config.rank()
                + ", b = " + config.blocks() + ", sigma = " + config.sigma() + ")", null);
    }

    /** The exported rank r' = b * r. */
    public static int exportedRank(BoraConfig config) {
        return Math.multiplyExact(config.blocks(), config.rank());
    }

    /** alpha' with alpha' / r' (or alpha' / sqrt(r') for rsLoRA) equal to the adapter's scaling. */
    public static double exportedAlpha(BoraConfig config) {
        return config.rsLora() ? config.alpha() * Math.sqrt(config.blocks()) : config.alpha() * config.blocks();
    }

    /** A' = blockdiag(A_1..A_b), b*r x n, from A (r x n) with column blocks A_j = A[:, j n/b : (j+1) n/b]. */
    public static Tensor blockDiagonalA(Tensor a, int blocks) {
        long r = a.size(0), n = a.size(1);
        // A'[(j, q), (k, c)] = delta_jk A[q, (k, c)]: multiplying by exact 0/1 copies A bitwise
        Tensor eye = torch.eye(blocks, a.options()); // A's dtype and device (a CUDA A takes a CUDA eye)
        Tensor out = torch.einsum("jk,qkc->jqkc", new TensorVector(eye, a.view(r, blocks, n / blocks)));
        return out.reshape(blocks * r, n).contiguous();
    }

    /** B' (m x b*r) with block (i, j) = B_i diag(S[i][j]), from B (m x r) and Sigma (b x b x r). */
    public static Tensor expandedB(Tensor b, Tensor sigma) {
        long m = b.size(0), r = b.size(1), blocks = sigma.size(0);
        Tensor bb = b.view(blocks, m / blocks, 1, r);           // [i, row, -, q]
        Tensor s = sigma.view(blocks, 1, blocks, r);            // [i, -, j, q]
        return bb.mul(s).reshape(m, blocks * r).contiguous();   // rows (i, row), columns (j, q)
    }

    private static String configJson(BoraConfig config, java.util.Collection<String> modules,
            AdapterSaveOptions options) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("peft_type", "LORA");
        f.put("r", exportedRank(config));
        f.put("lora_alpha", PeftJson.number(exportedAlpha(config)));
        f.put("use_rslora", config.rsLora());
        f.put("lora_dropout", config.dropout());
        f.put("target_modules", PeftJson.targetModules(config, modules));
        Object excluded = PeftJson.excludeModules(config);
        if (excluded != null) { // absent, not null: PEFT before 0.14 refuses a LoraConfig key it lacks
            f.put("exclude_modules", excluded);
        }
        f.put("base_model_name_or_path", options.baseModel());
        f.put("task_type", options.taskType());
        f.put("bias", "none");
        f.put("fan_in_fan_out", false);
        f.put("inference_mode", true);
        f.put("init_lora_weights", true);
        f.put("use_dora", false);
        List<String> modulesToSave = PeftJson.modulesToSave(options.extraTensors().keySet());
        f.put("modules_to_save", modulesToSave.isEmpty() ? null : modulesToSave);
        return PeftJson.toJson(f);
    }
}
