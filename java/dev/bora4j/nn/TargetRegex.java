package dev.bora4j.nn;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Matcher;

/**
 * A target_modules regex, PEFT's string form: the whole module name must match. Regexes come from
 * adapter files, so matching one must neither hang nor exhaust memory. RE2 (re2j) matches in time
 * linear in the name; the lookarounds and backreferences it lacks (PEFT configs for vision-language
 * models use "^(?!.*vision_tower).*q_proj") fall back to java.util.regex, which may read at most
 * {@link #MAX_READS} characters per name. Both engines only get regexes of bounded length, group
 * nesting and size once counted repetitions are expanded (RE2 compiles "(a{1000}){1000}" into a
 * million instructions; a zero-width loop repeated by counts reads nothing, so no read budget
 * would stop it).
 */
final class TargetRegex {

    static final int MAX_LENGTH = 4096;
    static final int MAX_DEPTH = 64;
    /** Bound on length x the copies counted repetitions make: instructions of the compiled regex. */
    static final long MAX_SIZE = 20_000;
    static final long MAX_READS = 20_000_000;

    private static final java.util.regex.Pattern COUNTED =
            java.util.regex.Pattern.compile("\\{(\\d{1,9})(,(\\d{0,9}))?}");

    private final String source;
    private final com.google.re2j.Pattern linear;        // null: RE2 lacks a construct it uses
    private final java.util.regex.Pattern backtracking;  // used then

    private TargetRegex(String source, com.google.re2j.Pattern linear, java.util.regex.Pattern backtracking) {
        this.source = source;
        this.linear = linear;
        this.backtracking = backtracking;
    }

    /** @throws IllegalArgumentException if the regex is invalid or too large to match safely */
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
            return new TargetRegex(regex, com.google.re2j.Pattern.compile(regex), null);
        } catch (com.google.re2j.PatternSyntaxException notRe2) {
            try {
                return new TargetRegex(regex, null, java.util.regex.Pattern.compile(regex));
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new IllegalArgumentException("target regex is not a valid regular expression: "
                        + e.getMessage(), e);
            }
        }
    }

    String pattern() {
        return source;
    }

    boolean matches(String moduleName) {
        if (linear != null) {
            return linear.matches(moduleName);
        }
        return backtracking.matcher(new BoundedText(moduleName)).matches();
    }

    /**
     * The most copies counted repetitions make of any part of the regex: along each path of nested
     * groups the product of their counts ({n,} counts n + 1), the largest over the paths. Escapes
     * (also \Q...\E and \x{..}, \p{..}) are skipped; character classes are not parsed, so a brace
     * or parenthesis in one is counted as if outside: it can only over-estimate.
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
        while (!groups.isEmpty()) { // unclosed groups: the engine refuses them, count them anyway
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
        if ((kind == 'x' || kind == 'p' || kind == 'P' || kind == 'N') && i + 2 < regex.length()
                && regex.charAt(i + 2) == '{') {
            int end = regex.indexOf('}', i + 3);
            return end < 0 ? regex.length() - 1 : end;
        }
        return i + 1;
    }

    /** A module name java.util.regex may read at most {@link #MAX_READS} characters of. */
    private final class BoundedText implements CharSequence {
        private final String text;
        private long reads;

        BoundedText(String text) {
            this.text = text;
        }

        @Override
        public char charAt(int index) {
            if (++reads > MAX_READS) {
                throw new IllegalArgumentException("target regex \"" + source + "\" backtracks without end on"
                        + " module '" + text + "'; write it without nested repetition such as (.*)*");
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.subSequence(start, end);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
