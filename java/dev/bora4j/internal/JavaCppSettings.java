package dev.bora4j.internal;

import java.util.Properties;
import org.bytedeco.javacpp.Pointer;

/**
 * JavaCPP settings for programs that free their tensors deterministically (a {@code PointerScope}
 * per step, as bora4j's training loop does).
 *
 * <p>By default JavaCPP reads the process's resident memory from {@code /proc/self/statm} every
 * time it registers a native object for cleanup, i.e. for every tensor handle Java receives, so it
 * can force a garbage collection when native memory runs high. A training step creates thousands
 * of handles; the read is a system call each time and made one adapter layer's forward + backward
 * through the autograd bridge about 45% slower (bench/README.md). Programs that close their
 * tensors gain nothing from the check.
 */
public final class JavaCppSettings {

    /** JavaCPP's property (read once, when {@link Pointer} is initialised); 0 turns the check off. */
    public static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";

    private JavaCppSettings() {
    }

    /**
     * Turns JavaCPP's resident-memory check off unless the user set {@value #MAX_PHYSICAL_BYTES}
     * (in either of the spellings JavaCPP reads). Takes effect only when called before the first
     * use of any JavaCPP class, i.e. first thing in {@code main}; returns whether the check is off.
     */
    public static boolean skipResidentMemoryCheck() {
        skipResidentMemoryCheck(System.getProperties());
        return Pointer.maxPhysicalBytes() == 0;
    }

    /** The decision alone: sets the property to 0 in {@code props} unless it is set already. */
    static void skipResidentMemoryCheck(Properties props) {
        if (props.getProperty(MAX_PHYSICAL_BYTES) == null
                && props.getProperty(MAX_PHYSICAL_BYTES.toLowerCase(java.util.Locale.ROOT)) == null) {
            props.setProperty(MAX_PHYSICAL_BYTES, "0");
        }
    }
}
