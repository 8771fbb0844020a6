package dev.bora4j.train;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.GsonBuilder;

import java.io.Closeable;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Metrics as JSON Lines: one object per record, flushed at once so that a killed run keeps
 * every line written before it died. A resumed run appends to the same file. A NaN or infinite
 * number, at any depth (the loss of a skipped step), is written as {@code null}: JSON has no such numbers, and
 * strict readers (jq, JavaScript's JSON.parse) refuse the bare {@code NaN} some writers emit.
 */
public final class MetricsLog implements Closeable {

    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().serializeNulls().create();

    private final Writer writer;

    public MetricsLog(Path file) throws IOException {
        this.writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    }

    /** Writes one record; {@code keysAndValues} alternate String keys and values. */
    public void write(Object... keysAndValues) throws IOException {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values must come in pairs");
        }
        Map<String, Object> record = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            record.put(String.valueOf(keysAndValues[i]), keysAndValues[i + 1]);
        }
        writer.write(GSON.toJson(finite(GSON.toJsonTree(record))));
        writer.write('\n');
        writer.flush();
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }

    /** The tree with every NaN or infinite number, at any depth, replaced by null. */
    private static JsonElement finite(JsonElement e) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            return Double.isFinite(e.getAsDouble()) ? e : JsonNull.INSTANCE;
        }
        if (e.isJsonArray()) {
            JsonArray out = new JsonArray();
            e.getAsJsonArray().forEach(v -> out.add(finite(v)));
            return out;
        }
        if (e.isJsonObject()) {
            JsonObject out = new JsonObject();
            e.getAsJsonObject().entrySet().forEach(v -> out.add(v.getKey(), finite(v.getValue())));
            return out;
        }
        return e;
    }
}
