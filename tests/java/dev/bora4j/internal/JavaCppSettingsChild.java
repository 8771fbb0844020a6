package dev.bora4j.internal;

import org.bytedeco.javacpp.Pointer;

/** Child process for {@link JavaCppSettingsTest}: applies the setting first thing, as a main must. */
public final class JavaCppSettingsChild {

    private JavaCppSettingsChild() {
    }

    public static void main(String[] args) {
        boolean off = JavaCppSettings.skipResidentMemoryCheck();
        System.out.println("off=" + off + " maxPhysicalBytes=" + Pointer.maxPhysicalBytes());
    }
}
