package dev.bora4j.train;

import dev.bora4j.internal.FiniteValues;
import dev.bora4j.io.SafetensorsReader;
import dev.bora4j.io.SafetensorsTorch;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A torch optimizer's per-parameter state (AdamW's {@code step}, {@code exp_avg} and
 * {@code exp_avg_sq}; likewise Adam, SGD, RMSprop, Adagrad) as a safetensors file: one entry
 * {@code <parameter name>/<field>} per value, tensors shaped like their parameter, counters as
 * int64 scalars.
 *
 * <p>Why not libtorch's own {@code optimizer.save}: its archive is a pickle whose reader trusts
 * the file, so a crafted file could take the JVM down. Here a file goes through the safetensors
 * reader's checks and then through ours (names, shapes, dtypes, finite values, counters >= 0);
 * libtorch only ever reads archives made in this process: the optimizer's own, and one built from
 * the checked values with the optimizer's current parameter groups (its learning rates and other
 * options are not part of the file). Loading replaces the state of the tensors in the file;
 * libtorch cannot drop state, so an optimizer holding state for others is refused.
 */
final class OptimizerStateFile {

    static final String FORMAT = "bora4j-optimizer-state";
    private static final String SEPARATOR = "/";
    /** The section of libtorch's optimizer archive with the per-parameter state. */
    private static final String STATE = "state";

    private OptimizerStateFile() {
    }

