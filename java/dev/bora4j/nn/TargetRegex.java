package dev.bora4j.nn;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Matcher;

/**
 * A target_modules regex, PEFT's string form: the whole module name must match. Regexes come from
 * adapter files, so matching one must neither hang nor exhaust memory. RE2 (re2j) matches in time
 * linear in the name and program; the program is bounded by refusing regexes longer than
 * {@link #MAX_LENGTH}, nested deeper than {@link #MAX_DEPTH} groups, or larger than
 * {@link #MAX_SIZE} instructions once counted repetitions expand (RE2 compiles "(a{1000}){1000}"
 * into a million). RE2 has no lookarounds or backreferences; a backtracking engine that has them
 * can be made to run for hours by a regex that reads no character at all, so they are refused.
 */
final class TargetRegex {

    static final int MAX_LENGTH = 4096;
    static final int MAX_DEPTH = 64;
    /** Bound on length x the copies counted repetitions make: instructions of the compiled regex. */
    static final long MAX_SIZE = 20_000;

    // RE2's counted repetition: {n}, {n,} or {n,m}; other braces are literal text
    private static final java.util.regex.Pattern COUNTED =
            java.util.regex.Pattern.compile("\\{(\\d{1,9})(,(\\d{0,9}))?}");

    private final com.google.re2j.Pattern pattern;

    private TargetRegex(com.google.re2j.Pattern pattern) {
        this.pattern = pattern;
    }

    /** @throws IllegalArgumentException if the regex is invalid for RE2 or too large to match safely */
    static TargetRegex compile(String regex) {
        if (regex.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("target regex is " + regex.length() + " characters long; at most "
                    + MAX_LENGTH + " are accepted");
        }
        long size = regex.length() * copies(regex);
        if (size > MAX_SIZE) {
            throw new IllegalArgumentException("target regex is too large once its counted repetitions {n} are"
                    + " expanded (about " + size + " instructions; at most " + MAX_SIZE + "): simplify it");
        }
        try {
            return new TargetRegex(com.google.re2j.Pattern.compile(regex));
        } catch (com.google.re2j.PatternSyntaxException e) {
            throw new IllegalArgumentException("target regex is not a valid RE2 regular expression (lookarounds such"
                    + " as (?!...) and backreferences are not supported: list the module names instead): "
                    + e.getMessage(), e);
        }
    }

    String pattern() {
        return pattern.pattern();
    }

    boolean matches(String moduleName) {
        return pattern.matches(moduleName);
    }

    /**
     * The most copies counted repetitions make of any part of the regex: along each path of nested
     * groups the product of their counts ({n,} counts n + 1), the largest over the paths. Reads RE2's
     * syntax: escapes (also \Q...\E and \x{..}, \p{..}) and character classes are skipped.
     *
     * @throws IllegalArgumentException if groups nest deeper than {@link #MAX_DEPTH}
     */
    static long copies(String regex) {
        Deque<long[]> groups = new ArrayDeque<>(); // per open group: the most copies of an item inside
        groups.push(new long[] {1});
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\') {
                i = endOfEscape(regex, i);
            } else if (c == '[') {
                i = endOfClass(regex, i);
            } else if (c == '(') {
                groups.push(new long[] {1});
                if (groups.size() > MAX_DEPTH + 1) {
                    throw new IllegalArgumentException("target regex nests groups deeper than " + MAX_DEPTH);
                }
            } else if (c == ')' || c == '{') {
                long item = 1;
                if (c == ')' && groups.size() > 1) {
                    item = groups.pop()[0];
                }
                Matcher m = COUNTED.matcher(regex).region(c == ')' ? i + 1 : i, regex.length());
                if (m.lookingAt()) {
                    long low = Long.parseLong(m.group(1));
                    long high = m.group(2) == null ? low : m.group(3).isEmpty() ? low + 1 : Long.parseLong(m.group(3));
                    item = Math.min(item * Math.max(1, Math.min(high, 1L << 20)), 1L << 40);
                    i = m.end() - 1;
                }
                long[] parent = groups.peek();
                parent[0] = Math.max(parent[0], item);
            }
        }
        long most = 1;
        while (!groups.isEmpty()) { // unclosed groups: RE2 refuses them, count them anyway
            most = Math.max(most, groups.pop()[0]);
        }
        return most;
    }

    /** Index of the last character of the escape starting at {@code i} (a backslash). */
    private static int endOfEscape(String regex, int i) {
        if (i + 1 >= regex.length()) {
            return i;
        }
        char kind = regex.charAt(i + 1);
        if (kind == 'Q') {
            int end = regex.indexOf("\\E", i + 2);
            return end < 0 ? regex.length() - 1 : end + 1;
        }
        if ((kind == 'x' || kind == 'p' || kind == 'P') && i + 2 < regex.length() && regex.charAt(i + 2) == '{') {
            int end = regex.indexOf('}', i + 3);
            return end < 0 ? regex.length() - 1 : end;
        }
        return i + 1;
    }

    /**
     * Index of the ']' closing the class that opens at {@code i}: RE2 takes a ']' right after
     * "[" or "[^" as a literal, "[:alpha:]" as a named class, and escapes as in the rest.
     */
    private static int endOfClass(String regex, int i) {
        int j = i + 1;
        if (j < regex.length() && regex.charAt(j) == '^') {
            j++;
        }
        if (j < regex.length() && regex.charAt(j) == ']') {
            j++;
        }
        for (; j < regex.length(); j++) {
            char c = regex.charAt(j);
            if (c == '\\') {
                j = endOfEscape(regex, j);
            } else if (c == '[' && regex.startsWith("[:", j)) {
                int end = regex.indexOf(":]", j + 2);
                j = end < 0 ? j : end + 1;
            } else if (c == ']') {
                return j;
            }
        }
        return regex.length() - 1; // unclosed: RE2 refuses it
    }
}
