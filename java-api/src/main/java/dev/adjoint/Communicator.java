package dev.adjoint;

import dev.adjoint.internal.Collectives;
import dev.adjoint.internal.HostFunctions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A process group's collective operations (the engine's collective seam): all-reduce (sum or mean),
 * broadcast, all-gather and barrier over Float32/Float64 data, carried by Gloo over TCP between
 * processes and machines. Every rank must call the same operations in the same order with the same
 * sizes (as in {@code torch.distributed}); the methods are synchronized, so calls from several threads
 * of one process are serialised in the order they take the lock. Each operation gives up after the
 * timeout with an {@link AdjointException} naming the rank it lost (dead or hung), and the group is
 * unusable afterwards. The Gloo backend is a library of its own ({@code libadjoint_gloo.so}, built where
 * {@code libgloo-dev} is installed), opened on first use; without it only {@link #local()} is available.
 * The rendezvous is Gloo's file store in a directory every rank can reach (this Gloo release ships no TCP
 * store); {@code dev.adjoint.distributed.ProcessGroup} sets it up from torchrun-style environment variables.
 *
 * <pre>{@code
 * try (Communicator c = Communicator.gloo().rank(r).worldSize(2).rendezvous(Path.of("/shared/rdzv"))
 *         .timeout(Duration.ofSeconds(30)).open()) {
 *   double[] g = {1, 2, 3};
 *   c.allReduce(g, Communicator.Reduce.MEAN);     // the element-wise mean over the ranks, in place
 *   c.barrier();
 * }
 * }</pre>
 */
public final class Communicator implements AutoCloseable {
  /**
   * The reduction of {@link #allReduce}: the element-wise sum, or the sum divided by the world size.
   *
   * <pre>{@code
   * Tensor mean = comm.allReduce(grad, Communicator.Reduce.MEAN);   // the mean over the ranks
   * }</pre>
   */
  public enum Reduce {
    /** Element-wise sum over the ranks. */
    SUM,
    /** Element-wise sum divided by the world size (once, after the sum). */
    MEAN
  }

  private final int rank, size;
  private final Duration timeout;
  private final long group; // 0: the local group of one process, no backend
  private long tags;
  private boolean closed;

  private Communicator(int rank, int size, Duration timeout, long group) {
    this.rank = rank;
    this.size = size;
    this.timeout = timeout;
    this.group = group;
  }

  /** A group of one process: every collective is the identity (all-gather returns a copy); needs no backend. */
  public static Communicator local() {
    return new Communicator(0, 1, Duration.ofSeconds(30), 0);
  }

  /** Settings of a Gloo group (CPU, TCP); {@link Builder#open()} runs the rendezvous. */
  public static Builder gloo() {
    return new Builder(false);
  }

  /**
   * Settings of an NCCL group (one CUDA device per rank: ADJOINT_LOCAL_RANK, else rank modulo the device
   * count): {@code libadjoint_nccl.so} from adjoint-cuda, NCCL ({@code libnccl.so.2}) opened at run time. The
   * operations take host data like Gloo's and copy it through the device. Not yet run on a GPU.
   */
  public static Builder nccl() {
    return new Builder(true);
  }

  /** True when the Gloo backend library is present in this build (or named by ADJOINT_GLOO_LIBRARY). */
  public static boolean glooAvailable() {
    return Collectives.glooUnavailable() == null;
  }

  /** Why the Gloo backend is unavailable here, or null when it is available. */
  public static String glooUnavailableReason() {
    return Collectives.glooUnavailable();
  }

  /** This process's rank, in [0, worldSize). */
  public int rank() {
    return rank;
  }

  /** The number of processes in the group. */
  public int worldSize() {
    return size;
  }

  /** How long one operation (and the rendezvous) may take before it fails. */
  public Duration timeout() {
    return timeout;
  }

  /** One line on the backend, rank, timeout and network device. */
  public synchronized String describe() {
    if (group == 0) return "local (one process, no backend)";
    requireOpen("describe");
    return Collectives.describe(group);
  }

