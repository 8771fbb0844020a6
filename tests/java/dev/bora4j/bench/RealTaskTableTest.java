package dev.bora4j.bench;

import org.junit.jupiter.api.Test;

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
}
