package dev.bora4j.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RealTaskTableTest {

    @Test
    void labelsOnlyFlagsThatShrinkTheTaskAsReduced() {
        assertFalse(RealTaskTable.shrinksTheTask(""));
        assertFalse(RealTaskTable.shrinksTheTask("--group-by-length"));
        assertFalse(RealTaskTable.shrinksTheTask("--max-train 0"));          // all sentences: more, not fewer
        assertFalse(RealTaskTable.shrinksTheTask("--max-train 0 --epochs 2"));
        assertFalse(RealTaskTable.shrinksTheTask("--max-train 25601 --max-steps 0"));
        assertTrue(RealTaskTable.shrinksTheTask("--max-train 2000 --epochs 1"));
        assertTrue(RealTaskTable.shrinksTheTask("--max-steps 50"));
        assertTrue(RealTaskTable.shrinksTheTask("--lr 1e-3 --max-eval 320"));
        assertTrue(RealTaskTable.shrinksTheTask("--max-train many"));
    }

    @Test
    void listsEachRunsStepsWhenTheyDiffer() {
        JsonObject full = JsonParser.parseString("{\"steps\": 801}").getAsJsonObject();
        JsonObject stopped = JsonParser.parseString("{\"steps\": 400}").getAsJsonObject();
        assertEquals("801", RealTaskTable.steps(List.of(full, full)));
        assertEquals("801, 801, 400", RealTaskTable.steps(List.of(full, full, stopped)));
    }

    @Test
    void namesRunsMadeOnPaddedBatches() {
        JsonObject before = JsonParser.parseString("{\"seed\": 1}").getAsJsonObject(); // before the flag existed
        JsonObject padded = JsonParser.parseString("{\"padded_batches\": true}").getAsJsonObject();
        JsonObject packed = JsonParser.parseString("{\"padded_batches\": false}").getAsJsonObject();
        assertEquals("", RealTaskTable.layoutNote(List.of(packed, packed)));
        assertTrue(RealTaskTable.layoutNote(List.of(before, padded)).startsWith("All runs ran every layer on the padded"));
        assertTrue(RealTaskTable.layoutNote(List.of(before, packed)).startsWith("**Mixed layouts**: 1 of 2 runs"));
    }
}
