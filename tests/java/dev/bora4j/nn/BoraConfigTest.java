package dev.bora4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BoraConfigTest {

    private static BoraConfig.Builder base() {
        return BoraConfig.builder().targetModules("query");
    }

    @Test
    void defaultsAndScaling() {
        BoraConfig c = base().rank(8).alpha(16).build();
        assertEquals(4, c.blocks());
        assertEquals(2.0, c.scaling(), 0);
        assertEquals(16 / Math.sqrt(8), base().rank(8).alpha(16).rsLora(true).build().scaling(), 1e-12);
        assertEquals(1, base().mode(BoraConfig.Mode.LORA).build().blocks());
    }

    @Test
    void matchesLikePeftTargetModules() {
        BoraConfig c = base().build();
        assertTrue(c.matches("query"));
        assertTrue(c.matches("encoder.layer.0.attention.self.query"));
        assertFalse(c.matches("encoder.layer.0.attention.self.query_proj"));
        BoraConfig r = BoraConfig.builder().targetRegex(".*layer\\.[01]\\..*(query|value)").build();
        assertTrue(r.matches("encoder.layer.1.attention.self.value"));
        assertFalse(r.matches("encoder.layer.2.attention.self.value"));
    }

    @Test
    void rejectsInvalidSettingsWithMessages() {
        assertMessage(() -> base().rank(0).build(), "rank r must be >= 1");
        assertMessage(() -> base().blocks(0).build(), "block count b must be >= 1");
        assertMessage(() -> base().alpha(-1).build(), "alpha must be a positive");
        assertMessage(() -> base().alpha(Double.NaN).build(), "alpha must be a positive");
        assertMessage(() -> base().dropout(1.0).build(), "dropout must be in [0, 1)");
        assertMessage(() -> base().mode(BoraConfig.Mode.LORA).blocks(4).build(), "LORA mode uses b = 1");
        assertMessage(() -> BoraConfig.builder().build(), "no target modules");
        assertMessage(() -> BoraConfig.builder().targetModules(" ").build(), "must be non-empty");
        assertMessage(() -> BoraConfig.builder().targetModules("fc1", null), "must be non-empty");
        assertMessage(() -> BoraConfig.builder().targetRegex("(unclosed"), "not a valid regular expression");
    }

    @Test
    void regexesMatchInLinearTimeSoNoConfigCanHangALoad() {
        // java.util.regex takes about a minute on this name; RE2 no time at all
        BoraConfig c = BoraConfig.builder().targetRegex("(.*){12}z").build();
        long start = System.nanoTime();
        assertFalse(c.matches("encoder.layer.0.attention.self.query"));
        assertTrue(c.matches("encoder.layer.0.attention.self.z"));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 5, "took " + seconds + " s");
        assertTrue(BoraConfig.builder().targetRegex(".*layer\\.(\\d+)\\.(query|value)").build()
                .matches("encoder.layer.10.query"));
        // lookarounds and backreferences (the ground of unbounded matching) are not RE2
        assertMessage(() -> BoraConfig.builder().targetRegex("(?=.*query).*"),
                "not a valid regular expression (RE2 syntax");
        assertMessage(() -> BoraConfig.builder().targetRegex("(query)\\1"), "not a valid regular expression");
        // nested counted repetitions multiply: RE2 would build 10^9 copies and run out of memory
        assertMessage(() -> BoraConfig.builder().targetRegex("((a{1000}){1000}){1000}"), "more than 1000 times");
        assertMessage(() -> BoraConfig.builder().targetRegex("(x{2,}){999}"), "more than 1000 times");
        assertTrue(BoraConfig.builder().targetRegex("layer\\.\\d{1,2}\\.[{]query}").build()
                .matches("layer.10.{query}"), "small counts and braces in a class or escaped are fine");
    }

    private static void assertMessage(Runnable r, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
