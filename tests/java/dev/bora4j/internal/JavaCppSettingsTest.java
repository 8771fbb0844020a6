package dev.bora4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class JavaCppSettingsTest {

    @Test
    void setsZeroOnlyWhenTheUserDidNot() {
        Properties none = new Properties();
        JavaCppSettings.skipResidentMemoryCheck(none);
        assertEquals("0", none.getProperty(JavaCppSettings.MAX_PHYSICAL_BYTES));

        Properties user = new Properties();
        user.setProperty(JavaCppSettings.MAX_PHYSICAL_BYTES, "8g");
        JavaCppSettings.skipResidentMemoryCheck(user);
        assertEquals("8g", user.getProperty(JavaCppSettings.MAX_PHYSICAL_BYTES));

        Properties lower = new Properties();
        lower.setProperty("org.bytedeco.javacpp.maxphysicalbytes", "8g");
        JavaCppSettings.skipResidentMemoryCheck(lower);
        assertEquals(null, lower.getProperty(JavaCppSettings.MAX_PHYSICAL_BYTES));
    }

    @Test
    void turnsJavaCppsCheckOffInAFreshProcess() throws Exception {
        assertEquals("off=true maxPhysicalBytes=0", child());
    }

    @Test
    void leavesTheUsersChoice() throws Exception {
        assertEquals("off=false maxPhysicalBytes=" + (8L << 30), child("-D" + JavaCppSettings.MAX_PHYSICAL_BYTES + "=8g"));
    }

    /** Runs {@link JavaCppSettingsChild} in a new JVM and returns its one line of output. */
    private static String child(String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JavaCppSettingsChild.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor(), "child failed: " + out);
        return out;
    }
}
