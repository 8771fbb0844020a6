package dev.bora4j.cli;

import dev.bora4j.internal.JavaCppSettings;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bora4j}: the command line entry point. */
@Command(name = "bora4j", mixinStandardHelpOptions = true, versionProvider = Bora4jCommand.Version.class,
        description = "Fine-tune neural networks with BoRA (Block Diversified Low-Rank Adaptation) on libtorch.",
        subcommands = {FineTuneCommand.class, EvalCommand.class, MergeCommand.class,
                CommandLine.HelpCommand.class})
public final class Bora4jCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command, e.g. 'bora4j finetune'");
    }

    /** The parser of bora4j's command line; enum values such as {@code --decay linear} in any case. */
    static CommandLine commandLine() {
        return new CommandLine(new Bora4jCommand()).setCaseInsensitiveEnumValuesAllowed(true);
    }

    /** Runs the command line and returns the exit code (0 ok, 1 failure, 2 bad usage). */
    public static int execute(String... args) {
        CommandLine cli = commandLine();
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof IllegalArgumentException) {
                commandLine.getErr().println("error: " + e.getMessage());
                return 2;
            }
            if (e instanceof java.nio.file.FileSystemException fs) {
                // its message is often the bare path: say what happened to it
                commandLine.getErr().println("error: " + fileProblem(fs));
            } else if (e instanceof java.io.IOException || e instanceof IllegalStateException) {
                commandLine.getErr().println("error: " + e.getMessage());
            } else {
                e.printStackTrace(commandLine.getErr()); // a bug: keep the whole trace for the report
            }
            return 1;
        });
        return cli.execute(args);
    }

    /** "what went wrong: path (detail)" for a file-system failure. */
    static String fileProblem(java.nio.file.FileSystemException e) {
        String what = switch (e.getClass().getSimpleName()) {
            case "FileAlreadyExistsException" -> "a file is in the way (a folder was expected)";
            case "AccessDeniedException" -> "permission denied";
            case "NoSuchFileException" -> "no such file or folder";
            case "NotDirectoryException" -> "not a folder";
            case "DirectoryNotEmptyException" -> "folder not empty";
            default -> "cannot use";
        };
        String detail = e.getReason() == null ? "" : " (" + e.getReason() + ")";
        String other = e.getOtherFile() == null ? "" : " -> " + e.getOtherFile();
        return what + ": " + e.getFile() + other + detail;
    }

    public static void main(String[] args) {
        // before anything touches JavaCPP: the training loop closes its tensors every step
        JavaCppSettings.skipResidentMemoryCheck();
        System.exit(execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Package p = Bora4jCommand.class.getPackage();
            String v = p == null ? null : p.getImplementationVersion();
            return new String[] {"bora4j " + (v == null ? "(development build)" : v)};
        }
    }
}
