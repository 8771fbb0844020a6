package dev.bora4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.bora4j.internal.FiniteValues;
import dev.bora4j.io.AtomicFiles;
import dev.bora4j.io.SafetensorsTorch;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Training checkpoints that survive {@code kill -9} at any moment. Each checkpoint is a folder
 * {@code step-<N>} holding the trainable tensors and the optimizer's per-parameter state (both
 * safetensors, see {@link OptimizerStateFile}) and the loop state (JSON). It is written under a
 * temporary name, forced to disk and renamed in one atomic step; then the file {@code latest} is
 * atomically switched to it. A crash before that switch leaves the previous checkpoint in force.
 * The loop state records the SHA-256 of the other two files, and loading checks them before either
 * reaches a parser, so a damaged file is refused before it is read; a crafted one still meets
 * only the safetensors reader and value checks, never libtorch's pickle reader.
 */
public final class Checkpoints {

    static final String LATEST = "latest";
    private static final String TENSORS = "trainable.safetensors";
    private static final String OPTIMIZER = "optimizer.safetensors";
    /** libtorch's optimizer archive, which checkpoints held before; a pickle, so it is not read. */
    private static final String LEGACY_OPTIMIZER = "optimizer.pt";
    private static final String STATE = "state.json";
    private static final String PREFIX = "step-";
    /** The state's field with the SHA-256 of each data file, written by save, checked by load. */
    private static final String DIGESTS = "sha256";
    private static final List<String> DATA_FILES = List.of(TENSORS, OPTIMIZER);

    private final Path dir;
    private final int keep;

