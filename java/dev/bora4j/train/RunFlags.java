package dev.bora4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.bora4j.io.AtomicFiles;
import dev.bora4j.io.JsonFormatException;
import dev.bora4j.io.StrictJson;
import dev.bora4j.models.minilm.AttentionImplementation;
import dev.bora4j.models.minilm.EncoderMode;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The flags a run folder was started with ({@code run_flags.json}). A run continued from its
 * checkpoint must be given the same ones: resuming with another learning rate, seed or batch
 * size would silently train a mixture of two runs.
 */
final class RunFlags {

    static final String FILE = "run_flags.json";

    /**
     * Flags added after runs began to record theirs, with the value those earlier runs used: a run
     * folder that does not record one of these ran with this value.
     */
    static final Map<String, String> BEFORE_RECORDED = Map.of("--padded-batches", "true", "--attention", "eager");

    /**
     * Flags that earlier runs recorded but that do not change what a run trains (a resume is
     * exact whatever the checkpoint interval): ignored in the comparison.
     */
    static final Set<String> NO_LONGER_RECORDED = Set.of("--checkpoint-every");

    private RunFlags() {
    }

    static void write(Path file, Map<String, String> flags) throws IOException {
        JsonObject o = new JsonObject();
        flags.forEach(o::addProperty);
        AtomicFiles.writeString(file, o.toString());
    }

    /**
     * Throws unless {@code file} records exactly {@code flags}. A folder without the file (made
     * before runs recorded their flags) passes: there is nothing to compare with.
     */
    static void requireSame(Path file, Map<String, String> flags, Path output) throws IOException {
        if (!Files.isRegularFile(file)) {
            return;
        }
        Map<String, String> recorded = read(file);
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, String> e : flags.entrySet()) {
            String was = recorded.getOrDefault(e.getKey(), BEFORE_RECORDED.get(e.getKey()));
            if (!e.getValue().equals(was)) {
                differences.add(e.getKey() + " " + (was == null ? "(not recorded)" : was) + " (now " + e.getValue() + ")");
            }
        }
        for (String key : recorded.keySet()) {
            if (!flags.containsKey(key) && !NO_LONGER_RECORDED.contains(key)) {
                differences.add(key + " " + recorded.get(key) + " (unknown to this version)");
            }
        }
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("output folder " + output + " holds a run started with other flags: "
                    + String.join(", ", differences) + ". Pass the same flags to continue it, or choose another"
                    + " --output for a new run");
        }
    }

    static Map<String, String> read(Path file) throws IOException {
        JsonObject root;
        try {
            root = StrictJson.parseObject(Files.readString(file, StandardCharsets.UTF_8), file);
        } catch (JsonFormatException e) {
            throw unreadable(file, e.problem());
        } catch (CharacterCodingException e) {
            throw unreadable(file, "not UTF-8 text");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            if (!e.getValue().isJsonPrimitive() || !e.getValue().getAsJsonPrimitive().isString()) {
                throw unreadable(file, "the value of '" + e.getKey() + "' is not a string");
            }
            out.put(e.getKey(), e.getValue().getAsString());
        }
        return out;
    }

    /** The encoder mode a run folder's recorded flags ran with. */
    static EncoderMode encoderMode(Map<String, String> recorded) {
        String padded = recorded.getOrDefault("--padded-batches", BEFORE_RECORDED.get("--padded-batches"));
        String attention = recorded.getOrDefault("--attention", BEFORE_RECORDED.get("--attention"));
        return new EncoderMode(!Boolean.parseBoolean(padded), AttentionImplementation.parse(attention));
    }

    private static IOException unreadable(Path file, String why) {
        return new IOException("cannot read " + file + " (" + why + "); delete it to resume without checking the"
                + " flags");
    }
}
