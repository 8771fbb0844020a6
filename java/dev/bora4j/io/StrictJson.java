package dev.bora4j.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.file.Path;

/**
 * Parses a JSON config file strictly: one object, standard JSON only, nothing after it, and no key
 * twice in an object (Gson's own tree parser is lenient and keeps the last of duplicate keys, which
 * would let a file say two things at once), nested at most 64 deep, numbers of a usable size.
 */
public final class StrictJson {

    private static final int MAX_DEPTH = 64;

    private StrictJson() {
    }

    public static JsonObject parseObject(String text, Path file) throws JsonFormatException {
        try (JsonReader in = new JsonReader(new StringReader(text))) {
            in.setStrictness(Strictness.STRICT);
            if (in.peek() != JsonToken.BEGIN_OBJECT) {
                throw new JsonFormatException(file, "expected a JSON object, found " + in.peek());
            }
            JsonObject obj = read(in, file, 0, null).getAsJsonObject();
            if (in.peek() != JsonToken.END_DOCUMENT) {
                throw new JsonFormatException(file, "unexpected content after the JSON object");
            }
            return obj;
        } catch (JsonFormatException e) {
            throw e;
        } catch (IOException | IllegalStateException e) {
            throw new JsonFormatException(file, "not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Reads one value; {@code field} is the key it (or the array holding it) sits under, for messages. */
    private static JsonElement read(JsonReader in, Path file, int depth, String field) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new JsonFormatException(file, "JSON nested deeper than " + MAX_DEPTH + " levels");
        }
        switch (in.peek()) {
            case BEGIN_OBJECT: {
                JsonObject obj = new JsonObject();
                in.beginObject();
                while (in.hasNext()) {
                    String key = in.nextName();
                    if (obj.has(key)) {
                        throw new JsonFormatException(file, "field \"" + key + "\" appears twice");
                    }
                    obj.add(key, read(in, file, depth + 1, key));
                }
                in.endObject();
                return obj;
            }
            case BEGIN_ARRAY: {
                JsonArray arr = new JsonArray();
                in.beginArray();
                while (in.hasNext()) {
                    arr.add(read(in, file, depth + 1, field));
                }
                in.endArray();
                return arr;
            }
            case STRING:
                return new JsonPrimitive(in.nextString());
            case NUMBER:
                return number(in.nextString(), file, field);
            case BOOLEAN:
                return new JsonPrimitive(in.nextBoolean());
            case NULL:
                in.nextNull();
                return JsonNull.INSTANCE;
            default:
                throw new JsonFormatException(file, "unexpected JSON token " + in.peek());
        }
    }

    private static JsonPrimitive number(String literal, Path file, String field) throws JsonFormatException {
        try {
            return new JsonPrimitive(new BigDecimal(literal));
        } catch (NumberFormatException e) {
            // valid JSON, but an exponent beyond what any number (BigDecimal included) can hold
            String shown = literal.length() > 40 ? literal.substring(0, 40) + "..." : literal;
            throw new JsonFormatException(file, (field == null ? "a number" : "field \"" + field + "\"")
                    + " is " + shown + ", a number out of any usable range; write a number of ordinary size", e);
        }
    }
}
