package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.engine.AdjointEngine;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph being recorded. While a trace is open on a thread, every op records a node instead of running:
 * Java control flow in {@code construct} is unrolled, as JAX's {@code jit} does. Nested Cells and nested
 * GradOperations record into the same trace, so the whole computation, derivatives included, is one
 * graph of primitive ops that the engine compiles once.
 *
 * <p>Each node goes straight into a native {@code adjoint::Graph}, whose addNode infers and checks
 * the shape: the engine's shape rules are the only ones (see {@link Op}).
 */
public final class Trace implements AutoCloseable {
  private static final ThreadLocal<Trace> CURRENT = new ThreadLocal<>();
  /** Nodes recorded by this thread into any trace: tests check how a transform's graph grows. */
  private static final ThreadLocal<long[]> RECORDED = ThreadLocal.withInitial(() -> new long[1]);

  final AdjointEngine.Graph graph = new AdjointEngine.Graph();
  public final Device device;
  public final List<Node> nodes = new ArrayList<>();
  /** Per native input index, how it is fed. */
  final List<Feed> feeds = new ArrayList<>();
  public final List<Node> inputNodes = new ArrayList<>();
  private final Map<Tensor, Node> captures = new IdentityHashMap<>();
  /** In-place parameter updates the compiled graph performs after each run (optimizer steps). */
  public final List<Parameter> updated = new ArrayList<>();
  final List<Tensor> updates = new ArrayList<>();
  private final Trace outer;
  private boolean open = true;

  private Trace(Device device, Trace outer) {
    this.device = device;
    this.outer = outer;
  }

  public static Trace current() {
    return CURRENT.get();
  }

  /** Nodes (inputs included) recorded into traces by the calling thread so far. */
  public static long recordedOnThisThread() {
    return RECORDED.get()[0];
  }

  public static Trace begin(Device device) {
    Trace t = new Trace(device, CURRENT.get());
    CURRENT.set(t);
    return t;
  }

  /** Ends recording on this thread; the native graph stays alive until {@link #release()}. */
  @Override
  public void close() {
    if (!open) return;
    open = false;
    CURRENT.set(outer);
  }

  /** Frees the native graph once it has been compiled (or abandoned). */
  public void release() {
    close();
    graph.close();
  }

  /** After each run of the compiled graph, {@code value} is written into {@code p} in place. */
  public void update(Parameter p, Tensor value) {
    if (!java.util.Arrays.equals(p.shape(), value.shape()) || p.dtype() != value.dtype())
      throw new AdjointException(
          "update of parameter '" + p.name() + "' " + p.describe() + " with " + value.describe());
    if (updated.contains(p)) throw new AdjointException("parameter '" + p.name() + "' is updated twice in one step");
    nodeOf(p);
    updated.add(p);
    updates.add(value);
  }

  public Node input(DType dtype, long[] shape, Feed feed) {
    int id = Engine.call(() -> graph.addInput(Access.code(dtype), shape, shape.length));
    Node n = new Node(this, nodes.size(), id, Op.INPUT, new Node[0], new long[0], 0, dtype, shape.clone());
    n.payload = feed;
    nodes.add(n);
    feeds.add(feed);
    inputNodes.add(n);
    RECORDED.get()[0]++;
    return n;
  }

  /** The node of a tensor in this trace: its own node if symbolic, else a captured input. */
  public Node nodeOf(Tensor t) {
    if (t.isSymbolic()) {
      Node n = Access.node(t);
      if (n.trace != this)
        throw new AdjointException(
            "a traced tensor " + t.describe() + " was used outside the trace that made it"
                + " (was a value from construct kept and reused later?)");
      return n;
    }
    Node n = captures.get(t);
    if (n == null) {
      Storage s = Access.storage(t);
      if (!s.device.equals(device))
        throw new AdjointException(
            "captured tensor " + t.describe() + " is on " + s.device + " but the graph runs on " + device);
      n = input(t.dtype(), t.shape(), new Feed.Capture(t));
      captures.put(t, n);
    }
    return n;
  }

  public Node record(Op op, Node[] inputs, long[] attrs, double scalar) {
    int[] ids = new int[inputs.length];
    for (int i = 0; i < inputs.length; i++) ids[i] = inputs[i].id;
    int id = Engine.call(() -> graph.addNode(op.kernelId(), ids, ids.length, attrs, attrs.length, scalar));
    DType dtype = Access.dtype(graph.nodeDtype(id));
    int rank = graph.nodeRank(id);
    long[] shape = new long[rank];
    for (int i = 0; i < rank; i++) shape[i] = graph.nodeDim(id, i);
    Node n = new Node(this, nodes.size(), id, op, inputs, attrs, scalar, dtype, shape);
    nodes.add(n);
    RECORDED.get()[0]++;
    return n;
  }
}
