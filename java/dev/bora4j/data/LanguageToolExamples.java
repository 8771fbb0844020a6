package dev.bora4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import javax.xml.XMLConstants;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;
import org.xml.sax.Attributes;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Reads the example sentences of LanguageTool's English rule files ({@code org.languagetool:
 * language-en}, used as a data artifact on the classpath).
 */
public final class LanguageToolExamples {

    /**
     * The English rule files with examples: the main grammar and style rules, the rules for
     * German and French native speakers, and the regional variants.
     */
    public static final List<String> ENGLISH_RULE_FILES = List.of(
            "en/grammar.xml", "en/style.xml", "en/grammar-l2-de.xml", "en/grammar-l2-fr.xml",
            "en/en-AU/grammar.xml", "en/en-CA/grammar.xml", "en/en-GB/grammar.xml", "en/en-GB/style.xml",
            "en/en-NZ/grammar.xml", "en/en-US/grammar.xml", "en/en-US/style.xml");

    private static final String RESOURCE_ROOT = "/org/languagetool/rules/";

    private LanguageToolExamples() {
    }

    /** All examples of {@link #ENGLISH_RULE_FILES}, in file order. */
    public static List<RuleExample> readEnglish() {
        List<RuleExample> all = new ArrayList<>();
        for (String file : ENGLISH_RULE_FILES) {
            String resource = RESOURCE_ROOT + file;
            try (InputStream in = LanguageToolExamples.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("classpath resource " + resource + " not found: add "
                            + "org.languagetool:language-en:6.6 to the classpath");
                }
                all.addAll(parse(in, file));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + resource, e);
            }
        }
        return all;
    }

    /** Parses one rule file. */
    public static List<RuleExample> parse(InputStream in, String source) throws IOException {
        ExampleHandler handler = new ExampleHandler(source);
        try {
            newParser().parse(new InputSource(in), handler);
        } catch (SAXException e) {
            throw new IllegalArgumentException("malformed LanguageTool rule file " + source + ": " + e.getMessage(), e);
        }
        return handler.examples;
    }

    /**
     * The rule files declare their regex entities in an internal DTD subset, so DOCTYPE must be
     * allowed; everything external is off and secure processing caps entity expansion.
     */
    private static SAXParser newParser() {
        try {
            SAXParserFactory factory = SAXParserFactory.newInstance();
            factory.setNamespaceAware(false);
            factory.setValidating(false);
            factory.setXIncludeAware(false);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
            factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            SAXParser parser = factory.newSAXParser();
            parser.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            parser.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
            return parser;
        } catch (ParserConfigurationException | SAXException e) {
            throw new IllegalStateException("the JDK XML parser does not support secure configuration", e);
        }
    }

    private static final class ExampleHandler extends DefaultHandler {
        private final String source;
        private final List<RuleExample> examples = new ArrayList<>();
        /** Ids of the enclosing rulegroup/rule elements; null for a rule without an id. */
        private final Deque<String> ruleIds = new ArrayDeque<>();
        private List<String> segments;
        private StringBuilder current;
        private String correction;
        private boolean inMarker;
        private int anonymousRules;

        ExampleHandler(String source) {
            this.source = source;
        }

        @Override
        public void startElement(String uri, String localName, String qName, Attributes attributes) throws SAXException {
            switch (qName) {
                case "rulegroup", "rule" -> {
                    String id = attributes.getValue("id");
                    ruleIds.push(id != null ? id : ruleIds.isEmpty() ? source + "#rule" + (++anonymousRules) : ruleIds.peek());
                }
                case "example" -> {
                    if (segments != null) {
                        throw new SAXException("nested <example> in " + source);
                    }
                    segments = new ArrayList<>();
                    current = new StringBuilder();
                    correction = attributes.getValue("correction");
                    inMarker = false;
                }
                case "marker" -> {
                    if (segments == null) {
                        return; // markers also appear in patterns; only example markers matter
                    }
                    if (inMarker) {
                        throw new SAXException("nested <marker> in an example of " + source);
                    }
                    segments.add(current.toString());
                    current = new StringBuilder();
                    inMarker = true;
                }
                default -> {
                    // other elements inside an example carry no text of their own
                }
            }
        }

        @Override
        public void endElement(String uri, String localName, String qName) {
            switch (qName) {
                case "rulegroup", "rule" -> ruleIds.pop();
                case "marker" -> {
                    if (segments != null) {
                        segments.add(current.toString());
                        current = new StringBuilder();
                        inMarker = false;
                    }
                }
                case "example" -> {
                    segments.add(current.toString());
                    String ruleId = ruleIds.isEmpty() ? source : rootRuleId();
                    examples.add(new RuleExample(source, ruleId, segments, correction));
                    segments = null;
                    current = null;
                }
                default -> {
                }
            }
        }

        /** The outermost id: a rulegroup's id covers all of its rules. */
        private String rootRuleId() {
            return ruleIds.peekLast();
        }

        @Override
        public void characters(char[] ch, int start, int length) {
            if (segments != null) {
                current.append(ch, start, length);
            }
        }
    }
}