  /** Replaces {@code data} by its element-wise reduction over every rank. */
  public synchronized void allReduce(float[] data, Reduce op) {
    check("allReduce", data);
    if (group != 0) Collectives.allReduce(group, data, code(op), nextTag());
  }

  /** Replaces {@code data} by its element-wise reduction over every rank. */
  public synchronized void allReduce(double[] data, Reduce op) {
    check("allReduce", data);
    if (group != 0) Collectives.allReduce(group, data, code(op), nextTag());
  }

  /** Replaces {@code data} on every rank by the data of rank {@code root}. */
  public synchronized void broadcast(float[] data, int root) {
    check("broadcast", data);
    checkRoot(root);
    if (group != 0) Collectives.broadcast(group, data, root, nextTag());
  }

  /** Replaces {@code data} on every rank by the data of rank {@code root}. */
  public synchronized void broadcast(double[] data, int root) {
    check("broadcast", data);
    checkRoot(root);
    if (group != 0) Collectives.broadcast(group, data, root, nextTag());
  }

  /** Every rank's {@code data}, concatenated in rank order (worldSize × data.length elements). */
  public synchronized float[] allGather(float[] data) {
    check("allGather", data);
    float[] out = new float[Math.multiplyExact(data.length, size)];
    if (group == 0) System.arraycopy(data, 0, out, 0, data.length);
    else Collectives.allGather(group, data, out, nextTag());
    return out;
  }

  /** Every rank's {@code data}, concatenated in rank order (worldSize × data.length elements). */
  public synchronized double[] allGather(double[] data) {
    check("allGather", data);
    double[] out = new double[Math.multiplyExact(data.length, size)];
    if (group == 0) System.arraycopy(data, 0, out, 0, data.length);
    else Collectives.allGather(group, data, out, nextTag());
    return out;
  }

  /** Returns once every rank has called it. */
  public synchronized void barrier() {
    requireOpen("barrier");
    if (group != 0) Collectives.barrier(group, nextTag());
  }

  /** A new CPU tensor holding the reduction of {@code t} (Float32 or Float64, any device) over every rank. */
  public Tensor allReduce(Tensor t, Reduce op) {
    if (dtypeOf("allReduce", t) == DType.FLOAT64) {
      double[] v = t.toDoubleArray();
      allReduce(v, op);
      return Tensor.of(v, t.shape());
    }
    float[] v = t.toFloatArray();
    allReduce(v, op);
    return Tensor.of(v, t.shape());
  }

  /** A new CPU tensor holding rank {@code root}'s {@code t}; every rank passes a tensor of the same shape. */
  public Tensor broadcast(Tensor t, int root) {
    if (dtypeOf("broadcast", t) == DType.FLOAT64) {
      double[] v = t.toDoubleArray();
      broadcast(v, root);
      return Tensor.of(v, t.shape());
    }
    float[] v = t.toFloatArray();
    broadcast(v, root);
    return Tensor.of(v, t.shape());
  }

  /** A new CPU tensor of shape [worldSize, t.shape...]: every rank's {@code t}, in rank order. */
  public Tensor allGather(Tensor t) {
    long[] shape = new long[t.shape().length + 1];
    shape[0] = size;
    System.arraycopy(t.shape(), 0, shape, 1, t.shape().length);
    if (dtypeOf("allGather", t) == DType.FLOAT64) return Tensor.of(allGather(t.toDoubleArray()), shape);
    return Tensor.of(allGather(t.toFloatArray()), shape);
  }

