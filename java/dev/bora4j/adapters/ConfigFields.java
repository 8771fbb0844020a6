package dev.bora4j.adapters;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Typed, checked access to the fields of one JSON config file; every error names the file and field. */
final class ConfigFields {

    private final JsonObject json;
    private final Path file;

    ConfigFields(JsonObject json, Path file) {
        this.json = json;
        this.file = file;
    }

    Path file() {
        return file;
    }

    AdapterFileException error(String field, String problem) {
        return new AdapterFileException(file + ": field \"" + field + "\" " + problem);
    }

    boolean isPresent(String field) {
        return json.has(field) && !json.get(field).isJsonNull();
    }

    /** Whether the field holds a string (PEFT's init_lora_weights is a boolean or a method name). */
    boolean isStringField(String field) {
        return isPresent(field) && json.get(field).isJsonPrimitive() && json.get(field).getAsJsonPrimitive().isString();
    }

    private JsonElement required(String field) throws AdapterFileException {
        if (!json.has(field)) {
            throw error(field, "is missing");
        }
        JsonElement e = json.get(field);
        if (e.isJsonNull()) {
            throw error(field, "is null");
        }
        return e;
    }

    String string(String field) throws AdapterFileException {
        JsonElement e = required(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw error(field, "must be a string, got " + e);
        }
        return e.getAsString();
    }

    /** A string, or null when the field is absent or null. */
    String optionalString(String field) throws AdapterFileException {
        return isPresent(field) ? string(field) : null;
    }

    boolean bool(String field) throws AdapterFileException {
        JsonElement e = required(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw error(field, "must be true or false, got " + e);
        }
        return e.getAsBoolean();
    }

    /**
     * Refuses a field that is set: present with a value other than null, false, or an empty list,
     * object or string (how PEFT writes a feature that is off).
     */
    void requireUnset(String field, String why) throws AdapterFileException {
        if (!isPresent(field)) {
            return;
        }
        JsonElement e = json.get(field);
        boolean off = e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean() && !e.getAsBoolean()
                || e.isJsonArray() && e.getAsJsonArray().isEmpty()
                || e.isJsonObject() && e.getAsJsonObject().isEmpty()
                || e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() && e.getAsString().isEmpty();
        if (!off) {
            throw error(field, "is " + abbreviate(e.toString()) + ": " + why);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    boolean optionalBool(String field, boolean dflt) throws AdapterFileException {
        return isPresent(field) ? bool(field) : dflt;
    }

    private BigDecimal number(String field) throws AdapterFileException {
        JsonElement e = required(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw error(field, "must be a number, got " + e);
        }
        return e.getAsBigDecimal();
    }

    /** An integer in [min, max]; 8 and 8.0 are accepted, 8.5 is not. */
    int integer(String field, int min, int max) throws AdapterFileException {
        BigDecimal v = number(field);
        if (v.signum() != 0 && v.stripTrailingZeros().scale() > 0) {
            throw error(field, "must be an integer, got " + shown(v));
        }
        if (v.compareTo(BigDecimal.valueOf(min)) < 0 || v.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw error(field, "is " + shown(v) + ", out of range [" + min + ", " + max + "]");
        }
        return v.intValueExact();
    }

    /** v as written plainly, unless its exponent is huge (1e999999999 would be a billion digits). */
    private static String shown(BigDecimal v) {
        return Math.abs((long) v.scale()) <= 64 ? v.toPlainString() : v.toString();
    }

    /** A finite number; the caller checks its range. */
    double finite(String field) throws AdapterFileException {
        double d = number(field).doubleValue();
        if (!Double.isFinite(d)) {
            throw error(field, "is too large to be a finite number");
        }
        return d;
    }

    /** One of {@code allowed} (compared ignoring case), returned in the case of {@code allowed}. */
    String choice(String field, String... allowed) throws AdapterFileException {
        String v = string(field);
        for (String a : allowed) {
            if (a.toLowerCase(Locale.ROOT).equals(v.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw error(field, "is \"" + v + "\"; expected one of " + List.of(allowed));
    }

    /** A list of non-empty strings, or null when absent or null. */
    List<String> optionalStringList(String field) throws AdapterFileException {
        if (!isPresent(field)) {
            return null;
        }
        JsonElement e = json.get(field);
        if (!e.isJsonArray()) {
            throw error(field, "must be a list of strings, got " + e);
        }
        return stringList(field, e.getAsJsonArray());
    }

    private List<String> stringList(String field, JsonArray arr) throws AdapterFileException {
        List<String> out = new ArrayList<>();
        for (JsonElement item : arr) {
            if (!item.isJsonPrimitive() || !((JsonPrimitive) item).isString() || item.getAsString().isBlank()) {
                throw error(field, "must hold non-empty strings only, got " + item);
            }
            out.add(item.getAsString());
        }
        return out;
    }

    /**
     * PEFT's target_modules: a list of module-name suffixes, or one string that is a regex the
     * whole module name must match. Returns the list, or a one-element list holding the regex, and
     * sets {@code isRegex[0]} to say which.
     */
    List<String> targetModules(String field, boolean[] isRegex) throws AdapterFileException {
        List<String> names = moduleSelector(field, required(field), isRegex);
        if (names.isEmpty()) {
            throw error(field, "must name at least one module");
        }
        return names;
    }

    /**
     * PEFT's exclude_modules, in target_modules' two forms; null when it excludes nothing: absent,
     * null, an empty list or a blank string (PEFT's {@code if exclude_modules:} skips the first
     * three, and a blank regex matches no module name).
     */
    List<String> optionalModuleSelector(String field, boolean[] isRegex) throws AdapterFileException {
        if (!isPresent(field)) {
            return null;
        }
        JsonElement e = json.get(field);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() && e.getAsString().isBlank()) {
            return null;
        }
        List<String> names = moduleSelector(field, e, isRegex);
        return names.isEmpty() ? null : names;
    }

    private List<String> moduleSelector(String field, JsonElement e, boolean[] isRegex) throws AdapterFileException {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            if (e.getAsString().isBlank()) {
                throw error(field, "must not be empty");
            }
            isRegex[0] = true;
            return List.of(e.getAsString());
        }
        if (!e.isJsonArray()) {
            throw error(field, "must be a list of module names or a regex string, got " + e);
        }
        isRegex[0] = false;
        return stringList(field, e.getAsJsonArray());
    }
}
