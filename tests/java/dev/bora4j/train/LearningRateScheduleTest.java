package dev.bora4j.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LearningRateScheduleTest {

    @Test
    void warmupRisesLinearlyToOne() {
        LearningRateSchedule s = new LearningRateSchedule(LearningRateSchedule.Decay.COSINE, 4, 20, 0.0);
        assertEquals(0.25, s.factor(0), 1e-12);
        assertEquals(0.5, s.factor(1), 1e-12);
        assertEquals(1.0, s.factor(3), 1e-12);
        assertEquals(1.0, s.factor(4), 1e-12);
    }

    @Test
    void cosineReachesMinimumAtTheEnd() {
        LearningRateSchedule s = new LearningRateSchedule(LearningRateSchedule.Decay.COSINE, 0, 10, 0.1);
        assertEquals(1.0, s.factor(0), 1e-12);
        assertEquals(0.55, s.factor(5), 1e-12);
        assertEquals(0.1, s.factor(10), 1e-12);
        assertEquals(0.1, s.factor(50), 1e-12);
        for (int i = 1; i <= 10; i++) {
            assertTrue(s.factor(i) <= s.factor(i - 1), "cosine decay must not increase");
        }
    }

    @Test
    void linearAndConstant() {
        LearningRateSchedule lin = new LearningRateSchedule(LearningRateSchedule.Decay.LINEAR, 2, 12, 0.0);
        assertEquals(1.0, lin.factor(2), 1e-12);
        assertEquals(0.5, lin.factor(7), 1e-12);
        assertEquals(0.0, lin.factor(12), 1e-12);
        LearningRateSchedule c = new LearningRateSchedule(LearningRateSchedule.Decay.CONSTANT, 0, 5, 0.0);
        assertEquals(1.0, c.factor(4), 0.0);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(LearningRateSchedule.Decay.LINEAR, 0, 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(LearningRateSchedule.Decay.LINEAR, 11, 10, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(LearningRateSchedule.Decay.LINEAR, 0, 10, 1.5));
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(LearningRateSchedule.Decay.LINEAR, 0, 10, 0).factor(-1));
    }
}
