package dev.bora4j.nn;

import java.util.List;
import java.util.Objects;

/**
 * Everything that defines a set of BoRA adapters, immutable; build with {@link #builder()}.
 * Defaults follow PEFT's LoRA defaults where they exist: r = 8, alpha = 8, no dropout,
 * A kaiming-uniform (a = sqrt 5), B zeros, so every adapter starts as a no-op.
 */
public final class BoraConfig {

    /** Which family of adapter the BoRA kernel computes. */
    public enum Mode {
        /** Full BoRA: b x b x r trainable Sigma. */
        BORA,
        /** Plain LoRA: b = 1 and Sigma fixed to ones (not trained). */
        LORA,
        /** MELoRA: Sigma[i][i] = 1, Sigma[i][j] = 0 for i != j, fixed; block-diagonal update. */
        MELORA,
        /**
         * HiRA: dW = W0 ⊙ (B A), the Hadamard product of the frozen weight with a rank-r product
         * (PEFT's {@code hira}); A r x in kaiming-uniform, B out x r zeros, scaling as LoRA.
         * Computed by {@link HiraAdapter} in plain torch; b must be 1.
         */
        HIRA,
        /**
         * KronA: dW = A ⊗ B, a Kronecker product with A a1 x a2 and B (out/a1) x (in/a2)
         * (the factors of {@link #kronFactors()}); A kaiming-uniform, B zeros, scaling as LoRA.
         * Computed by {@link KronaAdapter} in plain torch; rank and b are not used (b must be 1).
         */
        KRONA;

        /** Whether this mode is one of the b x b x r Sigma family computed by {@link BoraAdapter}. */
        public boolean isBoraFamily() {
            return this == BORA || this == LORA || this == MELORA;
        }
    }

    /** How the trainable parameter P becomes Sigma (BORA mode only). */
    public enum SigmaParameterization {
        /** S = P, P initialised to 1. */
        RAW,
        /** S = exp(P), P initialised to 0 (S = 1: starts as LoRA; S stays positive). */
        EXP,
        /** S = exp(RMSNorm over r of P), P initialised to 0. */
        EXP_NORM
    }

    /** Who computes the adapter. */
    public enum Backend {
        /** The native kernels (fails if the native library cannot be loaded). */
        NATIVE,
        /** The pure-torch reference (einsum + torch autograd). */
        REFERENCE,
        /** NATIVE where the native library loads and supports the tensors, else REFERENCE. */
        AUTO
    }

    private final int rank;
    private final int blocks;
    private final double alpha;
    private final boolean rsLora;
    private final double dropout;
    private final SigmaParameterization sigma;
    private final Mode mode;
    private final Backend backend;
    private final List<String> targetModules;
    private final TargetRegex targetRegex;
    private final List<String> excludeModules;
    private final TargetRegex excludeRegex;
    private final int kronOut;
    private final int kronIn;
    private final List<String> modulesToSave;

    private BoraConfig(Builder b) {
        this.mode = Objects.requireNonNull(b.mode, "mode");
        this.rank = b.rank;
        this.blocks = b.blocks != null ? b.blocks : (mode == Mode.BORA || mode == Mode.MELORA ? 4 : 1);
        this.alpha = b.alpha != null ? b.alpha : b.rank;
        this.rsLora = b.rsLora;
        this.dropout = b.dropout;
        this.sigma = Objects.requireNonNull(b.sigma, "sigma parameterization");
        this.backend = Objects.requireNonNull(b.backend, "backend");
        this.targetModules = List.copyOf(b.targetModules);
        this.targetRegex = b.targetRegex;
        this.excludeModules = List.copyOf(b.excludeModules);
        this.excludeRegex = b.excludeRegex;
        this.kronOut = b.kronOut;
        this.kronIn = b.kronIn;
        this.modulesToSave = List.copyOf(b.modulesToSave);
        validate();
    }

