package dev.adjoint.examples;

import dev.adjoint.AdjointException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./adjoint launch --nproc N <command> [args]}: starts N JVMs of {@code ./adjoint <command> [args]} on
 * this machine, as {@code torchrun --nproc-per-node N} does, each with ADJOINT_RANK, ADJOINT_WORLD_SIZE,
 * ADJOINT_MASTER_ADDR/PORT, a fresh ADJOINT_RENDEZVOUS_DIR and ADJOINT_RUN_ID, ADJOINT_TIMEOUT_MS and
 * ADJOINT_THREADS (cores / N, unless set) set;
 * forwards their output line by line with a {@code [rank r]} prefix and fails (with the first non-zero exit
 * code) when any rank fails. After a failure the other ranks get twice the timeout to fail on their own
 * (the collectives name the lost rank), then they are killed.
 */
@Command(name = "launch", mixinStandardHelpOptions = true,
    description = "Start N processes of an adjoint command on this machine for data-parallel training (e.g. launch --nproc 2 train).")
final class LaunchCommand implements Callable<Integer> {
  @Option(names = "--nproc", required = true, description = "number of processes (ranks)")
  int nproc;

  @Option(names = "--master-port", defaultValue = "29500", description = "ADJOINT_MASTER_PORT (default ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--timeout-ms", defaultValue = "30000", description = "ADJOINT_TIMEOUT_MS: rendezvous and collective timeout (default ${DEFAULT-VALUE})")
  long timeoutMs;

  @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "the adjoint command and its arguments, e.g. train --steps 200")
  List<String> job;

  @Override
  public Integer call() throws Exception {
    if (nproc < 1) throw new AdjointException("launch: --nproc must be >= 1, got " + nproc);
    if (job.get(0).equals("launch")) throw new AdjointException("launch: cannot launch launch");
    Path rdzv = Files.createTempDirectory("adjoint-rendezvous-");
    String runId = UUID.randomUUID().toString();
    List<Process> procs = new ArrayList<>();
    List<Thread> pumps = new ArrayList<>();
    try {
      for (int r = 0; r < nproc; r++) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(job);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("ADJOINT_RANK", Integer.toString(r));
        env.put("ADJOINT_WORLD_SIZE", Integer.toString(nproc));
        env.put("ADJOINT_MASTER_ADDR", "127.0.0.1");
        env.put("ADJOINT_MASTER_PORT", Integer.toString(port));
        env.put("ADJOINT_RENDEZVOUS_DIR", rdzv.toString());
        env.put("ADJOINT_RUN_ID", runId);
        env.put("ADJOINT_TIMEOUT_MS", Long.toString(timeoutMs));
        // N ranks share this machine's cores: each gets cores / N threads unless the user chose.
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / nproc);
        env.putIfAbsent("ADJOINT_THREADS", Integer.toString(threads));
        env.putIfAbsent("OPENBLAS_NUM_THREADS", env.get("ADJOINT_THREADS"));
        Process p = pb.start();
        procs.add(p);
        pumps.add(pump(p.getInputStream(), "[rank " + r + "] ", System.out));
        pumps.add(pump(p.getErrorStream(), "[rank " + r + "] ", System.err));
      }
      int first = 0, firstRank = -1;
      long graceUntil = Long.MAX_VALUE;
      boolean[] done = new boolean[nproc];
      int left = nproc;
      while (left > 0) {
        for (int r = 0; r < nproc; r++) {
          if (done[r] || procs.get(r).isAlive()) continue;
          done[r] = true;
          left--;
          int rc = procs.get(r).exitValue();
          if (rc != 0 && first == 0) {
            first = rc;
            firstRank = r;
            graceUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * timeoutMs + 5000);
          }
        }
        if (left > 0 && System.nanoTime() > graceUntil) {
          System.err.println("launch: rank " + firstRank + " failed; killing the ranks still running");
          for (Process p : procs) p.destroyForcibly();
          graceUntil = Long.MAX_VALUE;
        }
        Thread.sleep(50);
      }
      for (Thread t : pumps) t.join(2000);
      for (int r = 0; r < nproc; r++) {
        int rc = procs.get(r).exitValue();
        if (rc != 0) System.err.println("launch: rank " + r + " exited with code " + rc);
      }
      return first;
    } finally {
      for (Process p : procs) p.destroyForcibly();
      try (Stream<Path> s = Files.walk(rdzv)) {
        s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException ignored) {
        // a leftover temporary directory is harmless
      }
    }
  }

  private static Thread pump(InputStream in, String prefix, PrintStream to) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null;)
          synchronized (to) {
            to.println(prefix + line);
          }
      } catch (IOException ignored) {
        // the process is gone
      }
    }, "launch-output");
    t.setDaemon(true);
    t.start();
    return t;
  }
}
