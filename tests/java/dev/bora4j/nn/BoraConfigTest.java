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
        assertMessage(() -> BoraConfig.builder().targetRegex("(unclosed"), "not a valid RE2 regular expression");
    }

    @Test
    void regexesMatchInLinearTimeSoNoConfigCanHangALoad() {
        // java.util.regex takes about a minute on this name; RE2 no time at all
        BoraConfig c = BoraConfig.builder().targetRegex("(.*){12}z").build();
        long start = System.nanoTime();
        assertFalse(c.matches("encoder.layer.0.attention.self.query"));
        assertTrue(c.matches("encoder.layer.0.attention.self.z"));
        assertTrue((System.nanoTime() - start) / 1e9 < 5, "RE2 took seconds");
        assertTrue(BoraConfig.builder().targetRegex("layer\\.\\d{1,2}\\.[a-z]{1,10}\\.w{1,100}").build()
                .matches("layer.10.attention.w"), "counts side by side do not multiply");
    }

    @Test
    void lookaroundsAndBackreferencesAreRefusedWithWhatToDo() {
        // a backtracking engine spends hours on some of them without reading a character
        assertMessage(() -> BoraConfig.builder().targetRegex("^(?!.*vision_tower).*(q_proj|v_proj)"),
                "lookarounds such as (?!...) and backreferences are not supported: list the module names instead");
        assertMessage(() -> BoraConfig.builder().targetRegex("(query)\\1"), "not a valid RE2 regular expression");
    }

    @Test
    void regexesTooLargeToMatchSafelyAreRefused() {
        for (String regex : new String[] {
            "((a{1000}){1000}){1000}",                    // RE2 would build 10^9 instructions
            "(?:(?:(?=)){40000}){40000}x",                // zero-width: reads nothing, loops 1.6e9 times
            "\\Q[\\E((a{1000}){1000}){1000}",             // \Q...\E is no character class
            "(x{2,}){999}" + "y".repeat(20),
            "(?:[)]?(?:[)]?(?:[)]?a{400}){400}){400})"}) {    // a ")" in a class closes no group
            assertMessage(() -> BoraConfig.builder().targetRegex(regex), "too large once its counted repetitions");
        }
        assertMessage(() -> BoraConfig.builder().targetRegex("(".repeat(100) + "a" + ")".repeat(100)),
                "nests groups deeper than 64");
        assertMessage(() -> BoraConfig.builder().targetRegex("a".repeat(5000)), "at most 4096");
        assertMessage(() -> BoraConfig.builder().targetRegex("(query"), "not a valid RE2 regular expression");
        assertMessage(() -> BoraConfig.builder().targetRegex("([)]".repeat(100) + ")".repeat(100)),
                "nests groups deeper than 64");
    }

    private static void assertMessage(Runnable r, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
