package dev.bora4j.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * The command lines the README and docs/ show are ones bora4j accepts: every
 * {@code -Dexec.args="..."} parses, a finetune's flags pass the run's validation, and every
 * {@code -Dexec.mainClass} names a class with a main method. Nothing is run.
 */
class DocumentedCommandsTest {

    private static final Pattern EXEC_ARGS = Pattern.compile("-Dexec\\.args=\"([^\"]*)\"");
    private static final Pattern MAIN_CLASS = Pattern.compile("-Dexec\\.mainClass=([\\w.]+)");

    @Test
    void everyDocumentedCommandLineParsesAndItsFinetuneFlagsValidate() throws IOException {
        List<String> lines = documentedMatches(EXEC_ARGS);
        assertTrue(lines.size() >= 5, "expected the README's command lines, found " + lines);
        int finetunes = 0;
        for (String line : lines) {
            String[] args = line.strip().split("\\s+");
            CommandLine cli = Bora4jCommand.commandLine();
            ParseResult parsed = assertDoesNotThrow(() -> cli.parseArgs(args), line);
            assertTrue(parsed.hasSubcommand(), "no command in: " + line);
            ParseResult sub = parsed.subcommand();
            if (sub.commandSpec().userObject() instanceof FineTuneCommand f && !sub.isUsageHelpRequested()) {
                assertDoesNotThrow(() -> f.toConfig(), line);
                finetunes++;
            }
        }
        assertTrue(finetunes >= 2, "expected finetune command lines among " + lines);
    }

    @Test
    void badFlagsAreCaughtByTheSameChecks() {
        CommandLine cli = Bora4jCommand.commandLine();
        ParseResult parsed = cli.parseArgs("finetune", "--method", "bora", "--attention", "flash");
        FineTuneCommand f = (FineTuneCommand) parsed.subcommand().commandSpec().userObject();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, f::toConfig);
        assertTrue(e.getMessage().contains("'flash'"), e.getMessage());
        assertThrows(CommandLine.UnmatchedArgumentException.class,
                () -> Bora4jCommand.commandLine().parseArgs("finetune", "--no-such-flag"));
        assertThrows(CommandLine.ParameterException.class,
                () -> Bora4jCommand.commandLine().parseArgs("finetune", "--decay", "stepwise"));
    }

    @Test
    void enumFlagsTakeLowerCaseValuesLikeTheOtherFlags() {
        ParseResult parsed = Bora4jCommand.commandLine().parseArgs("finetune", "--decay", "linear");
        FineTuneCommand f = (FineTuneCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(dev.bora4j.train.LearningRateSchedule.Decay.LINEAR, f.toConfig().decay);
    }

    @Test
    void everyDocumentedMainClassHasAMainMethod() throws Exception {
        List<String> classes = documentedMatches(MAIN_CLASS);
        assertTrue(!classes.isEmpty(), "the README names the example's main class");
        for (String name : classes) {
            Method main = Class.forName(name).getMethod("main", String[].class);
            assertTrue(Modifier.isStatic(main.getModifiers()), name);
            assertEquals(void.class, main.getReturnType(), name);
        }
    }

    /** The first group of every match of {@code pattern} in README.md and docs/*.md. */
    private static List<String> documentedMatches(Pattern pattern) throws IOException {
        List<Path> files = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        List<String> found = new ArrayList<>();
        for (Path file : files) {
            Matcher m = pattern.matcher(Files.readString(file));
            while (m.find()) {
                found.add(m.group(1));
            }
        }
        return found;
    }
}