    private void validate() {
        if (rank < 1) {
            throw new IllegalArgumentException("rank r must be >= 1, got " + rank);
        }
        if (blocks < 1) {
            throw new IllegalArgumentException("block count b must be >= 1, got " + blocks);
        }
        if (!(mode == Mode.BORA || mode == Mode.MELORA) && blocks != 1) {
            throw new IllegalArgumentException(mode + " mode uses b = 1 (one block), got b = " + blocks
                    + "; drop blocks(...) or use mode BORA");
        }
        if (kronOut < 0 || kronIn < 0) {
            throw new IllegalArgumentException("KronA factor sizes must be >= 1 (or 0 for automatic), got a1 = "
                    + kronOut + ", a2 = " + kronIn);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha must be a positive finite number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
        if (targetModules.isEmpty() && targetRegex == null) {
            throw new IllegalArgumentException("no target modules: call targetModules(\"query\", \"value\", ...) or"
                    + " targetRegex(...) to say which AdaptableLinear modules get adapters");
        }
        for (String t : targetModules) {
            if (t == null || t.isBlank()) {
                throw new IllegalArgumentException("target module names must be non-empty, got " + targetModules);
            }
        }
        if (excludeRegex != null && !excludeModules.isEmpty()) {
            throw new IllegalArgumentException("exclude modules by names or by a regex, not both: PEFT's"
                    + " exclude_modules holds one form, so a saved adapter could not say both; got " + excludeModules
                    + " and regex " + excludeRegex.pattern());
        }
        for (String x : excludeModules) {
            if (x.isBlank()) {
                throw new IllegalArgumentException("excluded module names must be non-empty, got " + excludeModules);
            }
        }
        for (String m : modulesToSave) {
            if (m.isBlank()) {
                throw new IllegalArgumentException("modules_to_save names must be non-empty, got " + modulesToSave);
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        Builder b = new Builder().rank(rank).alpha(alpha).rsLora(rsLora).dropout(dropout).sigma(sigma).mode(mode)
                .backend(backend).targetModules(targetModules.toArray(new String[0]));
        b.blocks = blocks;
        b.targetRegex = targetRegex;
        b.excludeModules = excludeModules;
        b.excludeRegex = excludeRegex;
        b.kronOut = kronOut;
        b.kronIn = kronIn;
        b.modulesToSave = modulesToSave;
        return b;
    }

    public int rank() {
        return rank;
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

    public Backend backend() {
        return backend;
    }

    public List<String> targetModules() {
        return targetModules;
    }

    /**
     * Modules trained and saved along with the adapters, as PEFT's {@code modules_to_save} (a
     * classification head, say): matched by name suffix like the targets; the injector leaves
     * their parameters trainable and the adapter files hold them.
     */
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    /** Whether the module of this name is one of {@link #modulesToSave()}. */
    public boolean savesModule(String moduleName) {
        return modulesToSave.stream().anyMatch(m -> isOrEndsWith(moduleName, m));
    }

    /** PEFT's module-name rule: the name is {@code suffix} or ends with "." + suffix. */
    static boolean isOrEndsWith(String moduleName, String suffix) {
        return moduleName.equals(suffix) || moduleName.endsWith("." + suffix);
    }

    /** The full-match regex for module names, or null. */
    public String targetRegex() {
        return targetRegex == null ? null : targetRegex.pattern();
    }

    /** Module-name suffixes left out of the targets, as PEFT's list form of exclude_modules (empty if none). */
    public List<String> excludeModules() {
        return excludeModules;
    }

    /** The full-match regex of module names left out of the targets, or null. */
    public String excludeRegex() {
        return excludeRegex == null ? null : excludeRegex.pattern();
    }

    /**
     * KronA's first-factor sizes (a1, a2): A is a1 x a2 and B is (out/a1) x (in/a2). A zero
     * entry means automatic: the largest divisor of that dimension not above its square root,
     * which keeps both factors near square (as PEFT's LoKr does with factor = -1).
     */
    public int[] kronFactors() {
        return new int[] {kronOut, kronIn};
    }

    /** The KronA factor sizes (a1, a2) this config gives a layer of {@code out x in}. */
    public int[] kronFactorsFor(long out, long in) {
        int a1 = kronOut > 0 ? kronOut : nearSquareDivisor(out);
        int a2 = kronIn > 0 ? kronIn : nearSquareDivisor(in);
        if (out % a1 != 0 || in % a2 != 0) {
            throw new IllegalArgumentException("KronA factor sizes a1 = " + a1 + ", a2 = " + a2 + " must divide out = "
                    + out + " and in = " + in + " features; choose divisors or 0 for automatic");
        }
        return new int[] {a1, a2};
    }

    private static int nearSquareDivisor(long d) {
        int best = 1;
        for (int f = 1; (long) f * f <= d; f++) {
            if (d % f == 0) {
                best = f;
            }
        }
        return best;
    }

    /** The adapter scaling s: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scaling() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * Whether a module of this name gets an adapter, as PEFT's target_modules and exclude_modules
     * decide: a regex matches the whole name; a name in a list matches when it equals the module's
     * name or ends it after a "."; a targeted module that an exclusion matches gets none.
     */
    public boolean matches(String moduleName) {
        boolean targeted = (targetRegex != null && targetRegex.matches(moduleName))
                || targetModules.stream().anyMatch(t -> isOrEndsWith(moduleName, t));
        return targeted && !excludes(moduleName);
    }

    /** exclude_modules as messages show it: "regex ...", the list of names, or null when nothing is excluded. */
    public String describeExclusions() {
        return describeExclusions(excludeModules, excludeRegex());
    }

    /** {@link #describeExclusions()} for an exclusion given by its names and regex (one of them, or neither). */
    public static String describeExclusions(List<String> names, String regex) {
        return regex != null ? "regex " + regex : names.isEmpty() ? null : names.toString();
    }

    /** Whether exclude_modules leaves the module of this name out. */
    public boolean excludes(String moduleName) {
        return (excludeRegex != null && excludeRegex.matches(moduleName))
                || excludeModules.stream().anyMatch(x -> isOrEndsWith(moduleName, x));
    }

    @Override
    public String toString() {
        return "BoraConfig{mode=" + mode + ", r=" + rank + ", b=" + blocks + ", alpha=" + alpha + ", rsLora=" + rsLora
                + ", dropout=" + dropout + ", sigma=" + sigma
                + (mode == Mode.KRONA ? ", kron=" + kronOut + "x" + kronIn : "") + ", backend=" + backend + ", targets=" + targetModules
                + (targetRegex != null ? ", regex=" + targetRegex.pattern() : "")
                + (excludeModules.isEmpty() ? "" : ", exclude=" + excludeModules)
                + (excludeRegex != null ? ", excludeRegex=" + excludeRegex.pattern() : "")
                + (modulesToSave.isEmpty() ? "" : ", modulesToSave=" + modulesToSave) + "}";
    }

    public static final class Builder {
        private int rank = 8;
        private Integer blocks;
        private Double alpha;
        private boolean rsLora;
        private double dropout;
        private SigmaParameterization sigma = SigmaParameterization.EXP;
        private Mode mode = Mode.BORA;
        private Backend backend = Backend.AUTO;
        private List<String> targetModules = List.of();
        private TargetRegex targetRegex;
        private List<String> excludeModules = List.of();
        private TargetRegex excludeRegex;
        private int kronOut;
        private int kronIn;
        private List<String> modulesToSave = List.of();

        private Builder() {
        }

        /**
         * Modules (name suffixes, e.g. "classifier") trained and saved with the adapters, as PEFT's
         * {@code modules_to_save}.
         */
        public Builder modulesToSave(String... names) {
            this.modulesToSave = nameList("modules_to_save names", names);
            return this;
        }

        /** The names as a list; List.of would throw a bare NullPointerException on a null (blank names fail in build()). */
        private static List<String> nameList(String what, String... names) {
            Objects.requireNonNull(names, what);
            for (String name : names) {
                if (name == null) {
                    throw new IllegalArgumentException(what + " must be non-empty strings, got "
                            + java.util.Arrays.toString(names));
                }
            }
            return List.of(names);
        }

        /** KronA: A is a1 x a2, B is (out/a1) x (in/a2); 0 = automatic (near-square, default). */
        public Builder kronFactors(int a1, int a2) {
            this.kronOut = a1;
            this.kronIn = a2;
            return this;
        }

        /** Rank r of every block (default 8). */
        public Builder rank(int r) {
            this.rank = r;
            return this;
        }

        /** Block count b; must divide in and out features of every target (default 4; LORA, HIRA, KRONA: 1). */
        public Builder blocks(int b) {
            this.blocks = b;
            return this;
        }

        /** Scaling numerator (default r, so s = 1). */
        public Builder alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /** rsLoRA scaling alpha / sqrt(r) instead of alpha / r. */
        public Builder rsLora(boolean rsLora) {
            this.rsLora = rsLora;
            return this;
        }

        /** Dropout probability on the adapter's input (the base path sees x unchanged). */
        public Builder dropout(double p) {
            this.dropout = p;
            return this;
        }

        public Builder sigma(SigmaParameterization sigma) {
            this.sigma = sigma;
            return this;
        }

        public Builder mode(Mode mode) {
            this.mode = mode;
            return this;
        }

        public Builder backend(Backend backend) {
            this.backend = backend;
            return this;
        }

        /** Module-name suffixes, like PEFT's list form of target_modules ("query" matches "layer.0.query"). */
        public Builder targetModules(String... names) {
            this.targetModules = nameList("target module names", names);
            return this;
        }

        /**
         * A regex the whole module name must match, like PEFT's string form of target_modules.
         * Matched by RE2 in time linear in the name, and refused when longer than 4096 characters,
         * nested deeper than 64 groups or larger than 20,000 instructions once counted repetitions
         * expand, so that no regex in an adapter file can hang a load. RE2 has no lookarounds or
         * backreferences; a regex that uses them is refused (list the module names instead).
         */
        public Builder targetRegex(String regex) {
            this.targetRegex = regex == null ? null : TargetRegex.compile(regex);
            return this;
        }

        /**
         * Module-name suffixes left out of the targets, like PEFT's list form of exclude_modules
         * ("pooler.dense" keeps the pooler's dense layer unadapted when the targets say "dense").
         */
        public Builder excludeModules(String... names) {
            this.excludeModules = nameList("excluded module names", names);
            return this;
        }

        /**
         * A regex of module names (whole name) left out of the targets, like PEFT's string form of
         * exclude_modules; RE2 with the limits of {@link #targetRegex(String)}.
         */
        public Builder excludeRegex(String regex) {
            this.excludeRegex = regex == null ? null : TargetRegex.compile(regex);
            return this;
        }

        public BoraConfig build() {
            return new BoraConfig(this);
        }
    }
}
