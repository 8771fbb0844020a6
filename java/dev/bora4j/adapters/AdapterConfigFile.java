package dev.bora4j.adapters;

import com.google.gson.JsonObject;
import dev.bora4j.io.JsonFormatException;
import dev.bora4j.io.StrictJson;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraConfig.SigmaParameterization;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code adapter_config.json} of a bora4j adapter, in PEFT's style with {@code "peft_type":
 * "BORA"}, or of a plain PEFT LoRA ({@code "peft_type": "LORA"}, read as a LORA-mode adapter:
 * what {@link LoraExport} writes, or a LoRA trained with PEFT). Reading validates every field it uses and names the file and field on error; fields it
 * does not know are ignored, as PEFT does, so files from newer versions still load.
 */
public final class AdapterConfigFile {

    /** The file name inside an adapter folder. */
    public static final String FILE_NAME = "adapter_config.json";
    /** The peft_type of bora4j adapters. */
    public static final String PEFT_TYPE = "BORA";
    /** The peft_type of PEFT's plain LoRA folders (LoraExport writes them), loaded as LORA mode. */
    public static final String PEFT_LORA_TYPE = "LORA";
    /**
     * Fields of PEFT's LoraConfig that change what a LoRA computes or where it sits, with what
     * they are; a PEFT LoRA folder with any of them set is refused rather than loaded wrongly.
     */
    private static final String[][] PEFT_LORA_FEATURES_NOT_COMPUTED = {
        {"use_dora", "DoRA (a learned magnitude per output)"},
        {"rank_pattern", "a rank per module"},
        {"alpha_pattern", "an alpha per module"},
        {"layers_to_transform", "a selection of layers"},
        {"layers_pattern", "a selection of layers"},
        {"lora_bias", "a trained bias in lora_B"},
        {"target_parameters", "adapters on parameters instead of modules"},
        {"layer_replication", "replicated layers"},
        {"trainable_token_indices", "trained token embeddings"},
        {"use_qalora", "QA-LoRA's pooled inputs"},
        {"alora_invocation_tokens", "activated LoRA (the adapter acts only after these tokens)"},
    };
    /**
     * init_lora_weights values whose adapters belong to a changed base weight (PiSSA, OLoRA and
     * CorDA move the top components out of W0; LoftQ quantises it) unless converted to plain LoRA.
     */
    private static final List<String> PEFT_LORA_INITS_THAT_CHANGE_THE_BASE = List.of("pissa", "olora", "corda",
            "loftq");
    /** The version written as "bora4j_version" (the project version in pom.xml). */
    public static final String BORA4J_VERSION = "0.1.0-SNAPSHOT";
    /** Upper bound for r and b: far above any useful value, low enough that products stay in range. */
    public static final int MAX_RANK = 1 << 16;
    /** Config files are small; a larger file is not a config. */
    private static final long MAX_BYTES = 1 << 20;

    private final int rank;
    private final int blocks;
    private final double alpha;
    private final boolean rsLora;
    private final double dropout;
    private final SigmaParameterization sigma;
    private final Mode mode;
    private final List<String> targetModules;
    private final String targetRegex;
    private final List<String> excludeModules;
    private final String excludeRegex;
    private final String baseModel;
    private final String taskType;
    private final List<String> modulesToSave;
    private final String bora4jVersion;

    private AdapterConfigFile(int rank, int blocks, double alpha, boolean rsLora, double dropout,
            SigmaParameterization sigma, Mode mode, List<String> targetModules, String targetRegex,
            List<String> excludeModules, String excludeRegex, String baseModel, String taskType,
            List<String> modulesToSave, String bora4jVersion) {
        this.rank = rank;
        this.blocks = blocks;
        this.alpha = alpha;
        this.rsLora = rsLora;
        this.dropout = dropout;
        this.sigma = sigma;
        this.mode = mode;
        this.targetModules = targetModules == null ? null : List.copyOf(targetModules);
        this.targetRegex = targetRegex;
        this.excludeModules = List.copyOf(excludeModules);
        this.excludeRegex = excludeRegex;
        this.baseModel = baseModel;
        this.taskType = taskType;
        this.modulesToSave = List.copyOf(modulesToSave);
        this.bora4jVersion = bora4jVersion;
    }

