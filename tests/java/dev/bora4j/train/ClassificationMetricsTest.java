package dev.bora4j.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ClassificationMetricsTest {

    private static ClassificationMetrics of(int tp, int tn, int fp, int fn) {
        ClassificationMetrics m = new ClassificationMetrics();
        for (int i = 0; i < tp; i++) m.add(1, 1);
        for (int i = 0; i < tn; i++) m.add(0, 0);
        for (int i = 0; i < fp; i++) m.add(0, 1);
        for (int i = 0; i < fn; i++) m.add(1, 0);
        return m;
    }

    @Test
    void mccMatchesTheFormula() {
        // tp=6 tn=3 fp=1 fn=2: (18-2)/sqrt(7*8*4*5) = 16/sqrt(1120)
        ClassificationMetrics m = of(6, 3, 1, 2);
        assertEquals(16 / Math.sqrt(1120), m.mcc(), 1e-12);
        assertEquals(9 / 12.0, m.accuracy(), 1e-12);
    }

    @Test
    void perfectInverseAndConstantPredictions() {
        assertEquals(1.0, of(5, 5, 0, 0).mcc(), 1e-12);
        assertEquals(-1.0, of(0, 0, 5, 5).mcc(), 1e-12);
        // always predicting 1: MCC undefined -> 0, accuracy = the majority share
        ClassificationMetrics constant = of(7, 0, 3, 0);
        assertEquals(0.0, constant.mcc(), 0.0);
        assertEquals(0.7, constant.accuracy(), 1e-12);
    }

    @Test
    void rejectsLabelsOutsideZeroOne() {
        assertThrows(IllegalArgumentException.class, () -> new ClassificationMetrics().add(2, 0));
    }
}
