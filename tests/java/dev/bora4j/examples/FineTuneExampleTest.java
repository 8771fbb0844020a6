package dev.bora4j.examples;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The README's end-to-end example fine-tunes, merges exactly and reaches a rank above r. */
class FineTuneExampleTest {

    @Test
    void fineTunesMergesAndReportsWhatItMeasured() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        FineTuneExample.Result r = FineTuneExample.run(150, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(r.lastLoss() * 2 < r.firstLoss(), "loss fell only from " + r.firstLoss() + " to " + r.lastLoss());
        assertTrue(r.mergedMaxDifference() < 1e-4, "merged model differs by " + r.mergedMaxDifference());
        assertTrue(r.fc1UpdateRank() > 4, "fc1's update has rank " + r.fc1UpdateRank() + ", no more than r = 4");
        assertTrue(out.contains(String.format("rank of fc1's update: %d", r.fc1UpdateRank())), out);
        assertTrue(out.contains("step  149"), "prints the last step:\n" + out);
    }

    @Test
    void aStepCountBelowOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> FineTuneExample.run(0, System.out));
    }
}
