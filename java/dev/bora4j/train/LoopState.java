package dev.bora4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where the training loop stands, as saved with each checkpoint: the next (epoch, batch) to
 * train, the steps skipped so far by the non-finite guard and the early-stopping state.
 *
 * @param bestDevMcc best dev MCC so far; negative infinity before the first evaluation
 */
record LoopState(int epoch, int batch, long skipped, double bestDevMcc, int evalsWithoutImprovement) {

    static final LoopState START = new LoopState(0, 0, 0, Double.NEGATIVE_INFINITY, 0);

    JsonObject toJson() {
        JsonObject s = new JsonObject();
        s.addProperty("epoch", epoch);
        s.addProperty("batch", batch);
        s.addProperty("skipped", skipped);
        // null before the first evaluation: JSON has no -Infinity
        s.add("best_dev_mcc", bestDevMcc == Double.NEGATIVE_INFINITY ? JsonNull.INSTANCE : new JsonPrimitive(bestDevMcc));
        s.addProperty("evals_without_improvement", evalsWithoutImprovement);
        return s;
    }

    /**
     * Reads a checkpoint's loop state and checks it against the run ({@code epochs},
     * {@code batchesPerEpoch}), so that a corrupt or foreign state is refused with its reason
     * instead of training from a wrong place.
     */
    static LoopState fromJson(JsonObject s, int epochs, int batchesPerEpoch, Path checkpoints) throws IOException {
        LoopState state = new LoopState(
                (int) integer(s, "epoch", 0, epochs, checkpoints),
                (int) integer(s, "batch", 0, batchesPerEpoch - 1, checkpoints),
                integer(s, "skipped", 0, Long.MAX_VALUE, checkpoints),
                bestDevMcc(s, checkpoints),
                (int) integer(s, "evals_without_improvement", 0, Integer.MAX_VALUE, checkpoints));
        double mcc = state.bestDevMcc;
        if (!(mcc >= -1 && mcc <= 1) && mcc != Double.NEGATIVE_INFINITY) { // -Infinity: no evaluation yet
            throw corrupt(checkpoints, "'best_dev_mcc' is " + mcc + ", an MCC lies in [-1, 1]");
        }
        return state;
    }

    /** null (or, in checkpoints written before it was, the bare -Infinity) before the first evaluation. */
    private static double bestDevMcc(JsonObject s, Path checkpoints) throws IOException {
        JsonElement e = s.get("best_dev_mcc");
        return e != null && e.isJsonNull() ? Double.NEGATIVE_INFINITY : number(s, "best_dev_mcc", checkpoints);
    }

    private static long integer(JsonObject s, String name, long min, long max, Path checkpoints) throws IOException {
        double value = number(s, name, checkpoints);
        if (value != Math.rint(value) || value < min || value > max) {
            throw corrupt(checkpoints, "'" + name + "' is " + value + ", expected an integer in [" + min + ", " + max + "]");
        }
        return (long) value;
    }

    private static double number(JsonObject s, String name, Path checkpoints) throws IOException {
        JsonElement e = s.get(name);
        if (e == null || !e.isJsonPrimitive() || e.getAsJsonPrimitive().isBoolean()) {
            throw corrupt(checkpoints, "'" + name + "' is " + (e == null ? "missing" : e + ", not a number"));
        }
        try {
            return e.getAsDouble(); // also reads the lenient -Infinity of older checkpoints, held as a string
        } catch (NumberFormatException notANumber) {
            throw corrupt(checkpoints, "'" + name + "' is " + e + ", not a number");
        }
    }

    private static IOException corrupt(Path checkpoints, String what) {
        return new IOException("the latest checkpoint in " + checkpoints + " has a corrupt loop state: " + what
                + "; delete " + checkpoints + " to start the run over");
    }
}
