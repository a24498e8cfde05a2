package dev.adjoint.examples;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Entry point of {@code ./adjoint}: subcommands through picocli, with clear errors for bad arguments. */
@Command(
    name = "adjoint",
    mixinStandardHelpOptions = true,
    version = "adjoint 0.1.0",
    description = "Automatic differentiation for Java with a native engine.",
    subcommands = {Main.Info.class, Main.TutorialCommand.class, TrainCommand.class, PinnCommand.class, ForceFieldCommand.class, NewtonCommand.class, LaunchCommand.class, AllReduceBench.class, Main.SoakCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
  public static void main(String[] args) {
    // ADJOINT_THREADS=n: engine and OpenBLAS threads of this process (launch sets cores / nproc per rank).
    String threads = System.getenv("ADJOINT_THREADS");
    if (threads != null) {
      int n = Integer.parseInt(threads.trim());
      Adjoint.setThreads(n);
      Adjoint.setBlasThreads(n);
    }
    CommandLine cli = new CommandLine(new Main());
    // launch passes everything after its first positional argument to the launched command, options too.
    cli.getSubcommands().get("launch").setStopAtPositional(true);
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof AdjointException) {
        cmd.getErr().println("adjoint " + cmd.getCommandName() + ": " + e.getMessage());
        return 1;
      }
      throw e;
    });
    // Without a subcommand: the tutorial, as before.
    int rc = cli.execute(args.length == 0 ? new String[] {"tutorial"} : args);
    System.exit(rc);
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  @Command(name = "info", description = "Engine version, OpenBLAS config and core, threads, CUDA backend and devices.")
  static final class Info implements Callable<Integer> {
    @Override
    public Integer call() {
      System.out.println(Adjoint.info());
      return 0;
    }
  }

  @Command(name = "tutorial", description = "Every example of the MindSpore automatic-derivation tutorial, with its values.")
  static final class TutorialCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      Tutorial.main(new String[0]);
      return 0;
    }
  }

  @Command(name = "soak", description = "Long first- and second-order gradient runs printing RSS (tests/soak.sh).")
  static final class SoakCommand implements Callable<Integer> {
    @Parameters(index = "0", defaultValue = "1000000", description = "first-order calls (default ${DEFAULT-VALUE})")
    long first;

    @Parameters(index = "1", defaultValue = "200000", description = "second-order calls (default ${DEFAULT-VALUE})")
    long second;

    @Override
    public Integer call() throws Exception {
      Soak.main(new String[] {"soak", Long.toString(first), Long.toString(second)});
      return 0;
    }
  }
}
