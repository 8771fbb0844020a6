package dev.bora4j.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** --method accepts every adapter mode of the library, and the KronA factor flags are checked. */
class TrainingConfigMethodsTest {

    @Test
    void everyMethodValidatesAndUnknownOnesAreNamed() {
        for (String m : new String[] {"bora", "lora", "melora", "hira", "krona"}) {
            TrainingConfig c = new TrainingConfig();
            c.method = m;
            assertDoesNotThrow(c::validate, m);
        }
        TrainingConfig bad = new TrainingConfig();
        bad.method = "dora";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::validate);
        assertTrue(e.getMessage().contains("hira") && e.getMessage().contains("krona"), e.getMessage());
        TrainingConfig kron = new TrainingConfig();
        kron.method = "krona";
        kron.kronA1 = -1;
        e = assertThrows(IllegalArgumentException.class, kron::validate);
        assertTrue(e.getMessage().contains("--kron-a1"), e.getMessage());
    }
}
