package dev.bora4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loop state saved with each checkpoint: read back as written, refused with its reason when corrupt. */
class LoopStateTest {

    private static final Path CHECKPOINTS = Path.of("runs", "x", "checkpoints");

    /** Through the JSON text, as Checkpoints stores it, read by a strict parser: standard JSON only. */
    private static LoopState roundTrip(LoopState s, int epochs, int batches) throws IOException {
        JsonObject read = dev.bora4j.io.StrictJson.parseObject(s.toJson().toString(), Path.of("state.json"));
        return LoopState.fromJson(read, epochs, batches, CHECKPOINTS);
    }

    @Test
    void statesReadBackAsWritten() throws IOException {
        assertEquals(LoopState.START, roundTrip(LoopState.START, 2, 6), "before the first evaluation (null)");
        LoopState mid = new LoopState(1, 5, 3, 0.2193, 2);
        assertEquals(mid, roundTrip(mid, 2, 6));
        LoopState finished = new LoopState(2, 0, 0, -0.05, 0);
        assertEquals(finished, roundTrip(finished, 2, 6), "after the last epoch");
    }

    @Test
    void theBareMinusInfinityOfOlderCheckpointsStillReads() throws IOException {
        JsonObject s = JsonParser.parseString("{\"epoch\":0,\"batch\":3,\"skipped\":0,\"best_dev_mcc\":-Infinity,"
                + "\"evals_without_improvement\":0}").getAsJsonObject();
        assertEquals(new LoopState(0, 3, 0, Double.NEGATIVE_INFINITY, 0), LoopState.fromJson(s, 2, 6, CHECKPOINTS));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "epoch | 3 | 'epoch' is 3.0, expected an integer in [0, 2]",
            "epoch | -1 | 'epoch' is -1.0",
            "batch | 6 | 'batch' is 6.0, expected an integer in [0, 5]",
            "batch | 1.5 | 'batch' is 1.5",
            "batch | \"two\" | 'batch' is \"two\", not a number",
            "skipped | true | 'skipped' is true, not a number",
            "skipped | -4 | 'skipped' is -4.0",
            "best_dev_mcc | 1.5 | 'best_dev_mcc' is 1.5, an MCC lies in [-1, 1]",
            "best_dev_mcc | -5 | 'best_dev_mcc' is -5.0, an MCC lies in [-1, 1]",
            "best_dev_mcc | NaN | 'best_dev_mcc' is NaN",
            "evals_without_improvement | {} | 'evals_without_improvement' is {}, not a number",
            "evals_without_improvement | 3e10 | 'evals_without_improvement' is 3.0E10"})
    void corruptFieldsAreRefusedWithTheirReason(String field, String json, String expected) {
        JsonObject s = new LoopState(1, 2, 0, 0.1, 1).toJson();
        s.add(field, JsonParser.parseString(json));
        IOException e = assertThrows(IOException.class, () -> LoopState.fromJson(s, 2, 6, CHECKPOINTS));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains("delete " + CHECKPOINTS), e.getMessage());
    }

    @Test
    void aMissingFieldIsNamed() {
        JsonObject s = new LoopState(1, 2, 0, 0.1, 1).toJson();
        s.remove("skipped");
        IOException e = assertThrows(IOException.class, () -> LoopState.fromJson(s, 2, 6, CHECKPOINTS));
        assertTrue(e.getMessage().contains("'skipped' is missing"), e.getMessage());
    }
}
