package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.engine.AdjointEngine;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;

/**
 * A traced graph compiled by the engine: bound to its inputs' feeds and its output structure. A call is
 * one native run (Note [One crossing]); the engine allocates only the returned tensors, and not even those
 * when a small output's pooled block is free (Note [Output blocks] in Storage).
 *
 * <p>Note [Runs]: a run takes no lock on this object. It takes an idle engine instance of the compiled
 * program (or makes one: Note [Instances] in executable.cpp), so concurrent calls from several threads
 * and re-entrant calls (a host callback that calls its own cell) never share in-flight buffers, and no
 * lock order between cells exists that could deadlock. For the whole native call it holds every buffer
 * it binds (Note [Holds] in Storage: neither close() nor the GC frees them meanwhile) and the parameter
 * lock (Note [Parameter consistency]). {@link #close()} retires the graph: runs in flight finish, the
 * engine instances are freed when the last one returns, and later runs throw.
 */
public final class Compiled implements AutoCloseable {
  /** Every compilation in this JVM: tests count it to prove a cache hit. */
  public static final AtomicLong COMPILATIONS = new AtomicLong();
  /** Engine instances alive in this JVM (each holds a scratch arena once run). */
  public static final AtomicLong INSTANCES = new AtomicLong();
  /** Idle instances kept per graph beyond the first; more concurrent runs make and free their own. */
  private static final int MAX_IDLE = Math.max(2, Runtime.getRuntime().availableProcessors());

  private final AdjointEngine.Executable prototype;
  private final ConcurrentLinkedQueue<Instance> idle = new ConcurrentLinkedQueue<>();
  private final AtomicInteger idleCount = new AtomicInteger();
  private final Feed[] feeds;
  private final Value structure;
  private final int numOutputs;
  private final long outputBytes;
  private final DType[] outDtypes;
  private final long[][] outShapes;
  private final long[] outBytes;
  /** Per output, the pool of its blocks when it is small enough (Note [Output blocks]), else null. */
  private final Storage.BlockPool[] pools;
  private final boolean updatesParameters, capturesParameters;
  private final String label;
  final Device device;
  /**
   * Last use by a call that bypassed the cache (CompileCache.touch); racy on purpose, a recency hint:
   * a plain field, since a volatile write is a full fence on every call of the per-call path, and an
   * eviction that reads a stale stamp only picks a less good victim (a closed graph is never run).
   */
  long lastUse;

  // Lifecycle: runs in flight, plus CLOSED once close() was called, plus FREED once the instances are.
  private static final int CLOSED = 1 << 30, FREED = 1 << 29, RUNS = FREED - 1;
  private final AtomicInteger state = new AtomicInteger();
  /** The common case of one run at a time takes and returns this instance without allocating. */
  private final java.util.concurrent.atomic.AtomicReference<Instance> primary =
      new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * Note [One crossing]: a run crosses into the engine once ({@code Executable.runWith}): the inputs'
   * buffer addresses are written into this instance's io block, a direct buffer in native memory, and
   * the engine writes the outputs' addresses after them, which are wrapped in Java without a further
   * native call. Before, a call of k inputs and m outputs made k + 1 + m JNI calls, and each output
   * cost JavaCPP a JNI object allocation. The block and the holds array belong to the instance, which
   * runs one call at a time (Note [Runs]), so a call allocates neither.
   */
  private static final class Instance {
    final AdjointEngine.Executable exe;
    final ByteBuffer io;
    final long ioAddress;
    final Storage[] held;
    /** Per output, the pooled block this run writes into (Note [Output blocks] in Storage), or null. */
    final Storage.Block[] taken;

    Instance(AdjointEngine.Executable exe, int numFeeds, int numOutputs) {
      this.exe = exe;
      this.taken = new Storage.Block[numOutputs];
      this.io = ByteBuffer.allocateDirect(Math.max(1, numFeeds + numOutputs) * 8).order(ByteOrder.nativeOrder());
      this.ioAddress = new Pointer(io).address();
      this.held = new Storage[numFeeds];
    }
  }

