package dev.bora4j.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Assigns whole groups to train/dev/test by a seeded hash of the group id, so the split does
 * not depend on the order of the data, the JVM or the platform, and a group never straddles
 * two splits.
 */
public final class GroupSplitter {

    private final long seed;
    private final double trainFraction;
    private final double devFraction;

    public GroupSplitter(long seed, double trainFraction, double devFraction) {
        if (!(trainFraction > 0) || !(devFraction >= 0) || trainFraction + devFraction >= 1) {
            throw new IllegalArgumentException("need train > 0, dev >= 0 and train + dev < 1 (the rest is test), got "
                    + trainFraction + " / " + devFraction);
        }
        this.seed = seed;
        this.trainFraction = trainFraction;
        this.devFraction = devFraction;
    }

    /** 80 / 10 / 10. */
    public static GroupSplitter standard(long seed) {
        return new GroupSplitter(seed, 0.8, 0.1);
    }

    public Split assign(String groupId) {
        double u = uniform(seed + "/" + groupId);
        return u < trainFraction ? Split.TRAIN : u < trainFraction + devFraction ? Split.DEV : Split.TEST;
    }

    /** A value in [0, 1) from the first 53 bits of SHA-256. */
    static double uniform(String s) {
        byte[] h = sha256(s);
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits = (bits << 8) | (h[i] & 0xFF);
        }
        return (bits >>> 11) * 0x1.0p-53;
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
