package dev.bora4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bora4j.examples.QuickStart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's Java example is QuickStart's code, and it runs and trains. */
class ReadmeExampleTest {

    @Test
    void readmeShowsTheCodeThisTestRuns() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        int start = readme.indexOf("```java\n");
        assertTrue(start >= 0, "README.md has no ```java block");
        int end = readme.indexOf("```", start + 8);
        List<String> shown = trimmed(readme.substring(start + 8, end));
        String source = Files.readString(Path.of("java/dev/bora4j/examples/QuickStart.java"));
        List<String> code = trimmed(source.substring(source.indexOf("// README-BEGIN") + 15,
                source.indexOf("// README-END")));
        assertEquals(code, shown, "README.md's example differs from QuickStart.java");
    }

    @Test
    void exampleTrains() {
        double[] loss = QuickStart.run();
        assertTrue(loss[1] * 5 < loss[0], "loss fell only from " + loss[0] + " to " + loss[1]);
    }

    private static List<String> trimmed(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                lines.add(line.strip());
            }
        }
        return lines;
    }
}