    /**
     * Writes the optimizer's state for the tensors of {@code trainable} (the optimizer's
     * parameters, by name) to {@code file}, atomically.
     *
     * @throws IllegalArgumentException when the optimizer holds state this file cannot represent:
     *         for a tensor not in {@code trainable}, or a value that is neither a tensor shaped
     *         like its parameter nor an integer (LBFGS, for one)
     */
    static void write(Path file, Map<String, Tensor> trainable, Optimizer optimizer) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Map<String, String> names = namesByKey(trainable);
            InputArchive state = section(archiveOf(optimizer, file.toAbsolutePath().getParent()), STATE);
            Map<String, Tensor> entries = new LinkedHashMap<>();
            for (String key : keys(state)) {
                String name = names.get(key);
                if (name == null) {
                    throw new IllegalArgumentException("the optimizer holds state for a tensor that is not one of the "
                            + trainable.size() + " trainable tensors given: pass every parameter it trains");
                }
                InputArchive fields = section(state, key);
                for (String field : keys(fields)) {
                    entries.put(name + SEPARATOR + field, entry(name, trainable.get(name), field, fields));
                }
            }
            SafetensorsTorch.write(file, entries, Map.of("format", FORMAT));
        }
    }

    private static Tensor entry(String name, Tensor param, String field, InputArchive fields) {
        IValue v = new IValue();
        fields.read(field, v);
        if (v.isInt()) {
            return torch.scalar_tensor(new Scalar(v.toInt()), new org.bytedeco.pytorch.TensorOptions(ScalarType.Long));
        }
        if (v.isTensor()) {
            Tensor t = v.toTensor();
            if (Arrays.equals(t.sizes().vec().get(), param.sizes().vec().get())
                    && t.scalar_type().value == param.scalar_type().value) {
                return t;
            }
            throw new IllegalArgumentException("optimizer state '" + field + "' of '" + name + "' is "
                    + Arrays.toString(t.sizes().vec().get()) + " " + t.scalar_type() + ", not shaped like its parameter ("
                    + Arrays.toString(param.sizes().vec().get()) + " " + param.scalar_type()
                    + "); only per-parameter state can be saved");
        }
        throw new IllegalArgumentException("optimizer state '" + field + "' of '" + name + "' is a "
                + v.tagKind().getString() + "; only tensors and integers can be saved");
    }

    /**
     * Loads the state in {@code file} into the optimizer, whose parameters are the tensors of
     * {@code trainable}. Every value is checked before the optimizer changes.
     *
     * @throws IOException saying what is wrong with the file
     * @throws IllegalStateException if the optimizer holds state for a tensor the file has none for
     */
    static void load(Path file, Map<String, Tensor> trainable, Optimizer optimizer) throws IOException {
        checkFormat(file);
        Map<String, Tensor> saved = SafetensorsTorch.readAll(file);
        try (PointerScope scope = new PointerScope()) {
            Map<String, Map<String, Tensor>> byParam = checked(file, saved, trainable);
            InputArchive current = archiveOf(optimizer, null);
            requireNoStateBeyond(file, byParam, current, trainable);
            OutputArchive rebuilt = new OutputArchive();
            for (String key : keys(current)) {
                if (key.equals(STATE)) {
                    rebuilt.write(STATE, stateArchive(rebuilt, byParam, trainable));
                } else {
                    copy(current, key, rebuilt);
                }
            }
            optimizer.load(reread(rebuilt, null));
        } finally {
            saved.values().forEach(Tensor::close);
        }
    }

    /**
     * libtorch's load only adds state, it cannot drop any: an optimizer that holds state for a
     * tensor the file has none for would end up with a mix of two runs.
     */
    private static void requireNoStateBeyond(Path file, Map<String, Map<String, Tensor>> byParam,
                                             InputArchive current, Map<String, Tensor> trainable) {
        if (!keys(current).contains(STATE)) {
            throw new IllegalStateException("libtorch's optimizer archive has no '" + STATE + "' section");
        }
        Map<String, String> names = namesByKey(trainable);
        for (String key : keys(section(current, STATE))) {
            String name = names.getOrDefault(key, "a tensor not among the trainable ones");
            if (!byParam.containsKey(name)) {
                throw new IllegalStateException("the optimizer already holds state for '" + name + "', which "
                        + file + " has none for, and libtorch cannot drop it: load into an optimizer that has"
                        + " not stepped yet");
            }
        }
    }

    private static void checkFormat(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("optimizer state " + file + " is missing");
        }
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            String format = reader.metadata().get("format");
            if (!FORMAT.equals(format)) {
                throw new IOException("optimizer state " + file + " has format " + format + ", expected " + FORMAT);
            }
        }
    }

    /** The file's entries by parameter and field, after checking every name and value. */
    private static Map<String, Map<String, Tensor>> checked(Path file, Map<String, Tensor> saved,
                                                           Map<String, Tensor> trainable) throws IOException {
        Map<String, Map<String, Tensor>> byParam = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : saved.entrySet()) {
            String entry = e.getKey();
            int cut = entry.lastIndexOf(SEPARATOR);
            String name = cut < 0 ? null : entry.substring(0, cut);
            String field = cut < 0 ? null : entry.substring(cut + 1);
            if (name == null || !trainable.containsKey(name) || !field.matches("[a-z_][a-z0-9_]{0,63}")) {
                throw new IOException("optimizer state " + file + " has an entry '" + entry
                        + "' that is not <trainable tensor>/<field>: it was written for another model or is damaged");
            }
            String problem = problem(e.getValue(), trainable.get(name));
            if (problem != null) {
                throw new IOException("optimizer state " + file + ": '" + entry + "' " + problem);
            }
            byParam.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(field, e.getValue());
        }
        Set<String> firstFields = null;
        String first = null;
        for (Map.Entry<String, Map<String, Tensor>> e : byParam.entrySet()) {
            Set<String> fields = new TreeSet<>(e.getValue().keySet());
            if (firstFields == null) {
                firstFields = fields;
                first = e.getKey();
            } else if (!fields.equals(firstFields)) {
                throw new IOException("optimizer state " + file + " is damaged: '" + e.getKey() + "' has " + fields
                        + " but '" + first + "' has " + firstFields);
            }
        }
        return byParam;
    }

    /** What is wrong with a saved value for {@code param}, or null: a counter or a tensor like it. */
    private static String problem(Tensor value, Tensor param) {
        if (isLong(value)) {
            if (value.dim() != 0) {
                return "is an int64 tensor of shape " + Arrays.toString(value.sizes().vec().get())
                        + "; counters are scalars";
            }
            long v = value.item_long();
            return v >= 0 ? null : "is " + v + "; counters are >= 0";
        }
        if (!Arrays.equals(value.sizes().vec().get(), param.sizes().vec().get())
                || value.scalar_type().value != param.scalar_type().value) {
            return "has shape " + Arrays.toString(value.sizes().vec().get()) + " " + value.scalar_type()
                    + ", its parameter " + Arrays.toString(param.sizes().vec().get()) + " " + param.scalar_type();
        }
        return FiniteValues.all(value) ? null : "holds NaN or Inf values, which training never saves";
    }

    private static boolean isLong(Tensor t) {
        return t.scalar_type().value == ScalarType.Long.value;
    }

    /** libtorch's state section, keyed as the optimizer keys its parameters, from checked values. */
    private static OutputArchive stateArchive(OutputArchive parent, Map<String, Map<String, Tensor>> byParam,
                                              Map<String, Tensor> trainable) {
        OutputArchive state = new OutputArchive(parent.compilation_unit());
        for (Map.Entry<String, Map<String, Tensor>> p : byParam.entrySet()) {
            Tensor param = trainable.get(p.getKey());
            OutputArchive fields = new OutputArchive(parent.compilation_unit());
            for (Map.Entry<String, Tensor> f : p.getValue().entrySet()) {
                Tensor v = f.getValue();
                fields.write(f.getKey(), isLong(v)
                        ? new IValue(v.item_long())
                        : new IValue(v.to(param.device(), param.scalar_type()).clone()));
            }
            state.write(key(param), fields);
        }
        return state;
    }

    /** Copies entry {@code key} of {@code from} (a value or a section, recursively) into {@code to}. */
    private static void copy(InputArchive from, String key, OutputArchive to) {
        IValue v = new IValue();
        from.read(key, v);
        if (!v.isModule()) {
            to.write(key, v);
            return;
        }
        InputArchive child = section(from, key);
        OutputArchive copied = new OutputArchive(to.compilation_unit());
        for (String k : keys(child)) {
            copy(child, k, copied);
        }
        to.write(key, copied);
    }

    /** How libtorch's optimizers key a parameter's state: the address of its TensorImpl. */
    private static String key(Tensor param) {
        return Long.toUnsignedString(param.unsafeGetTensorImpl().address());
    }

    private static Map<String, String> namesByKey(Map<String, Tensor> trainable) {
        Map<String, String> names = new HashMap<>();
        for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
            if (e.getKey().contains(SEPARATOR)) {
                throw new IllegalArgumentException("tensor name '" + e.getKey() + "' contains '" + SEPARATOR + "'");
            }
            names.put(key(e.getValue()), e.getKey());
        }
        return names;
    }

    private static InputArchive archiveOf(Optimizer optimizer, Path dir) throws IOException {
        OutputArchive archive = new OutputArchive();
        optimizer.save(archive);
        return reread(archive, dir);
    }

    /**
     * The archive as libtorch reads it back, through a private temporary file in {@code dir}
     * (null: the system's), which it alone writes and reads: no size limit of a Java array.
     */
    private static InputArchive reread(OutputArchive archive, Path dir) throws IOException {
        Path temp = dir == null ? Files.createTempFile("bora4j-optimizer-", ".tmp")
                : Files.createTempFile(dir, ".bora4j-optimizer-", ".tmp");
        try {
            archive.save_to(temp.toString());
            InputArchive in = new InputArchive();
            in.load_from(temp.toString());
            return in;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static InputArchive section(InputArchive archive, String key) {
        InputArchive child = new InputArchive();
        archive.read(key, child);
        return child;
    }

    private static List<String> keys(InputArchive archive) {
        List<String> out = new ArrayList<>();
        for (BytePointer k : archive.keys().get()) {
            out.add(k.getString());
        }
        return out;
    }
}