    /** @param keep how many complete checkpoints to keep (>= 1) */
    public Checkpoints(Path dir, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be >= 1, got " + keep);
        }
        this.dir = dir;
        this.keep = keep;
    }

    /** A loaded checkpoint: its step and the loop state it saved. */
    public record Loaded(long step, JsonObject state) {
    }

    /**
     * Saves a checkpoint of {@code step} and makes it the latest.
     *
     * @throws IllegalArgumentException if step is negative or already the latest checkpoint
     *         (replacing it in place could not survive a kill between the delete and the rename)
     */
    public void save(long step, Map<String, Tensor> trainable, Optimizer optimizer, JsonObject state)
            throws IOException {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        String name = PREFIX + step;
        if (name.equals(latestNameOrNull())) {
            throw new IllegalArgumentException("step " + step + " is the latest checkpoint in " + dir
                    + " already: checkpoints are saved at increasing steps");
        }
        Files.createDirectories(dir);
        Path temp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        Files.createDirectory(temp);
        SafetensorsTorch.write(temp.resolve(TENSORS), trainable, Map.of("format", "bora4j-checkpoint"));
        OptimizerStateFile.write(temp.resolve(OPTIMIZER), trainable, optimizer);
        JsonObject withStep = state.deepCopy();
        withStep.addProperty("step", step);
        JsonObject digests = new JsonObject();
        for (String file : DATA_FILES) {
            digests.addProperty(file, sha256(temp.resolve(file)));
        }
        withStep.add(DIGESTS, digests);
        AtomicFiles.writeString(temp.resolve(STATE), withStep.toString());
        force(temp);
        Path target = dir.resolve(name);
        if (Files.exists(target)) {
            deleteTree(target);
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        force(dir);
        AtomicFiles.writeString(dir.resolve(LATEST), name);
        pruneOldCheckpoints(name);
    }

    /** What {@code latest} names, or null when it is missing or unreadable. */
    private String latestNameOrNull() {
        try {
            return Files.readString(dir.resolve(LATEST), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether a complete checkpoint has been saved here (the one {@link #loadLatest} would load). */
    public boolean exists() {
        return Files.isRegularFile(dir.resolve(LATEST));
    }

    /**
     * Loads the latest checkpoint into the given tensors and optimizer, if there is one.
     *
     * @throws IOException naming the file when the checkpoint is corrupt or does not fit the model
     * @throws IllegalStateException if the optimizer holds state for a tensor the checkpoint has
     *         none for (load into an optimizer that has not stepped)
     */
    public Optional<Loaded> loadLatest(Map<String, Tensor> trainable, Optimizer optimizer) throws IOException {
        if (!exists()) {
            return Optional.empty();
        }
        Path latest = dir.resolve(LATEST);
        String name;
        try {
            name = Files.readString(latest, StandardCharsets.UTF_8).trim();
        } catch (CharacterCodingException e) {
            throw new IOException("corrupt checkpoint pointer " + latest + ": not UTF-8 text; delete " + dir
                    + " to start over", e);
        }
        if (!name.matches(PREFIX + "\\d{1,18}")) {
            throw new IOException("corrupt checkpoint pointer " + latest + ": '" + name
                    + "' is not a checkpoint name; delete " + dir + " to start over");
        }
        Path folder = dir.resolve(name);
        if (Files.exists(folder.resolve(LEGACY_OPTIMIZER)) && !Files.exists(folder.resolve(OPTIMIZER))) {
            throw new IOException("checkpoint " + folder + " keeps the optimizer state in " + LEGACY_OPTIMIZER
                    + ", libtorch's pickle archive, which is no longer read (its reader trusts the file); delete "
                    + dir + " to start over");
        }
        JsonObject state = readState(folder.resolve(STATE));
        long step = step(state, folder.resolve(STATE), Long.parseLong(name.substring(PREFIX.length())));
        checkDigests(folder, state);
        // Everything is read and checked before the parameters change; the optimizer state is
        // loaded (all or nothing) before they are overwritten.
        Map<String, Tensor> saved = checkedTensors(folder.resolve(TENSORS), trainable);
        try {
            try {
                OptimizerStateFile.load(folder.resolve(OPTIMIZER), trainable, optimizer);
            } catch (IOException e) {
                throw new IOException(e.getMessage() + "; delete " + dir + " to start over", e);
            } catch (IllegalStateException e) {
                throw e; // about the optimizer passed in, not the checkpoint
            } catch (RuntimeException e) {
                // torch's message goes on with its C++ stack; its first line says what went wrong
                String what = String.valueOf(e.getMessage()).lines().findFirst().orElse("").strip();
                throw new IOException("cannot load optimizer state " + folder.resolve(OPTIMIZER) + ": " + what
                        + "; delete " + dir + " to start over", e);
            }
            copy(saved, trainable);
        } finally {
            saved.values().forEach(Tensor::close);
        }
        return Optional.of(new Loaded(step, state));
    }

    private JsonObject readState(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("checkpoint file " + file + " is missing; delete " + dir + " to start over");
        }
        try {
            JsonObject state = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
            if (!state.has("step")) {
                throw new IOException("checkpoint file " + file + " has no step; delete " + dir + " to start over");
            }
            return state;
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException("checkpoint file " + file + " is not a JSON object: " + e.getMessage() + "; delete "
                    + dir + " to start over", e);
        } catch (CharacterCodingException e) {
            throw new IOException("checkpoint file " + file + " is not UTF-8 text; delete " + dir + " to start over",
                    e);
        }
    }

    /**
     * Checks each data file against the digest its state recorded. A state without digests was
     * written before they existed; its files go to the parsers' own checks.
     */
    private void checkDigests(Path folder, JsonObject state) throws IOException {
        JsonElement recorded = state.get(DIGESTS);
        state.remove(DIGESTS);
        if (recorded == null) {
            return;
        }
        Path stateFile = folder.resolve(STATE);
        if (!recorded.isJsonObject()) {
            throw new IOException("checkpoint file " + stateFile + " has a corrupt '" + DIGESTS + "': " + recorded
                    + " is not an object; delete " + dir + " to start over");
        }
        for (String file : DATA_FILES) {
            JsonElement e = recorded.getAsJsonObject().get(file);
            if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()
                    || !e.getAsString().matches("[0-9a-f]{64}")) {
                throw new IOException("checkpoint file " + stateFile + " has no valid SHA-256 for " + file
                        + " (found " + e + "); delete " + dir + " to start over");
            }
            Path data = folder.resolve(file);
            if (!Files.isRegularFile(data)) {
                throw new IOException("checkpoint " + folder + " has no " + file + "; delete " + dir
                        + " to start over");
            }
            String actual = sha256(data);
            if (!actual.equals(e.getAsString())) {
                throw new IOException("checkpoint file " + data + " is damaged: its SHA-256 is " + actual
                        + ", the checkpoint recorded " + e.getAsString() + "; delete " + dir + " to start over");
            }
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The state's "step": a whole number >= 0, and the one in its folder's name (save writes both). */
    private long step(JsonObject state, Path file, long folderStep) throws IOException {
        JsonElement e = state.get("step");
        String problem;
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            problem = "is " + e + ", not a number";
        } else {
            BigDecimal v;
            try {
                v = e.getAsBigDecimal();
            } catch (NumberFormatException notANumber) {
                v = null;
            }
            if (v == null) {
                problem = "is " + e + ", a number out of any usable range";
            } else if (v.signum() != 0 && v.stripTrailingZeros().scale() > 0) {
                problem = "is " + e + ", not an integer";
            } else if (v.signum() < 0 || v.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
                problem = "is " + e + ", expected an integer in [0, " + Long.MAX_VALUE + "]";
            } else if (v.longValueExact() != folderStep) {
                problem = "is " + e + " but the checkpoint folder is " + PREFIX + folderStep;
            } else {
                return folderStep;
            }
        }
        throw new IOException("checkpoint file " + file + " has a corrupt 'step': it " + problem + "; delete " + dir
                + " to start over");
    }

    /** Copies the tensors of a safetensors file into {@code trainable}, checking names, shapes and dtypes. */
    static void loadTensors(Path file, Map<String, Tensor> trainable) throws IOException {
        Map<String, Tensor> saved = checkedTensors(file, trainable);
        try {
            copy(saved, trainable);
        } finally {
            saved.values().forEach(Tensor::close);
        }
    }

    /**
     * The tensors in {@code file}, checked against {@code trainable}: the same names, shapes and
     * dtypes, and finite values (what save wrote; anything else is damage). Nothing is copied yet.
     */
    private static Map<String, Tensor> checkedTensors(Path file, Map<String, Tensor> trainable) throws IOException {
        Map<String, Tensor> saved = SafetensorsTorch.readAll(file);
        try {
            for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
                Tensor source = saved.get(e.getKey());
                if (source == null) {
                    throw new IOException("checkpoint " + file + " has no tensor '" + e.getKey()
                            + "': it was written for another model or adapter configuration");
                }
                Tensor target = e.getValue();
                if (!Arrays.equals(source.sizes().vec().get(), target.sizes().vec().get())
                        || source.scalar_type().value != target.scalar_type().value) {
                    throw new IOException("checkpoint tensor '" + e.getKey() + "' in " + file + " has shape "
                            + Arrays.toString(source.sizes().vec().get()) + " " + source.scalar_type()
                            + ", the model expects " + Arrays.toString(target.sizes().vec().get()) + " "
                            + target.scalar_type());
                }
                if (!FiniteValues.all(source)) {
                    throw new IOException("checkpoint tensor '" + e.getKey() + "' in " + file + " holds NaN or"
                            + " Inf values, which training never saves: the file is damaged; delete it to start"
                            + " over");
                }
            }
            if (saved.size() != trainable.size()) {
                List<String> extra = new ArrayList<>(saved.keySet());
                extra.removeAll(trainable.keySet());
                throw new IOException("checkpoint " + file + " holds tensors the model does not have: " + extra);
            }
            return saved;
        } catch (IOException | RuntimeException e) {
            saved.values().forEach(Tensor::close);
            throw e;
        }
    }

    private static void copy(Map<String, Tensor> saved, Map<String, Tensor> trainable) {
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
                e.getValue().copy_(saved.get(e.getKey()));
            }
        }
    }

    private void pruneOldCheckpoints(String current) throws IOException {
        List<Path> complete = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String f = p.getFileName().toString();
                if (f.matches(PREFIX + "\\d{1,18}") && Files.isDirectory(p)) {
                    complete.add(p);
                } else if (f.startsWith("." + PREFIX) && f.endsWith(".tmp")) {
                    deleteTree(p); // left by a killed writer
                }
            }
        }
        complete.sort(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(PREFIX.length()))));
        for (int i = 0; i < complete.size() - keep; i++) {
            if (!complete.get(i).getFileName().toString().equals(current)) {
                deleteTree(complete.get(i));
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void force(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                ch.force(true);
            } catch (IOException e) {
                // some file systems cannot sync a directory; the data files themselves are forced
            }
            return;
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }
}
