package dev.bora4j.adapters;

/**
 * Tensor names in adapter_model.safetensors, PEFT's layout: every name starts with
 * {@code base_model.model.}, then the module name as in the model's {@code named_modules()}.
 */
public final class AdapterKeys {

    /** The prefix PEFT puts before every module name. */
    public static final String PREFIX = "base_model.model.";
    /** A: r x in_features. */
    public static final String LORA_A = ".lora_A.weight";
    /** B: out_features x r. */
    public static final String LORA_B = ".lora_B.weight";
    /**
     * BoRA's raw Sigma parameter P (b x b x r), before its parameterisation (raw: S = P, exp:
     * S = exp(P), exp_norm: S = exp(RMSNorm over r of P)). Written in BORA mode only; LORA and
     * MELORA fix Sigma, so nothing is stored for it.
     */
    public static final String BORA_SIGMA = ".bora_sigma";

    private AdapterKeys() {
    }

    public static String loraA(String module) {
        return PREFIX + module + LORA_A;
    }

    public static String loraB(String module) {
        return PREFIX + module + LORA_B;
    }

    public static String sigma(String module) {
        return PREFIX + module + BORA_SIGMA;
    }

    /** An extra tensor such as {@code classifier.weight}, stored as {@code base_model.model.classifier.weight}. */
    public static String extra(String name) {
        return PREFIX + name;
    }

    /** The module an extra tensor belongs to: {@code classifier} for {@code classifier.weight}. */
    static String moduleOfExtra(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