  /**
   * All-reduces several tensors of one dtype as one packed buffer, as nodes of the cell being traced (a
   * train step): at every run the first node packs the tensors' host buffers into one, runs one all-reduce
   * on it and returns the first tensor's part, the others return theirs; the engine's buffers are read and
   * written directly. {@code after} (may be null) is a tensor these nodes wait for, to fix the order of
   * several such all-reduces (every rank must issue them in the same order). Outside a trace it runs at once
   * (each call then registers new host callbacks: it is meant for traced steps, built once per compilation).
   *
   * <pre>{@code
   * Tensor[] mean = comm.allReduce(Communicator.Reduce.MEAN, null, gradW, gradB);   // in a traced step
   * }</pre>
   */
  public Tensor[] allReduce(Reduce op, Tensor after, Tensor... tensors) {
    int opCode = code(op);
    if (tensors == null || tensors.length == 0) throw new AdjointException("allReduce: no tensors");
    DType dtype = dtypeOf("allReduce", tensors[0]);
    long[][] shapes = new long[tensors.length][];
    for (int j = 0; j < tensors.length; j++) {
      if (dtypeOf("allReduce", tensors[j]) != dtype)
        throw new AdjointException("allReduce: tensor " + j + " is " + tensors[j].describe() + " but tensor 0 is " + dtype + " (one dtype per call)");
      shapes[j] = tensors[j].shape();
    }
    requireOpen("allReduce");
    if (size == 1) return tensors.clone(); // the sum and the mean over one rank are the tensors themselves
    // A Packed per call, never shared: two calls of one signature in one graph must not share the
    // per-thread result that their parts read (a part of the first may run after the second's leader).
    Packed p = new Packed(dtype, opCode, shapes);
    Tensor[] in = Arrays.copyOf(tensors, tensors.length + (after == null ? 0 : 1));
    if (after != null) in[tensors.length] = after;
    Tensor[] out = new Tensor[tensors.length];
    out[0] = HostFunctions.callRaw("allReduce[" + tensors.length + " packed]", p.leader, dtype, shapes[0], in);
    for (int j = 1; j < tensors.length; j++)
      out[j] = HostFunctions.callRaw("allReduce[part " + j + "]", p.parts[j], dtype, shapes[j], out[0]);
    return out;
  }

  /**
   * The kernels of one packed all-reduce signature: the leader packs, reduces and keeps the packed result
   * for the parts, per thread (the engine runs a graph's host callbacks on the thread that runs it).
   */
  private final class Packed {
    final long[] offsets; // bytes
    final int dtypeCode, width, opCode;
    final ThreadLocal<BytePointer> result = new ThreadLocal<>();
    final HostFunctions.RawKernel leader;
    final HostFunctions.RawKernel[] parts;

    Packed(DType dtype, int opCode, long[][] shapes) {
      this.dtypeCode = dtype == DType.FLOAT64 ? 1 : 0;
      this.width = dtype == DType.FLOAT64 ? 8 : 4;
      this.opCode = opCode;
      offsets = new long[shapes.length + 1];
      for (int j = 0; j < shapes.length; j++) {
        long n = 1;
        for (long d : shapes[j]) n = Math.multiplyExact(n, d);
        offsets[j + 1] = Math.addExact(offsets[j], Math.multiplyExact(n, width));
      }
      int count = shapes.length;
      leader = (inputs, output) -> {
        BytePointer buf = new BytePointer(Math.max(1, offsets[count]));
        for (int j = 0; j < count; j++)
          if (offsets[j + 1] > offsets[j]) Pointer.memcpy(buf.getPointer(offsets[j]), inputs[j], offsets[j + 1] - offsets[j]);
        synchronized (Communicator.this) {
          requireOpen("allReduce");
          Collectives.allReduce(group, buf, offsets[count] / width, dtypeCode, opCode, nextTag());
        }
        if (offsets[1] > 0) Pointer.memcpy(output, buf, offsets[1]);
        if (count == 1) buf.close();
        else result.set(buf);
      };
      parts = new HostFunctions.RawKernel[count];
      for (int j = 1; j < count; j++) {
        int part = j;
        parts[j] = (inputs, output) -> {
          BytePointer buf = result.get();
          if (buf == null) throw new AdjointException("allReduce: part " + part + " ran before its packed all-reduce");
          if (offsets[part + 1] > offsets[part]) Pointer.memcpy(output, buf.getPointer(offsets[part]), offsets[part + 1] - offsets[part]);
          if (part == count - 1) {
            result.remove();
            buf.close();
          }
        };
      }
    }
  }