  private Compiled(
      AdjointEngine.Executable exe, Feed[] feeds, Value structure, int numOutputs, long outputBytes,
      boolean updatesParameters, String label, Device device, List<Tensor> leaves) {
    this.prototype = exe;
    this.outDtypes = new DType[leaves.size()];
    this.outShapes = new long[leaves.size()][];
    this.outBytes = new long[leaves.size()];
    for (int i = 0; i < leaves.size(); i++) {
      outDtypes[i] = leaves.get(i).dtype();
      outShapes[i] = leaves.get(i).shape();
      outBytes[i] = Shapes.byteSize(label, outDtypes[i], outShapes[i]);
    }
    this.feeds = feeds;
    this.structure = structure;
    this.numOutputs = numOutputs;
    this.outputBytes = outputBytes;
    this.updatesParameters = updatesParameters;
    boolean caps = false;
    for (Feed f : feeds) caps |= f instanceof Feed.Capture c && c.tensor() instanceof Parameter;
    this.capturesParameters = caps;
    this.label = label;
    this.device = device;
    this.pools = new Storage.BlockPool[leaves.size()];
    if (device == Device.CPU)
      for (int i = 0; i < pools.length; i++) if (outBytes[i] <= Storage.MAX_POOLED_BYTES) pools[i] = new Storage.BlockPool();
    int[] af = new int[feeds.length];
    int n = 0;
    for (Feed f : feeds) if (f instanceof Feed.Arg a) af[n++] = a.index();
    this.argFeeds = java.util.Arrays.copyOf(af, n);
    INSTANCES.incrementAndGet();
    primary.set(new Instance(exe, feeds.length, numOutputs));
  }

  /**
   * Marks the leaves of {@code out} as the outputs of {@code trace}, with the trace's in-place parameter
   * updates, and compiles it; the trace's native graph is released afterwards.
   */
  public static Compiled compile(Trace trace, Value out, String label) {
    List<Parameter> updated = trace.updated;
    List<Tensor> updates = trace.updates;
    try {
      List<Tensor> leaves = out.leaves();
      long outBytes = 0;
      for (Tensor leaf : leaves) {
        Node n = trace.nodeOf(leaf);
        // An output that is an input must still come out as a fresh buffer: copy it.
        if (n.op == Op.INPUT) n = trace.record(Op.IDENTITY, new Node[] {n}, new long[0], 0);
        final int id = n.id;
        Engine.run(() -> trace.graph.addOutput(id));
        outBytes = Math.addExact(outBytes, Shapes.byteSize(label, leaf.dtype(), leaf.shape()));
      }
      for (int i = 0; i < updated.size(); i++) {
        int input = trace.inputNodes.indexOf(trace.nodeOf(updated.get(i)));
        int value = trace.nodeOf(updates.get(i)).id;
        Engine.run(() -> trace.graph.addUpdate(input, value));
      }
      AdjointEngine.Executable exe =
          Engine.call(() -> new AdjointEngine.Executable(trace.graph, Access.code(trace.device)));
      COMPILATIONS.incrementAndGet();
      return new Compiled(
          exe, trace.feeds.toArray(new Feed[0]), Structure.map(out, t -> t), leaves.size(), outBytes,
          !updated.isEmpty(), label, trace.device, leaves);
    } finally {
      trace.release();
    }
  }

  /** Runs with the flattened call arguments; returns the output structure with fresh tensors. */
  Value run(Tensor[] args) {
    enter();
    return runEntered(args);
  }

