package dev.bora4j.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a text file (a benchmark's own output) verbatim as a section of docs/RESULTS.md.
 * Usage: {@code TextSection <section> <title> <command> <file>}.
 */
public final class TextSection {

    private TextSection() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            throw new IllegalArgumentException("usage: TextSection <section> <title> <command> <file>");
        }
        String text = Files.readString(Path.of(args[3]), StandardCharsets.UTF_8);
        ResultsSection.write(args[0], args[1], args[2], "```\n" + text.strip() + "\n```\n");
    }
}
