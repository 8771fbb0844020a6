package dev.bora4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LanguageToolExamplesTest {

    private static List<RuleExample> parse(String xml) throws IOException {
        return LanguageToolExamples.parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)), "test.xml");
    }

    @Test
    void readsMarkersCorrectionsAndRuleIds() throws IOException {
        List<RuleExample> examples = parse("""
                <?xml version="1.0" encoding="UTF-8"?>
                <!DOCTYPE rules [ <!ENTITY word "went"> ]>
                <rules><category id="C">
                  <rulegroup id="GROUP"><rule>
                    <pattern><token>goed</token><marker><token>x</token></marker></pattern>
                    <example correction="&word;|gone">He <marker>goed</marker>
                       home.</example>
                    <example>He went home.</example>
                  </rule></rulegroup>
                  <rule id="SINGLE">
                    <example correction="">This is <marker>bad</marker>.</example>
                    <example type="triggers_error">This looks bad but is fine.</example>
                    <example correction="|kindly">Please would you <marker>please</marker> reply.</example>
                  </rule>
                </category></rules>
                """);
        assertEquals(5, examples.size());
        RuleExample first = examples.get(0);
        assertTrue(first.isWrong());
        assertEquals("GROUP", first.ruleId());
        assertEquals("He goed home.", first.text());
        assertEquals("He went home.", first.correctedText());
        assertFalse(examples.get(1).isWrong());
        assertTrue(examples.get(2).isWrong(), "an empty correction still marks the example wrong");
        assertNull(examples.get(2).correctedText(), "an empty correction gives no corrected sentence");
        assertEquals("SINGLE", examples.get(2).ruleId());
        assertFalse(examples.get(3).isWrong(), "triggers_error examples are correct sentences");
        assertEquals("Please would you reply.", examples.get(4).correctedText(), "empty first alternative deletes");
    }

    @Test
    void externalEntitiesAreNotResolved(@TempDir Path dir) throws IOException {
        Path secret = dir.resolve("secret.txt");
        Files.writeString(secret, "TOP-SECRET");
        String xml = "<?xml version=\"1.0\"?><!DOCTYPE rules [ <!ENTITY xxe SYSTEM \"" + secret.toUri() + "\"> ]>"
                + "<rules><rule id=\"R\"><example>Leak &xxe; here.</example></rule></rules>";
        List<RuleExample> examples;
        try {
            examples = parse(xml);
        } catch (IllegalArgumentException refused) {
            return; // refusing the document is as safe as skipping the entity
        }
        assertFalse(examples.get(0).text().contains("TOP-SECRET"), examples.get(0).text());
    }

    @Test
    void malformedXmlGivesAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("<rules><rule><example>open"));
        assertTrue(e.getMessage().contains("test.xml"), e.getMessage());
    }

    @Test
    void readsTheEnglishRuleFilesFromTheClasspath() {
        List<RuleExample> examples = LanguageToolExamples.readEnglish();
        long wrong = examples.stream().filter(RuleExample::isWrong).count();
        long usable = examples.stream().filter(e -> e.correctedText() != null).count();
        // counts of language-en 6.6 (commented-out examples are not examples)
        assertEquals(25_013, examples.size());
        assertEquals(10_072, wrong);
        assertEquals(9_640, usable);
        assertTrue(examples.stream().noneMatch(e -> e.text().contains("<") && e.text().contains("marker")));
    }
}
