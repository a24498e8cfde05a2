package dev.adjoint.tests.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adjoint.Communicator;
import dev.adjoint.DType;
import dev.adjoint.distributed.ProcessGroup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Data-parallel training and the collectives across real processes: 2 and 4 JVMs (Worker) over loopback,
 * through the Gloo backend. Skips, saying why, where this build has no Gloo backend (libgloo-dev missing
 * when adjoint-native was built); CI installs libgloo-dev, so there they run.
 */
class DistributedTest {
  static final AtomicInteger PORT = new AtomicInteger(31000 + (int) (ProcessHandle.current().pid() % 2000) * 10);

  @BeforeAll
  static void needsGloo() {
    assumeTrue(Communicator.glooAvailable(), "no Gloo backend: " + Communicator.glooUnavailableReason());
  }

  /** A started job: its processes and their output files. */
  record Job(List<Process> procs, List<Path> logs) {
    String log(int r) throws IOException {
      return Files.readString(logs.get(r), StandardCharsets.UTF_8);
    }

    String all() throws IOException {
      StringBuilder s = new StringBuilder();
      for (int r = 0; r < logs.size(); r++) s.append("---- rank ").append(r).append('\n').append(log(r));
      return s.toString();
    }

    /** Waits for every process (at most `seconds` in all) and returns the exit codes; kills the rest. */
    int[] await(long seconds) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      int[] rc = new int[procs.size()];
      for (int r = 0; r < procs.size(); r++) {
        Process p = procs.get(r);
        long left = Math.max(1, deadline - System.nanoTime());
        if (!p.waitFor(left, TimeUnit.NANOSECONDS)) {
          for (Process q : procs) q.descendants().forEach(ProcessHandle::destroyForcibly);
          for (Process q : procs) q.destroyForcibly();
          throw new AssertionError("rank " + r + " still runs after " + seconds + " s:\n" + all());
        }
        rc[r] = p.exitValue();
      }
      return rc;
    }
  }

  static Job start(Path dir, int n, long timeoutMs, Map<Integer, Integer> worldSizeOverride, String... args) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    int port = PORT.getAndIncrement();
    Path rdzv = dir.resolve("rendezvous");
    List<Process> procs = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      List<String> cmd = new ArrayList<>(List.of(java, "-Xss4m", "-cp", System.getProperty("java.class.path")));
      String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
      if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
      cmd.add(Worker.class.getName());
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd);
      Map<String, String> env = pb.environment();
      env.put("ADJOINT_RANK", Integer.toString(r));
      env.put("ADJOINT_WORLD_SIZE", Integer.toString(worldSizeOverride.getOrDefault(r, n)));
      env.put("ADJOINT_MASTER_ADDR", "127.0.0.1");
      env.put("ADJOINT_MASTER_PORT", Integer.toString(port));
      env.put("ADJOINT_RENDEZVOUS_DIR", rdzv.toString());
      env.put("ADJOINT_TIMEOUT_MS", Long.toString(timeoutMs));
      env.put("OPENBLAS_NUM_THREADS", "1");
      Path log = dir.resolve("rank" + r + ".log");
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      procs.add(pb.start());
      logs.add(log);
    }
    return new Job(procs, logs);
  }

  static Job start(Path dir, int n, String... args) throws IOException {
    return start(dir, n, 20000, Map.of(), args);
  }

  @ParameterizedTest
  @CsvSource({"2", "4"})
  void collectivesGiveTheValuesTheInputsDetermine(int n, @TempDir Path dir) throws Exception {
    Job job = start(dir, n, "collectives");
    int[] rc = job.await(240);
    for (int r = 0; r < n; r++) {
      assertEquals(0, rc[r], job.all());
      assertTrue(job.log(r).contains("collectives ok rank " + r + " of " + n), job.all());
    }
  }

  /** After K steps the parameters of every rank equal the single-process run on the full batch. */
  @ParameterizedTest
  @CsvSource({"2, sgd, f64", "2, adam, f64", "4, sgd, f64", "4, adam, f64", "2, sgd, f32", "2, adam, f32", "4, adam, f32"})
  void dataParallelEqualsTheFullBatchRun(int n, String opt, String dtype, @TempDir Path dir) throws Exception {
    int steps = 6;
    Job job = start(dir, n, "train", opt, dtype, Integer.toString(steps), dir.toString());
    int[] rc = job.await(300);
    for (int r = 0; r < n; r++) assertEquals(0, rc[r], job.all());
    assertTrue(Files.size(dir.resolve("checkpoint-by-rank0.safetensors")) > 0);
    for (int r = 1; r < n; r++) assertTrue(!Files.exists(dir.resolve("checkpoint-by-rank" + r + ".safetensors")), "rank " + r + " wrote a checkpoint");
    boolean f64 = dtype.equals("f64");
    List<double[]> single;
    try (ProcessGroup local = ProcessGroup.local()) {
      single = Worker.train(local, opt, f64 ? DType.FLOAT64 : DType.FLOAT32, steps, 8, false);
    }
    // float64: the sums run in another order (per rank, then across ranks), so the results agree to
    // rounding, 1e-12; float32: to float32 rounding of that reordering, a few ulps of the gradients carried
    // through 6 steps (Adam divides by sqrt(v), which keeps relative errors relative).
    double tol = f64 ? 1e-12 : (opt.equals("adam") ? 2e-5 : 2e-6);
    List<double[]> rank0 = Worker.read(dir.resolve("rank0.txt"));
    for (int r = 0; r < n; r++) {
      List<double[]> got = Worker.read(dir.resolve("rank" + r + ".txt"));
      assertEquals(single.size(), got.size());
      for (int k = 0; k < got.size(); k++) {
        assertTrue(Arrays.equals(rank0.get(k), got.get(k)), "rank " + r + " parameter " + k + " differs from rank 0's");
        double worst = 0;
        for (int i = 0; i < got.get(k).length; i++) worst = Math.max(worst, Math.abs(got.get(k)[i] - single.get(k)[i]));
        assertTrue(worst <= tol, "rank " + r + " parameter " + k + ": max |dp - single| = " + worst + " > " + tol);
      }
    }
    // The run trained: parameters moved from their initial values (a step that did nothing would pass above).
    List<double[]> initial;
    try (ProcessGroup local = ProcessGroup.local()) {
      initial = Worker.train(local, opt, f64 ? DType.FLOAT64 : DType.FLOAT32, 0, 8, false);
    }
    assertTrue(!Arrays.equals(initial.get(0), single.get(0)));
  }

  /** A rank killed mid-training: the others fail within the timeout, with an error naming rank 1. */
  @ParameterizedTest
  @CsvSource({"2, kill", "4, kill", "4, stop"})
  void aRankThatDiesOrHangsFailsTheOthersNamingIt(int n, String how, @TempDir Path dir) throws Exception {
    long timeoutMs = 4000;
    Job job = start(dir, n, timeoutMs, Map.of(), "forever");
    Process victim = job.procs().get(1);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    while (!job.log(1).contains("step 3") && System.nanoTime() < until && victim.isAlive()) Thread.sleep(100);
    assertTrue(job.log(1).contains("step 3"), job.all());
    long t0 = System.nanoTime();
    if (how.equals("kill")) victim.destroyForcibly();
    else new ProcessBuilder("kill", "-STOP", Long.toString(victim.pid())).inheritIO().start().waitFor();
    try {
      for (int r = 0; r < n; r++) {
        if (r == 1) continue;
        Process p = job.procs().get(r);
        // The timeout, plus the wait for the other ranks' failure reports (at most one more timeout).
        assertTrue(p.waitFor(2 * timeoutMs + 3000, TimeUnit.MILLISECONDS), "rank " + r + " still runs:\n" + job.all());
        double s = (System.nanoTime() - t0) / 1e9;
        assertNotEquals(0, p.exitValue(), job.all());
        String log = job.log(r);
        assertTrue(log.contains("rank 1") || log.contains("rank(s) 1"), "rank " + r + " (after " + s + " s) does not name rank 1:\n" + log);
        assertTrue(log.contains("AdjointException"), log);
      }
    } finally {
      victim.destroyForcibly();
    }
  }

  @Test
  void mismatchedWorldSizesAreAnErrorAtStartNamingTheRank(@TempDir Path dir) throws Exception {
    Job job = start(dir, 2, 5000, Map.of(1, 3), "collectives");
    int[] rc = job.await(120);
    assertNotEquals(0, rc[0]);
    assertNotEquals(0, rc[1]);
    assertTrue(job.log(0).contains("rank 1 was started with world size 3, rank 0 with 2"), job.all());
    assertTrue(job.log(1).contains("world size"), job.all());
  }

  @Test
  void mismatchedModelsAreAnErrorAtStartNamingTheRank(@TempDir Path dir) throws Exception {
    // Rank 1 builds hidden layers of 9 instead of 8: the fingerprint check of DataParallel refuses it.
    Job job = startMixed(dir);
    int[] rc = job.await(180);
    assertNotEquals(0, rc[0], job.all());
    assertNotEquals(0, rc[1], job.all());
    assertTrue(job.log(0).contains("rank 1 holds a different model than rank 0"), job.all());
    assertTrue(job.log(1).contains("rank 0 holds a different model than rank 1"), job.all());
  }

  private static Job startMixed(Path dir) throws IOException {
    // Two single-rank starts sharing one rendezvous: rank 0 with hidden 8, rank 1 with hidden 9.
    Job a = startRank(dir, 0, "8");
    Job b = startRank(dir, 1, "9");
    List<Process> procs = List.of(a.procs().get(0), b.procs().get(0));
    List<Path> logs = List.of(a.logs().get(0), b.logs().get(0));
    return new Job(procs, logs);
  }

  private static final int MIXED_PORT = PORT.getAndIncrement();

  private static Job startRank(Path dir, int rank, String hidden) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>(List.of(java, "-Xss4m", "-cp", System.getProperty("java.class.path")));
    String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
    if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
    cmd.addAll(List.of(Worker.class.getName(), "train", "sgd", "f64", "2", dir.toString(), hidden));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(Map.of("ADJOINT_RANK", "" + rank, "ADJOINT_WORLD_SIZE", "2", "ADJOINT_MASTER_PORT", "" + MIXED_PORT,
        "ADJOINT_RENDEZVOUS_DIR", dir.resolve("rendezvous").toString(), "ADJOINT_TIMEOUT_MS", "20000"));
    Path log = dir.resolve("rank" + rank + ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    return new Job(List.of(pb.start()), List.of(log));
  }
}
