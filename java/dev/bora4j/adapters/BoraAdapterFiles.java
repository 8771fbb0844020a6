package dev.bora4j.adapters;

import dev.bora4j.internal.FiniteValues;
import dev.bora4j.internal.ModelParameters;
import dev.bora4j.io.AtomicFiles;
import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.io.SafetensorsTorch;
import dev.bora4j.nn.AdaptableLinear;
import dev.bora4j.nn.BoraAdapter;
import dev.bora4j.nn.BoraAdapters;
import dev.bora4j.nn.BoraConfig;
import dev.bora4j.nn.BoraConfig.Backend;
import dev.bora4j.nn.BoraConfig.Mode;
import dev.bora4j.nn.BoraInjector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Saves and loads bora4j adapters as a PEFT-style folder: {@code adapter_config.json}
 * ({@link AdapterConfigFile}, {@code "peft_type": "BORA"}) and {@code adapter_model.safetensors}
 * ({@link AdapterKeys}: {@code base_model.model.<module>.lora_A.weight} [r, in],
 * {@code .lora_B.weight} [out, r], {@code .bora_sigma} [b, b, r] in BORA mode, and extra tensors
 * as {@code base_model.model.<name>}). Each file is replaced atomically; the weights are written
 * before the config.
 */
public final class BoraAdapterFiles {

    /** The weights file inside an adapter folder. */
    public static final String WEIGHTS_FILE_NAME = "adapter_model.safetensors";
    /** The weights file of PEFT folders saved in PyTorch's pickle format, which is not read. */
    static final String PICKLE_WEIGHTS_FILE_NAME = "adapter_model.bin";

    private BoraAdapterFiles() {
    }

    /** Saves {@code adapters} with no base model id, task type or extra tensors. */
    public static void save(Path dir, BoraAdapters adapters) throws IOException {
        save(dir, adapters, AdapterSaveOptions.none());
    }

