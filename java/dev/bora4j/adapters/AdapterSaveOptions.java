package dev.bora4j.adapters;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.pytorch.Tensor;

/**
 * What an adapter folder records besides the adapters: the base model's id
 * ({@code base_model_name_or_path}), PEFT's {@code task_type}, and extra tensors trained with the
 * adapters, such as a classification head, saved as {@code base_model.model.<name>} and listed by
 * module in {@code modules_to_save}. Immutable; each method returns a new instance.
 */
public final class AdapterSaveOptions {

    private final String baseModel;
    private final String taskType;
    private final Map<String, Tensor> extraTensors;

    private AdapterSaveOptions(String baseModel, String taskType, Map<String, Tensor> extraTensors) {
        this.baseModel = baseModel;
        this.taskType = taskType;
        this.extraTensors = Collections.unmodifiableMap(extraTensors);
    }

    /** No base model id, no task type, no extra tensors. */
    public static AdapterSaveOptions none() {
        return new AdapterSaveOptions(null, null, new LinkedHashMap<>());
    }

    /** Options naming the base model (e.g. "sentence-transformers/all-MiniLM-L6-v2"). */
    public static AdapterSaveOptions baseModel(String baseModelNameOrPath) {
        return none().withBaseModel(baseModelNameOrPath);
    }

    public AdapterSaveOptions withBaseModel(String baseModelNameOrPath) {
        return new AdapterSaveOptions(baseModelNameOrPath, taskType, new LinkedHashMap<>(extraTensors));
    }

    /** PEFT's task type, e.g. "SEQ_CLS" or "FEATURE_EXTRACTION". */
    public AdapterSaveOptions withTaskType(String taskType) {
        return new AdapterSaveOptions(baseModel, taskType, new LinkedHashMap<>(extraTensors));
    }

    /** Adds an extra tensor by its name in the model, e.g. "classifier.weight". */
    public AdapterSaveOptions withExtraTensor(String name, Tensor tensor) {
        if (name == null || name.isBlank() || name.startsWith(".") || name.endsWith(".")) {
            throw new IllegalArgumentException("extra tensor name must be a non-empty dotted name such as"
                    + " \"classifier.weight\", got \"" + name + "\"");
        }
        Objects.requireNonNull(tensor, "tensor " + name);
        if (extraTensors.containsKey(name)) {
            throw new IllegalArgumentException("extra tensor \"" + name + "\" is given twice");
        }
        Map<String, Tensor> m = new LinkedHashMap<>(extraTensors);
        m.put(name, tensor);
        return new AdapterSaveOptions(baseModel, taskType, m);
    }

    public String baseModel() {
        return baseModel;
    }

    public String taskType() {
        return taskType;
    }

    /** Extra tensors by name, in the order added. */
    public Map<String, Tensor> extraTensors() {
        return extraTensors;
    }
}