    /** The config file for adapters built from {@code config} on the modules {@code adaptedModules}. */
    static AdapterConfigFile of(BoraConfig config, Collection<String> adaptedModules, AdapterSaveOptions options) {
        Object targets = PeftJson.targetModules(config, adaptedModules);
        @SuppressWarnings("unchecked")
        List<String> list = targets instanceof List ? (List<String>) targets : null;
        String regex = targets instanceof String t ? t : null;
        return new AdapterConfigFile(config.rank(), config.blocks(), config.alpha(), config.rsLora(),
                config.dropout(), config.sigma(), config.mode(), list, regex, config.excludeModules(),
                config.excludeRegex(),
                options.baseModel(), options.taskType(),
                PeftJson.modulesToSave(options.extraTensors().keySet()), BORA4J_VERSION);
    }

    public int rank() {
        return rank;
    }

    /** The fields that say how the weights file's tensors are read, as one line. */
    String readAs() {
        return "r=" + rank + " lora_alpha=" + alpha + " use_rslora=" + rsLora + " bora_blocks=" + blocks
                + " bora_mode=" + mode + " bora_sigma=" + sigma;
    }

    public int blocks() {
        return blocks;
    }

    public double alpha() {
        return alpha;
    }

    public boolean rsLora() {
        return rsLora;
    }

    public double dropout() {
        return dropout;
    }

    public SigmaParameterization sigma() {
        return sigma;
    }

    public Mode mode() {
        return mode;
    }

    /** target_modules as a list of name suffixes, or null when it is a regex. */
    public List<String> targetModules() {
        return targetModules;
    }

    /** target_modules as a regex the whole name must match, or null when it is a list. */
    public String targetRegex() {
        return targetRegex;
    }

    /** exclude_modules as a list of name suffixes (empty when none or a regex). */
    public List<String> excludeModules() {
        return excludeModules;
    }

    /** exclude_modules as a regex the whole name must match, or null. */
    public String excludeRegex() {
        return excludeRegex;
    }

    /** exclude_modules as messages show it ({@link BoraConfig#describeExclusions(List, String)}), or null. */
    public String describeExclusions() {
        return BoraConfig.describeExclusions(excludeModules, excludeRegex);
    }

    /** base_model_name_or_path, or null. */
    public String baseModel() {
        return baseModel;
    }

    /** task_type, or null. */
    public String taskType() {
        return taskType;
    }

    /** modules_to_save: the modules whose extra tensors the file holds (empty if none). */
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    /** The bora4j version that wrote the file; null for a PEFT LoRA folder written elsewhere. */
    public String bora4jVersion() {
        return bora4jVersion;
    }

    /** The BoRA config these adapters were built with, computing on {@code backend}. */
    public BoraConfig toBoraConfig(Backend backend) {
        BoraConfig.Builder b = BoraConfig.builder().rank(rank).blocks(blocks).alpha(alpha).rsLora(rsLora)
                .dropout(dropout).sigma(sigma).mode(mode).backend(backend);
        if (targetRegex != null) {
            b.targetRegex(targetRegex);
        } else {
            b.targetModules(targetModules.toArray(new String[0]));
        }
        return b.excludeModules(excludeModules.toArray(new String[0])).excludeRegex(excludeRegex).build();
    }