    /** Saves {@code adapters} (and the options' extra tensors) into {@code dir}, creating it if needed. */
    public static void save(Path dir, BoraAdapters adapters, AdapterSaveOptions options) throws IOException {
        requireNonNull(dir, "dir", options, "options");
        BoraConfig config = commonConfig(adapters);
        options = SavedModules.withState(options, adapters);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, BoraAdapter> e : adapters.byModule().entrySet()) {
            BoraAdapter a = e.getValue();
            tensors.put(AdapterKeys.loraA(e.getKey()), a.loraA());
            tensors.put(AdapterKeys.loraB(e.getKey()), a.loraB());
            if (config.mode() == Mode.BORA) {
                tensors.put(AdapterKeys.sigma(e.getKey()), a.sigmaParameter());
            }
        }
        putExtras(tensors, options);
        AdapterConfigFile file = AdapterConfigFile.of(config, adapters.byModule().keySet(), options);
        writeFolder(dir, tensors, file.toJson(), "BoRA adapter, " + config.mode() + " mode", file.readAs());
    }

    /** Loads the adapter in {@code dir} onto {@code model}, computing on {@link Backend#AUTO}. */
    public static LoadedAdapter load(Path dir, Module model) throws IOException {
        return load(dir, model, Backend.AUTO);
    }

    /**
     * Injects adapters built from {@code dir}'s config into {@code model} (which must not have
     * adapters yet) and copies the saved tensors in. Everything is checked before the model is
     * changed: a file that does not fit leaves the model as it was.
     *
     * @throws AdapterFileException for a bad config, tensors that do not fit the model (the
     *     message names the module, the tensor and both shapes), or adapter tensors holding NaN or Inf
     */
    public static LoadedAdapter load(Path dir, Module model, Backend backend) throws IOException {
        requireNonNull(dir, "dir", model, "model", backend, "backend");
        Path configPath = dir.resolve(AdapterConfigFile.FILE_NAME);
        AdapterConfigFile cfg = AdapterConfigFile.read(configPath);
        BoraConfig parsed;
        try {
            parsed = cfg.toBoraConfig(backend);
        } catch (IllegalArgumentException e) {
            throw new AdapterFileException(configPath + ": " + e.getMessage(), e);
        }
        // modules_to_save the model has are restored into it and trainable again, as PEFT does
        Map<String, Tensor> modelState = SavedModules.state(model);
        List<String> savedHere = SavedModules.presentIn(model, cfg.modulesToSave(), modelState.keySet(), configPath);
        BoraConfig config = savedHere.isEmpty() ? parsed
                : fits(() -> parsed.toBuilder().modulesToSave(savedHere.toArray(new String[0])).build(), configPath);
        Map<String, Tensor> toRestore = ModelParameters.under(savedHere, modelState);
        ExpectedTensors expected = new ExpectedTensors();
        List<String> targets = new ArrayList<>();
        for (Map.Entry<String, AdaptableLinear> e : ModelModules.adaptableLinears(model).entrySet()) {
            if (!fits(() -> config.matches(e.getKey()), configPath)) {
                continue;
            }
            AdaptableLinear al = e.getValue();
            if (al.adapter() != null) { // the model's state, not the file's: not an AdapterFileException
                throw new IllegalArgumentException("module '" + e.getKey() + "' already has an adapter; load onto a"
                        + " model without adapters, or into the attached ones with loadInto(dir, adapters)");
            }
            targets.add(e.getKey());
            expected.addModule(e.getKey(), al.inFeatures(), al.outFeatures(), cfg.rank(), cfg.blocks(), cfg.mode(),
                    al.adapterDtype());
        }
        if (targets.isEmpty()) {
            throw new AdapterFileException(configPath + ": no AdaptableLinear module of the model matches"
                    + " target_modules " + (cfg.targetRegex() != null ? cfg.targetRegex() : cfg.targetModules())
                    + (cfg.describeExclusions() != null ? " minus exclude_modules " + cfg.describeExclusions() : "")
                    + "; the adapter was saved for another model");
        }
        SavedModules.expect(expected, toRestore);
        Path weights = weightsFile(dir);
        try (FileTensors file = FileTensors.read(weights, expected, cfg, configPath)) {
            Map<String, Tensor> restored = SavedModules.finiteValues(weights, file.extras(), toRestore);
            BoraAdapters adapters = fits(() -> BoraInjector.inject(model, config), configPath);
            if (!new ArrayList<>(adapters.byModule().keySet()).equals(targets)) {
                throw new IllegalStateException("injected adapters " + adapters.byModule().keySet()
                        + " differ from the modules checked " + targets);
            }
            copyInto(file.adapter(), adapters, cfg.mode());
            SavedModules.copy(restored, toRestore);
            return new LoadedAdapter(cfg, adapters, file.takeExtras());
        }
    }

    /**
     * Copies the tensors in {@code dir} into adapters that are already attached (for example to
     * go back to a checkpoint), after checking that the config agrees with theirs. Returns the
     * extra tensors.
     */
    public static Map<String, Tensor> loadInto(Path dir, BoraAdapters adapters) throws IOException {
        requireNonNull(dir, "dir", adapters, "adapters");
        BoraConfig config = commonConfig(adapters);
        Path configPath = dir.resolve(AdapterConfigFile.FILE_NAME);
        AdapterConfigFile cfg = AdapterConfigFile.read(configPath);
        requireSame(configPath, "r", cfg.rank(), config.rank());
        requireSame(configPath, "bora_blocks", cfg.blocks(), config.blocks());
        requireSame(configPath, "bora_mode", cfg.mode(), config.mode());
        if (config.mode() == Mode.BORA) {
            requireSame(configPath, "bora_sigma", cfg.sigma(), config.sigma());
        }
        requireSame(configPath, "lora_alpha", cfg.alpha(), config.alpha());
        requireSame(configPath, "use_rslora", cfg.rsLora(), config.rsLora());
        ExpectedTensors expected = new ExpectedTensors();
        for (Map.Entry<String, BoraAdapter> e : adapters.byModule().entrySet()) {
            BoraAdapter a = e.getValue();
            if (a.isMerged()) {
                throw new IllegalStateException("adapter of '" + e.getKey() + "' is merged into its base weight;"
                        + " call unmerge() before loading new adapter tensors");
            }
            expected.addModule(e.getKey(), a.loraA().size(1), a.loraB().size(0), config.rank(), config.blocks(),
                    config.mode(), a.loraA().scalar_type());
        }
        Path weights = weightsFile(dir);
        Map<String, Tensor> saved = adapters.modulesToSaveState();
        SavedModules.expect(expected, saved);
        try (FileTensors file = FileTensors.read(weights, expected, cfg, configPath)) {
            Map<String, Tensor> restored = SavedModules.finiteValues(weights, file.extras(), saved);
            copyInto(file.adapter(), adapters, config.mode());
            SavedModules.copy(restored, saved);
            return file.takeExtras();
        }
    }

    /**
     * The folder's weights file; a folder that holds PyTorch's pickle format instead (older PEFT
     * versions, or {@code save_pretrained(safe_serialization=False)}) is told how to convert it.
     */
    private static Path weightsFile(Path dir) throws IOException {
        Path weights = dir.resolve(WEIGHTS_FILE_NAME);
        if (Files.isRegularFile(weights)) {
            return weights;
        }
        if (Files.isRegularFile(dir.resolve(PICKLE_WEIGHTS_FILE_NAME))) {
            throw new AdapterFileException(dir + " holds " + PICKLE_WEIGHTS_FILE_NAME + " (PyTorch's pickle format,"
                    + " which bora4j does not read: loading a pickle can run code) but no " + WEIGHTS_FILE_NAME
                    + "; save the adapter again with PEFT's save_pretrained (safetensors is its default) or convert"
                    + " it: python -c \"import torch, safetensors.torch as s; s.save_file(torch.load('"
                    + PICKLE_WEIGHTS_FILE_NAME + "', weights_only=True), '" + WEIGHTS_FILE_NAME + "')\"");
        }
        throw new java.nio.file.NoSuchFileException(weights.toString(), null, "no adapter weights: an adapter folder"
                + " holds " + AdapterConfigFile.FILE_NAME + " and " + WEIGHTS_FILE_NAME);
    }

    /**
     * What {@code step} returns, with its IllegalArgumentException (the config does not fit the
     * model: a target that is a plain Linear, b not dividing a layer, a regex that backtracks
     * without end) turned into an AdapterFileException that names the config file.
     */
    private static <T> T fits(java.util.function.Supplier<T> step, Path configPath) throws AdapterFileException {
        try {
            return step.get();
        } catch (IllegalArgumentException e) {
            throw new AdapterFileException(configPath + ": the adapter does not fit the model: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------

    /** IllegalArgumentException naming the first null argument of (value, name) pairs. */
    static void requireNonNull(Object... valuesAndNames) {
        for (int i = 0; i < valuesAndNames.length; i += 2) {
            if (valuesAndNames[i] == null) {
                throw new IllegalArgumentException(valuesAndNames[i + 1] + " must not be null");
            }
        }
    }

    /** The one config all adapters share (one injection); IllegalArgumentException otherwise. */
    static BoraConfig commonConfig(BoraAdapters adapters) {
        if (adapters == null || adapters.all().isEmpty()) {
            throw new IllegalArgumentException("no adapters to save or load: adapters must hold at least one");
        }
        Mode mode = adapters.all().values().iterator().next().config().mode();
        if (!mode.isBoraFamily()) {
            throw new IllegalArgumentException("adapter folders hold BORA, LORA and MELORA adapters only; " + mode
                    + " adapters have no PEFT-compatible layout here: keep their trainable tensors with"
                    + " SafetensorsTorch.write(path, adapters.trainableParameters(), metadata), or write the"
                    + " weights with the adapters merged in with MergedWeights.export(file, model)");
        }
        BoraConfig config = null;
        for (Map.Entry<String, BoraAdapter> e : adapters.byModule().entrySet()) {
            BoraConfig c = e.getValue().config();
            if (config == null) {
                config = c;
            } else if (c != config) {
                throw new IllegalArgumentException("adapter of '" + e.getKey() + "' has config " + c + " but others"
                        + " have " + config + "; an adapter folder holds adapters of one config");
            }
        }
        return config;
    }

    /** Adds the options' extra tensors, refusing names that collide with adapter tensors. */
    static void putExtras(Map<String, Tensor> tensors, AdapterSaveOptions options) {
        for (Map.Entry<String, Tensor> e : options.extraTensors().entrySet()) {
            String key = AdapterKeys.extra(e.getKey());
            if (tensors.containsKey(key)) {
                throw new IllegalArgumentException("extra tensor \"" + e.getKey() + "\" has the name of an adapter"
                        + " tensor (" + key + ")");
            }
            tensors.put(key, e.getValue());
        }
    }

    /** The weights file's record of the config fields that say how its tensors are read. */
    private static final String CONFIG_METADATA = "bora4j_config";

    /**
     * Writes the weights, then the config, each atomically. The weights record {@code readAs}
     * ({@link AdapterConfigFile#readAs()}, null for none), so that a folder whose two files come
     * from different saves (one killed between them) is refused instead of misread.
     */
    static void writeFolder(Path dir, Map<String, Tensor> tensors, String configJson, String description,
                            String readAs) throws IOException {
        requireFiniteToWrite(tensors, dir);
        Files.createDirectories(dir);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("bora4j_version", AdapterConfigFile.BORA4J_VERSION);
        metadata.put("bora4j_content", description);
        if (readAs != null) {
            metadata.put(CONFIG_METADATA, readAs);
        }
        SafetensorsTorch.write(dir.resolve(WEIGHTS_FILE_NAME), tensors, metadata);
        AtomicFiles.writeString(dir.resolve(AdapterConfigFile.FILE_NAME), configJson);
    }

    /**
     * A weights file's tensors after {@code expected} accepted its header: the adapter tensors
     * (checked finite, freed on close once copied) and the extras (freed on close too, unless
     * handed to the caller by {@link #takeExtras}).
     */
    private static final class FileTensors implements AutoCloseable {
        private final Map<String, Tensor> adapter;
        private final Map<String, Tensor> extras;
        private boolean extrasTaken;

        private FileTensors(Map<String, Tensor> adapter, Map<String, Tensor> extras) {
            this.adapter = adapter;
            this.extras = extras;
        }

        static FileTensors read(Path weights, ExpectedTensors expected, AdapterConfigFile cfg, Path configPath)
                throws IOException {
            try (SafetensorsReader reader = SafetensorsReader.open(weights)) {
                requireSameSave(reader, weights, cfg, configPath);
                List<String> extraNames = expected.check(reader, weights, cfg.modulesToSave());
                Map<String, Tensor> adapter = readFinite(reader, weights, expected.byKey().keySet());
                try {
                    return new FileTensors(adapter, readExtras(reader, extraNames));
                } catch (IOException | RuntimeException e) {
                    adapter.values().forEach(Tensor::close);
                    throw e;
                }
            }
        }

        Map<String, Tensor> adapter() {
            return adapter;
        }

        Map<String, Tensor> extras() {
            return extras;
        }

        /** The extras, now the caller's to close. */
        Map<String, Tensor> takeExtras() {
            extrasTaken = true;
            return extras;
        }

        @Override
        public void close() {
            adapter.values().forEach(Tensor::close);
            if (!extrasTaken) {
                extras.values().forEach(Tensor::close); // a failed load: nobody else holds them
            }
        }
    }

    /** Refuses weights that recorded other config fields than the folder's config has. */
    private static void requireSameSave(SafetensorsReader reader, Path weights, AdapterConfigFile cfg, Path configPath)
            throws AdapterFileException {
        String recorded = reader.metadata().get(CONFIG_METADATA);
        if (recorded != null && !recorded.equals(cfg.readAs())) {
            throw new AdapterFileException(weights + " was saved with " + recorded + " but " + configPath + " says "
                    + cfg.readAs() + ": the two files come from different saves (one interrupted between its two"
                    + " files, or the config edited since); save the adapter again");
        }
    }

    private static Map<String, Tensor> readExtras(SafetensorsReader reader, List<String> names) throws IOException {
        Map<String, Tensor> extras = new LinkedHashMap<>();
        try {
            for (String name : names) {
                extras.put(name, SafetensorsTorch.read(reader, AdapterKeys.extra(name)));
            }
        } catch (IOException | RuntimeException e) {
            extras.values().forEach(Tensor::close);
            throw e;
        }
        return extras;
    }

    /**
     * Reads the adapter tensors, refusing NaN or Inf: all of them are read and checked before any
     * is copied, so a bad file changes neither the model nor attached adapters.
     */
    private static Map<String, Tensor> readFinite(SafetensorsReader reader, Path file, Iterable<String> keys)
            throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (String key : keys) {
                Tensor t = SafetensorsTorch.read(reader, key);
                out.put(key, t);
                requireFinite(file, key, t);
            }
            return out;
        } catch (IOException | RuntimeException e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
    }

    /**
     * Refuses to write tensors holding NaN or Inf (a diverged run): the file would be refused
     * when loaded, and what it held lost.
     *
     * @throws IllegalStateException naming the first such tensor; nothing has been written
     */
    static void requireFiniteToWrite(Map<String, Tensor> tensors, Path target) {
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (!FiniteValues.all(e.getValue())) {
                throw new IllegalStateException("tensor " + e.getKey() + " holds NaN or Inf values (the training"
                        + " diverged), so nothing was written to " + target + "; save an earlier state or retrain");
            }
        }
    }

    /**
     * Refuses a loaded tensor holding NaN or Inf (a diverged run or a damaged file); it would
     * otherwise load silently and make every output NaN.
     */
    public static void requireFinite(Path file, String key, Tensor t) throws AdapterFileException {
        if (!FiniteValues.all(t)) {
            throw new AdapterFileException(file + ": tensor " + key + " holds NaN or Inf values; the adapter"
                    + " was saved from a diverged run or the file is damaged: use another adapter or retrain");
        }
    }

    private static void copyInto(Map<String, Tensor> values, BoraAdapters adapters, Mode mode) {
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Map.Entry<String, BoraAdapter> e : adapters.byModule().entrySet()) {
                BoraAdapter a = e.getValue();
                a.loraA().copy_(values.get(AdapterKeys.loraA(e.getKey())));
                a.loraB().copy_(values.get(AdapterKeys.loraB(e.getKey())));
                if (mode == Mode.BORA) {
                    a.sigmaParameter().copy_(values.get(AdapterKeys.sigma(e.getKey())));
                }
            }
        }
    }

    private static void requireSame(Path file, String field, Object inFile, Object inAdapters)
            throws AdapterFileException {
        if (!inFile.equals(inAdapters)) {
            throw new AdapterFileException(file + ": field \"" + field + "\" is " + inFile + " but the adapters"
                    + " to load into have " + inAdapters + "; load onto a fresh model with load(dir, model)");
        }
    }
}
