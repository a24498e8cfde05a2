package dev.adjoint;

import dev.adjoint.engine.AdjointEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A traced graph compiled by the engine: bound to its inputs' feeds and its output structure. A call is
 * one native run; the engine allocates only the returned tensors.
 */
final class Compiled implements AutoCloseable {
  /** Every compilation in this JVM: tests count it to prove a cache hit. */
  static final AtomicLong COMPILATIONS = new AtomicLong();

  private final AdjointEngine.Executable exe;
  private final Feed[] feeds;
  private final Value structure;
  private final int numOutputs;
  final Device device;

  private Compiled(AdjointEngine.Executable exe, Feed[] feeds, Value structure, int numOutputs, Device device) {
    this.exe = exe;
    this.feeds = feeds;
    this.structure = structure;
    this.numOutputs = numOutputs;
    this.device = device;
  }

  /**
   * Marks the leaves of {@code out} as the outputs of {@code trace}, with the trace's in-place parameter
   * updates, and compiles it; the trace's native graph is released afterwards.
   */
  static Compiled compile(Trace trace, Value out) {
    List<Parameter> updated = trace.updated;
    List<Tensor> updates = trace.updates;
    try {
      List<Tensor> leaves = out.leaves();
      for (Tensor leaf : leaves) {
        Node n = trace.nodeOf(leaf);
        // An output that is an input must still come out as a fresh buffer: copy it.
        if (n.op == Op.INPUT) n = trace.record(Op.IDENTITY, new Node[] {n}, new long[0], 0);
        final int id = n.id;
        Engine.run(() -> trace.graph.addOutput(id));
      }
      for (int i = 0; i < updated.size(); i++) {
        int input = trace.inputNodes.indexOf(trace.nodeOf(updated.get(i)));
        int value = trace.nodeOf(updates.get(i)).id;
        Engine.run(() -> trace.graph.addUpdate(input, value));
      }
      AdjointEngine.Executable exe =
          Engine.call(() -> new AdjointEngine.Executable(trace.graph, trace.device.code));
      COMPILATIONS.incrementAndGet();
      return new Compiled(
          exe, trace.feeds.toArray(new Feed[0]), Tuple.map(out, t -> t), leaves.size(), trace.device);
    } finally {
      trace.release();
    }
  }

  /** Runs with the flattened call arguments; returns the output structure with fresh tensors. */
  synchronized Value run(Tensor[] args) {
    for (int i = 0; i < feeds.length; i++) {
      Storage s = feeds[i].storage(args);
      if (!s.device.equals(device))
        throw new AdjointException(
            "input " + i + " is on " + s.device + " but this graph was compiled for " + device);
      final int k = i;
      final AdjointEngine.Buffer b = s.buffer();
      Engine.run(() -> exe.setInput(k, b));
    }
    try {
      Engine.run(exe::run);
    } catch (AdjointException e) {
      Throwable cause = HostFunctions.takeFailure();
      if (cause == null) throw e;
      throw new AdjointException("host callback failed: " + cause, cause);
    }
    List<Tensor> outs = new ArrayList<>(numOutputs);
    for (int i = 0; i < numOutputs; i++) {
      final int k = i;
      outs.add(new Tensor(new Storage(Engine.call(() -> exe.takeOutput(k)))));
    }
    return Tuple.unflatten(structure, outs.iterator());
  }

  int numSteps() {
    return exe.numSteps();
  }

  long runAllocations() {
    return exe.runAllocations();
  }

  String describe() {
    return exe.describe();
  }

  @Override
  public void close() {
    exe.close();
  }
}