    /** The JSON text, keys sorted, as PEFT writes its configs. */
    public String toJson() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("peft_type", PEFT_TYPE);
        f.put("r", rank);
        f.put("bora_blocks", blocks);
        f.put("lora_alpha", PeftJson.number(alpha));
        f.put("use_rslora", rsLora);
        f.put("lora_dropout", dropout);
        f.put("bora_sigma", sigma.name().toLowerCase(Locale.ROOT));
        f.put("bora_mode", mode.name());
        f.put("target_modules", targetRegex != null ? targetRegex : targetModules);
        if (excludeRegex != null || !excludeModules.isEmpty()) { // absent when nothing is excluded
            f.put("exclude_modules", excludeRegex != null ? excludeRegex : excludeModules);
        }
        f.put("base_model_name_or_path", baseModel);
        f.put("task_type", taskType);
        f.put("bias", "none");
        f.put("fan_in_fan_out", false);
        f.put("inference_mode", true);
        f.put("modules_to_save", modulesToSave.isEmpty() ? null : modulesToSave);
        f.put("bora4j_version", bora4jVersion);
        return PeftJson.toJson(f);
    }

    /** Reads and validates {@code file} (an adapter_config.json). */
    public static AdapterConfigFile read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no adapter config: an adapter folder holds "
                    + FILE_NAME + " and " + BoraAdapterFiles.WEIGHTS_FILE_NAME);
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new AdapterFileException(file + ": " + Files.size(file) + " bytes is too large for an adapter"
                    + " config (limit " + MAX_BYTES + ")");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new AdapterFileException(file + ": not valid UTF-8", e);
        }
        JsonObject json;
        try {
            json = StrictJson.parseObject(text, file);
        } catch (JsonFormatException e) {
            throw new AdapterFileException(e.getMessage(), e);
        }
        return parse(new ConfigFields(json, file));
    }

    private static AdapterConfigFile parse(ConfigFields f) throws AdapterFileException {
        String peftType = f.string("peft_type");
        if (!PEFT_TYPE.equals(peftType) && !PEFT_LORA_TYPE.equals(peftType)) {
            throw f.error("peft_type", "is \"" + peftType + "\"; bora4j loads adapters with peft_type \"" + PEFT_TYPE
                    + "\" and PEFT's plain \"" + PEFT_LORA_TYPE + "\"");
        }
        boolean peftLora = PEFT_LORA_TYPE.equals(peftType);
        if (peftLora) {
            for (String[] feature : PEFT_LORA_FEATURES_NOT_COMPUTED) {
                f.requireUnset(feature[0], feature[1] + ", which bora4j does not compute; it loads plain LoRA");
            }
            String init = f.isStringField("init_lora_weights") ? f.string("init_lora_weights") : "";
            if (PEFT_LORA_INITS_THAT_CHANGE_THE_BASE.stream().anyMatch(init.toLowerCase(Locale.ROOT)::startsWith)) {
                throw f.error("init_lora_weights", "is \"" + init + "\": such an adapter goes with a base weight that"
                        + " its initialisation changed; convert it to a plain LoRA in PEFT first"
                        + " (path_initial_model_for_weight_conversion)");
            }
        }
        int rank = f.integer("r", 1, MAX_RANK);
        Mode mode = peftLora ? Mode.LORA : Mode.valueOf(f.choice("bora_mode", "BORA", "LORA", "MELORA"));
        int blocks = peftLora ? 1 : f.integer("bora_blocks", 1, MAX_RANK);
        if (mode == Mode.LORA && blocks != 1) {
            throw f.error("bora_blocks", "is " + blocks + " but bora_mode LORA uses one block (b = 1)");
        }
        double alpha = f.finite("lora_alpha");
        if (!(alpha > 0)) {
            throw f.error("lora_alpha", "is " + alpha + "; it must be positive");
        }
        boolean rsLora = f.optionalBool("use_rslora", false);
        double dropout = f.isPresent("lora_dropout") ? f.finite("lora_dropout") : 0.0;
        if (!(dropout >= 0 && dropout < 1)) {
            throw f.error("lora_dropout", "is " + dropout + "; it must be in [0, 1)");
        }
        SigmaParameterization sigma = peftLora ? SigmaParameterization.EXP // unused: LoRA's Sigma is fixed
                : SigmaParameterization.valueOf(f.choice("bora_sigma", "raw", "exp", "exp_norm").toUpperCase(Locale.ROOT));
        boolean[] isRegex = new boolean[1];
        List<String> targets = f.targetModules("target_modules", isRegex);
        if (isRegex[0] && targets.get(0).strip().equalsIgnoreCase("all-linear")) {
            throw f.error("target_modules", "is PEFT's \"all-linear\" shorthand, which PEFT replaces by the module"
                    + " names before it saves a config; write those names instead (the weights file's tensor names"
                    + " show them: base_model.model.<module>.lora_A.weight)");
        }
        boolean[] excludeIsRegex = new boolean[1];
        List<String> excluded = f.optionalModuleSelector("exclude_modules", excludeIsRegex);
        String bias = f.isPresent("bias") ? f.string("bias") : "none";
        if (!"none".equals(bias)) {
            throw f.error("bias", "is \"" + bias + "\"; bora4j adapters train no biases (\"none\")");
        }
        if (f.optionalBool("fan_in_fan_out", false)) {
            throw f.error("fan_in_fan_out", "is true; bora4j stores weights as out x in (false)");
        }
        f.optionalBool("inference_mode", true); // type-checked; loading never trains by itself
        List<String> modulesToSave = f.optionalStringList("modules_to_save");
        String version = peftLora ? f.optionalString("bora4j_version") : f.string("bora4j_version");
        return new AdapterConfigFile(rank, blocks, alpha, rsLora, dropout, sigma, mode,
                isRegex[0] ? null : targets, isRegex[0] ? targets.get(0) : null,
                excluded == null || excludeIsRegex[0] ? List.of() : excluded,
                excluded != null && excludeIsRegex[0] ? excluded.get(0) : null,
                f.optionalString("base_model_name_or_path"), f.optionalString("task_type"),
                modulesToSave == null ? new ArrayList<>() : modulesToSave, version);
    }

    @Override
    public String toString() {
        return toJson();
    }
}