  /** {@link #run} for a graph already entered ({@link #tryEnter}, {@link CompileCache#acquire}). */
  public Value runEntered(Tensor[] args) {
    Instance inst = null;
    Storage[] held = null;
    int numHeld = 0;
    boolean write = updatesParameters, read = capturesParameters;
    try {
      if (!read) for (int i : argFeeds) read |= args[i] instanceof Parameter;
      if (write) ParameterLock.lockWrite(label);
      else if (read) ParameterLock.lockRead();
      try {
        NativeMemory.reserve(outputBytes);
        inst = takeInstance();
        held = inst.held;
        ByteBuffer io = inst.io;
        for (int i = 0; i < feeds.length; i++) {
          Storage s = feeds[i].storage(args);
          if (s.device != device && !s.device.equals(device))
            throw new AdjointException(
                label + ": input " + i + " is on " + s.device + " but this graph was compiled for " + device);
          AdjointEngine.Buffer b = s.acquire();
          held[numHeld++] = s;
          io.putLong(i * 8, b.address());
        }
        for (int k = 0; k < numOutputs; k++) {
          Storage.Block blk = pools[k] == null ? null : pools[k].take();
          inst.taken[k] = blk;
          io.putLong((feeds.length + k) * 8, blk == null ? 0 : blk.buffer.address());
        }
        execute(inst);
        // Output descriptors are fixed at compile time: the Storage is made without asking the engine.
        if (numOutputs == 1 && structure instanceof Tensor)
          return Access.concrete(onlyOutput(inst));
        Storage[] st = outputs(inst);
        Tensor[] outs = new Tensor[numOutputs];
        for (int i = 0; i < numOutputs; i++) outs[i] = Access.concrete(st[i]);
        return Structure.unflatten(structure, outs);
      } finally {
        if (write) ParameterLock.unlockWrite();
        else if (read) ParameterLock.unlockRead();
      }
    } finally {
      for (int i = 0; i < numHeld; i++) {
        held[i].release();
        held[i] = null; // the instance must not keep a caller's tensor reachable until its next run
      }
      if (inst != null) {
        // Blocks still here were not handed to a storage (the run failed): back to their pools.
        for (int k = 0; k < numOutputs; k++) {
          Storage.Block blk = inst.taken[k];
          if (blk != null) {
            inst.taken[k] = null;
            blk.pool.give(blk);
          }
        }
        returnInstance(inst);
      }
      Reference.reachabilityFence(args);
      leave();
    }
  }

  /** The flattened-argument positions that feeds read ({@link Feed.Arg}): a Parameter there is read under the lock. */
  private final int[] argFeeds;

  // The native call of a run, turning an engine error into an AdjointException (as Engine.call does,
  // without a lambda per call: this is the per-call path, W1 and W5 in bench/).
  private static void execute(Instance inst) {
    try {
      inst.exe.runWith(inst.ioAddress);
    } catch (RuntimeException e) {
      Throwable cause = HostFunctions.takeFailure();
      if (cause == null) throw e instanceof AdjointException ae ? ae : new AdjointException(e.getMessage(), e);
      if (cause instanceof AdjointException ae && ae.getMessage().startsWith("host callback"))
        throw new AdjointException(ae.getMessage(), ae);
      throw new AdjointException("host callback failed: " + cause, cause);
    }
  }

  /** {@link #outputs} for a graph of one output, without the array. */
  private Storage onlyOutput(Instance inst) {
    Storage.Block blk = inst.taken[0];
    if (blk != null) {
      Storage st = new Storage(blk, outDtypes[0], outShapes[0], device);
      inst.taken[0] = null;
      return st;
    }
    long address = inst.io.getLong(feeds.length * 8);
    try {
      return output(new AdjointEngine.Buffer(address), 0);
    } catch (RuntimeException | Error e) {
      AdjointEngine.freeBuffer(new AdjointEngine.Buffer(address));
      throw e;
    }
  }

  /**
   * The outputs runWith wrote into {@code inst}'s io block, each owned by a Storage; if any cannot be
   * wrapped, every one of them is freed before the error goes on (none is left to leak).
   */
  private Storage[] outputs(Instance inst) {
    Storage[] out = new Storage[numOutputs];
    int k = 0;
    try {
      for (; k < numOutputs; k++) {
        Storage.Block blk = inst.taken[k];
        if (blk != null) { // written into a pooled block: a fresh storage lends it
          out[k] = new Storage(blk, outDtypes[k], outShapes[k], device);
          inst.taken[k] = null;
        } else {
          out[k] = output(new AdjointEngine.Buffer(inst.io.getLong((feeds.length + k) * 8)), k);
        }
      }
      return out;
    } catch (RuntimeException | Error e) {
      for (int i = 0; i < k; i++) out[i].close();
      for (int i = k; i < numOutputs; i++)
        if (inst.taken[i] == null) AdjointEngine.freeBuffer(new AdjointEngine.Buffer(inst.io.getLong((feeds.length + i) * 8)));
      throw e; // taken blocks go back to their pools in runEntered
    }
  }

