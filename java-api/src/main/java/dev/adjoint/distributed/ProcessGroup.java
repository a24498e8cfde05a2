package dev.adjoint.distributed;

import dev.adjoint.AdjointException;
import dev.adjoint.Communicator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The processes of one data-parallel job, found the way {@code torchrun} does it: every process is started
 * with its rank and the world size in the environment, plus where to meet.
 *
 * <table>
 * <caption>Environment</caption>
 * <tr><td>{@code ADJOINT_RANK}, {@code ADJOINT_WORLD_SIZE}</td><td>this process's rank in [0, n), and n (unset: a
 * single process)</td></tr>
 * <tr><td>{@code ADJOINT_MASTER_ADDR}, {@code ADJOINT_MASTER_PORT}</td><td>name the rendezvous (default 127.0.0.1 and
 * 29500): its default directory is {@code <tmp>/adjoint-rendezvous/<addr>_<port>}, and a loopback master address
 * makes every rank listen on 127.0.0.1</td></tr>
 * <tr><td>{@code ADJOINT_RENDEZVOUS_DIR}</td><td>the rendezvous directory (Gloo's file store; across machines a
 * shared file system; this Gloo release ships no TCP store)</td></tr>
 * <tr><td>{@code ADJOINT_RUN_ID}</td><td>keeps jobs sharing a directory apart (default {@code adjoint}); give each
 * job its own, or a fresh directory, since keys of an earlier job in the same place would be read</td></tr>
 * <tr><td>{@code ADJOINT_HOST}</td><td>the address this rank listens on for its peers (default: the hostname)</td></tr>
 * <tr><td>{@code ADJOINT_TIMEOUT_MS}</td><td>rendezvous and per-operation timeout (default 30000)</td></tr>
 * <tr><td>{@code ADJOINT_BACKEND}</td><td>{@code gloo} (default) or {@code nccl} (adjoint-cuda; not yet run on a GPU)</td></tr>
 * </table>
 *
 * <pre>{@code
 * try (ProcessGroup group = ProcessGroup.fromEnvironment()) {     // ./adjoint launch --nproc 2 ... sets it
 *   System.out.println("rank " + group.rank() + " of " + group.worldSize());
 * }
 * }</pre>
 */
public final class ProcessGroup implements AutoCloseable {
  private final Communicator comm;

  private ProcessGroup(Communicator comm) {
    this.comm = comm;
  }

  /** The group described by this process's environment (a single local process when ADJOINT_WORLD_SIZE is unset). */
  public static ProcessGroup fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  /** The group described by {@code env} (the variables of {@link ProcessGroup}); runs the rendezvous. */
  public static ProcessGroup fromEnvironment(Map<String, String> env) {
    String sizeText = env.get("ADJOINT_WORLD_SIZE");
    if (sizeText == null) return local();
    int size = integer(env, "ADJOINT_WORLD_SIZE", null);
    int rank = integer(env, "ADJOINT_RANK", null);
    if (size < 1) throw new AdjointException("ADJOINT_WORLD_SIZE must be >= 1, got " + size);
    if (rank < 0 || rank >= size) throw new AdjointException("ADJOINT_RANK=" + rank + " is outside [0, " + size + ")");
    if (size == 1) return local();
    String addr = env.getOrDefault("ADJOINT_MASTER_ADDR", "127.0.0.1");
    int port = integer(env, "ADJOINT_MASTER_PORT", "29500");
    if (port < 1 || port > 65535) throw new AdjointException("ADJOINT_MASTER_PORT must be in [1, 65535], got " + port);
    String dir = env.get("ADJOINT_RENDEZVOUS_DIR");
    Path store = dir != null ? Path.of(dir)
        : Path.of(System.getProperty("java.io.tmpdir"), "adjoint-rendezvous", addr.replaceAll("[^A-Za-z0-9.-]", "_") + "_" + port);
    boolean loopback = addr.equals("localhost") || addr.startsWith("127.") || addr.equals("::1");
    String host = env.getOrDefault("ADJOINT_HOST", loopback ? "127.0.0.1" : "");
    long timeout = integer(env, "ADJOINT_TIMEOUT_MS", "30000");
    if (timeout < 1) throw new AdjointException("ADJOINT_TIMEOUT_MS must be >= 1, got " + timeout);
    String backend = env.getOrDefault("ADJOINT_BACKEND", "gloo");
    if (!backend.equals("gloo") && !backend.equals("nccl"))
      throw new AdjointException("ADJOINT_BACKEND must be gloo or nccl, got '" + backend + "'");
    Communicator c = (backend.equals("nccl") ? Communicator.nccl() : Communicator.gloo()).rank(rank).worldSize(size).rendezvous(store)
        .runId(env.getOrDefault("ADJOINT_RUN_ID", "adjoint")).host(host).timeout(Duration.ofMillis(timeout)).open();
    return new ProcessGroup(c);
  }

  /** A group of one process (no backend needed). */
  public static ProcessGroup local() {
    return new ProcessGroup(Communicator.local());
  }

  /** A group over an already opened communicator (it is closed with the group). */
  public static ProcessGroup of(Communicator comm) {
    if (comm == null) throw new AdjointException("ProcessGroup: communicator is null");
    return new ProcessGroup(comm);
  }

  /** This process's rank. */
  public int rank() {
    return comm.rank();
  }

  /** The number of processes. */
  public int worldSize() {
    return comm.worldSize();
  }

  /** True on rank 0, the one that writes checkpoints and prints summaries. */
  public boolean isMaster() {
    return comm.rank() == 0;
  }

  /** The collective operations of this group. */
  public Communicator communicator() {
    return comm;
  }

  /** Leaves the group. */
  @Override
  public void close() {
    comm.close();
  }

  @Override
  public String toString() {
    return "ProcessGroup(rank " + rank() + " of " + worldSize() + ")";
  }

  private static int integer(Map<String, String> env, String name, String dflt) {
    String v = env.getOrDefault(name, dflt);
    if (v == null) throw new AdjointException(name + " is not set (ADJOINT_WORLD_SIZE is; set both, as ./adjoint launch does)");
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new AdjointException(name + " must be an integer, got '" + v + "'");
    }
  }
}
