package dev.bora4j;

import dev.bora4j.nn.BoraConfig.Backend;
import java.util.stream.Stream;

/** The backends a parameterised test runs on: both, since the build always makes the native library. */
public final class Backends {

    private Backends() {
    }

    public static Stream<Backend> both() {
        return Stream.of(Backend.REFERENCE, Backend.NATIVE);
    }
}