  private Storage output(AdjointEngine.Buffer b, int k) {
    if (!outputsVerified) verifyOutput(b, k);
    // The shape array is shared by every output k of this graph: shapes are never modified (Tensor.shape() copies).
    if (pools[k] != null) return new Storage(new Storage.Block(b, outBytes[k], pools[k]), outDtypes[k], outShapes[k], device);
    return new Storage(b, outDtypes[k], outShapes[k], device, outBytes[k]);
  }

  /** Once per graph: the engine's output descriptors are the traced ones (a mismatch is an engine bug). */
  private volatile boolean outputsVerified;

  private void verifyOutput(AdjointEngine.Buffer b, int k) {
    DType dt = Access.dtype(b.dtype());
    long[] shape = new long[b.rank()];
    for (int i = 0; i < shape.length; i++) shape[i] = b.dim(i);
    if (dt != outDtypes[k] || !java.util.Arrays.equals(shape, outShapes[k]) || b.bytes() != outBytes[k])
      throw new AdjointException(label + ": output " + k + " is " + dt + " " + Format.shape(shape) + " but was traced as "
          + outDtypes[k] + " " + Format.shape(outShapes[k]) + " (an engine bug: please report it)");
    if (k == numOutputs - 1) outputsVerified = true;
  }


  private void enter() {
    if (!tryEnter()) throw new AdjointException(label + ": this compiled graph was closed (its cell was closed or evicted)");
  }

  /** Counts a run (or a describe) in flight unless closed; pair with run/runEntered or leave. */
  public boolean tryEnter() {
    for (;;) {
      int s = state.get();
      if ((s & CLOSED) != 0) return false;
      if ((s & RUNS) == RUNS) throw new AdjointException(label + ": too many runs in flight");
      if (state.compareAndSet(s, s + 1)) return true;
    }
  }

  public void leave() {
    if (state.decrementAndGet() == CLOSED && state.compareAndSet(CLOSED, CLOSED | FREED)) freeInstances();
  }

  private Instance takeInstance() {
    Instance p = primary.getAndSet(null);
    if (p != null) return p;
    Instance e = idle.poll();
    if (e != null) {
      idleCount.decrementAndGet();
      return e;
    }
    Instance fresh = new Instance(Engine.call(() -> new AdjointEngine.Executable(prototype)), feeds.length, numOutputs);
    INSTANCES.incrementAndGet();
    return fresh;
  }

  private void returnInstance(Instance e) {
    if (primary.compareAndSet(null, e)) return;
    if (e.exe != prototype && idleCount.get() >= MAX_IDLE) {
      freeInstance(e);
      return;
    }
    idleCount.incrementAndGet();
    idle.add(e);
  }

  private void freeInstances() {
    for (Storage.BlockPool pool : pools) if (pool != null) pool.close();
    Instance p = primary.getAndSet(null);
    if (p != null) freeInstance(p);
    for (Instance e; (e = idle.poll()) != null; ) freeInstance(e);
    // The prototype's program is shared (shared_ptr) with the instances: freeing it last is not needed,
    // but it is always among the idle ones once no run is in flight.
  }

  private static void freeInstance(Instance e) {
    e.exe.close();
    INSTANCES.decrementAndGet();
  }

  /** Whether {@link #close()} was called. */
  boolean isClosed() {
    return (state.get() & CLOSED) != 0;
  }

  int numSteps() {
    return prototype.numSteps();
  }

  long runAllocations() {
    return prototype.runAllocations();
  }

  public String describe() {
    return prototype.describe();
  }

  /** Retires this graph: runs in flight finish first; later runs throw. Idempotent. */
  @Override
  public void close() {
    for (;;) {
      int s = state.get();
      if ((s & CLOSED) != 0) return;
      if (state.compareAndSet(s, s | CLOSED)) {
        if ((s & RUNS) == 0 && state.compareAndSet(CLOSED, CLOSED | FREED)) freeInstances();
        return;
      }
    }
  }
}