  /** Leaves the group (closes its connections); idempotent. Other ranks still in an operation then fail. */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    if (group != 0) Collectives.close(group);
  }

  @Override
  public String toString() {
    return "Communicator(rank " + rank + " of " + size + ")";
  }

  private long nextTag() {
    return (tags++) & 0xffffffffL;
  }

  private static int code(Reduce op) {
    if (op == null) throw new AdjointException("allReduce: reduction is null");
    return op == Reduce.SUM ? 0 : 1;
  }

  private void check(String what, Object data) {
    requireOpen(what);
    if (data == null) throw new AdjointException(what + ": data is null");
  }

  private void checkRoot(int root) {
    if (root < 0 || root >= size) throw new AdjointException("broadcast: root " + root + " is outside [0, " + size + ")");
  }

  private DType dtypeOf(String what, Tensor t) {
    if (t == null) throw new AdjointException(what + ": tensor is null");
    if (t.dtype() != DType.FLOAT32 && t.dtype() != DType.FLOAT64)
      throw new AdjointException(what + ": tensor is " + t.dtype() + "; collectives take Float32 or Float64");
    return t.dtype();
  }

  private void requireOpen(String what) {
    if (closed) throw new AdjointException(what + ": " + this + " was closed");
  }

  /**
   * Settings of a process group. Required: rank, world size and the rendezvous directory.
   *
   * <pre>{@code
   * Communicator c = Communicator.gloo().rank(0).worldSize(4).rendezvous(dir).runId("job-17").open();
   * }</pre>
   */
  public static final class Builder {
    private final boolean nccl;
    private int rank = -1, size = -1;
    private Path store;
    private String runId = "adjoint";
    private String host = "";
    private Duration timeout = Duration.ofSeconds(30);

    private Builder(boolean nccl) {
      this.nccl = nccl;
    }

    /** This process's rank in [0, worldSize). */
    public Builder rank(int r) {
      rank = r;
      return this;
    }

    /** The number of processes; every rank must be given the same. */
    public Builder worldSize(int n) {
      size = n;
      return this;
    }

    /** A directory every rank can read and write (local for one machine, shared storage across machines). */
    public Builder rendezvous(Path dir) {
      store = dir;
      return this;
    }

    /** Keeps runs that share a rendezvous directory apart (default "adjoint"); use a fresh one per job. */
    public Builder runId(String id) {
      if (id == null || id.isEmpty()) throw new AdjointException("Communicator: run id is empty");
      runId = id;
      return this;
    }

    /** The address this rank listens on for its peers (default: the machine's hostname; Gloo only). */
    public Builder host(String h) {
      host = h == null ? "" : h;
      return this;
    }

    /** How long the rendezvous and each operation may take (default 30 s). */
    public Builder timeout(Duration d) {
      if (d == null || d.isNegative() || d.isZero()) throw new AdjointException("Communicator: timeout must be > 0, got " + d);
      timeout = d;
      return this;
    }

    /** Runs the rendezvous (blocks until every rank arrived, or the timeout) and returns the group. */
    public Communicator open() {
      if (size < 1) throw new AdjointException("Communicator: world size must be >= 1, got " + size);
      if (rank < 0 || rank >= size) throw new AdjointException("Communicator: rank " + rank + " is outside [0, " + size + ")");
      if (store == null) throw new AdjointException("Communicator: rendezvous(dir) is required");
      String dir = store.toAbsolutePath().toString();
      long id = nccl ? Collectives.openNccl(rank, size, timeout.toMillis(), dir, runId)
          : Collectives.openGloo(rank, size, timeout.toMillis(), dir, runId, host);
      return new Communicator(rank, size, timeout, id);
    }
  }
}
