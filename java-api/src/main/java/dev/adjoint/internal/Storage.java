package dev.adjoint.internal;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.engine.AdjointEngine;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ownership of one engine buffer.
 *
 * <p>Note [Holds]: every native call that reads or writes the buffer holds it ({@link #acquire} ...
 * {@link #release}) for the whole call. {@link #close()} is idempotent and never frees a held buffer:
 * it marks the storage closed (later acquires throw {@link AdjointException} "... was closed") and the
 * last release frees it. A holder keeps the Storage reachable, so the Cleaner, which frees buffers
 * whose owner was dropped without close (counted by {@link Adjoint#buffersFreedByGc()}), can never run
 * during a call either. Native bytes are accounted in {@link NativeMemory}, which makes the GC collect
 * forgotten tensors before native memory runs out.
 */
public final class Storage implements AutoCloseable {
  static final Cleaner CLEANER = Cleaner.create();
  public static final AtomicLong LIVE = new AtomicLong();
  public static final AtomicLong FREED_BY_GC = new AtomicLong();

  // state: the number of holds, plus CLOSED once closed, plus FREED once the buffer is released.
  private static final int CLOSED = 1 << 30, FREED = 1 << 29, HOLDS = FREED - 1;
  // An int with a VarHandle, not an AtomicInteger: one object less per tensor on the per-call path.
  private volatile int state;
  private static final java.lang.invoke.VarHandle STATE;

  static {
    try {
      STATE = java.lang.invoke.MethodHandles.lookup().findVarHandle(Storage.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
  private final AdjointEngine.Buffer buffer;
  private final Cleaner.Cleanable cleanable; // null for a pooled block's storage
  private final Block block; // the pooled block this storage lends (Note [Output blocks]), or null
  public final DType dtype;
  public final long[] shape;
  public final Device device;
  final long bytes;

  Storage(AdjointEngine.Buffer buffer) {
    this(buffer, Access.dtype(buffer.dtype()), shapeOf(buffer), Access.device(buffer.device()), buffer.bytes());
  }

  /**
   * A buffer whose dtype, shape, device and byte size the caller already knows (a compiled graph's output:
   * they are fixed at compile time), without asking the engine for each of them.
   */
  Storage(AdjointEngine.Buffer buffer, DType dtype, long[] shape, Device device, long bytes) {
    this.buffer = buffer;
    this.dtype = dtype;
    this.shape = shape;
    this.device = device;
    this.bytes = bytes;
    NativeMemory.add(bytes);
    this.cleanable = CLEANER.register(this, new Release(buffer, bytes, null));
    this.block = null;
    LIVE.incrementAndGet();
  }

  /**
   * A storage that lends {@code block} (Note [Output blocks]): no Cleaner of its own (the block has
   * one, and this storage is the only thing that keeps the block reachable while it is in use), no
   * native allocation; closing it returns the block to its pool.
   */
  Storage(Block block, DType dtype, long[] shape, Device device) {
    this.buffer = block.buffer;
    this.dtype = dtype;
    this.shape = shape;
    this.device = device;
    this.bytes = block.bytes;
    this.cleanable = null;
    this.block = block;
    // A release store, no fence: the Cleaner reads the flag only after the GC found the block
    // unreachable, which orders it after every store of the thread that dropped it.
    block.inUse.lazySet(true);
    LIVE.incrementAndGet();
  }

  private static long[] shapeOf(AdjointEngine.Buffer buffer) {
    int rank = buffer.rank();
    long[] shape = new long[rank];
    for (int i = 0; i < rank; i++) shape[i] = buffer.dim(i);
    return shape;
  }

  public static Storage allocate(Device device, DType dtype, long[] shape) {
    Engine.requireDevice(device);
    long bytes = Shapes.byteSize("allocate", dtype, shape);
    NativeMemory.reserve(bytes);
    return new Storage(
        Engine.call(() -> AdjointEngine.newBuffer(Access.code(device), Access.code(dtype), shape, shape.length)));
  }

  /** Holds the buffer for one native call; pair with {@link #release}. */
  AdjointEngine.Buffer acquire() {
    for (;;) {
      int s = state;
      if ((s & CLOSED) != 0) throw closed();
      if ((s & HOLDS) == HOLDS) throw new AdjointException("tensor " + describe() + " is held by too many calls");
      if (STATE.compareAndSet(this, s, s + 1)) return buffer;
    }
  }

  /** Runs {@code body} on the held buffer, engine errors becoming AdjointExceptions. */
  public void use(java.util.function.Consumer<AdjointEngine.Buffer> body) {
    AdjointEngine.Buffer b = acquire();
    try {
      Engine.run(() -> body.accept(b));
    } finally {
      release();
    }
  }

  /** Copies {@code src} into this buffer, holding both for the copy. */
  public void copyFrom(Storage src) {
    AdjointEngine.Buffer from = src.acquire();
    try {
      use(b -> b.copyFrom(from));
    } finally {
      src.release();
    }
  }

  void release() {
    int s = (int) STATE.getAndAdd(this, -1) - 1;
    if (s == CLOSED) free();
  }

  /**
   * The buffer, for a caller that keeps this Storage reachable and cannot race with close (the
   * creating thread, before the tensor is published); everything else uses acquire/release.
   */
  public AdjointEngine.Buffer unsafeBuffer() {
    if (isClosed()) throw closed();
    return buffer;
  }

  AdjointException closed() {
    return new AdjointException("tensor " + describe() + " was closed; it cannot be used any more");
  }

  String describe() {
    return dtype + " " + Format.shape(shape);
  }

  public boolean isClosed() {
    return (state & CLOSED) != 0;
  }

  @Override
  public void close() {
    for (;;) {
      int s = state;
      if ((s & CLOSED) != 0) return;
      if ((s & HOLDS) == 0) { // not held: closed and freed in one step
        if (STATE.compareAndSet(this, s, CLOSED | FREED)) {
          freeNow();
          return;
        }
      } else if (STATE.compareAndSet(this, s, s | CLOSED)) {
        return; // the last release frees it
      }
    }
  }

  private void free() {
    if (STATE.compareAndSet(this, CLOSED, CLOSED | FREED)) freeNow();
  }

  /** Frees (or, for a pooled block, gives back) the buffer; called once, by whoever set FREED. */
  private void freeNow() {
    if (block != null) {
      LIVE.decrementAndGet();
      block.inUse.lazySet(false);
      block.pool.give(block);
      return;
    }
    Release.explicit.set(true);
    try {
      cleanable.clean();
    } finally {
      Release.explicit.set(false);
    }
  }

  /** Frees a buffer: at close (explicit) or by the Cleaner, when its owner was dropped. */
  static final class Release implements Runnable {
    static final ThreadLocal<Boolean> explicit = ThreadLocal.withInitial(() -> false);
    private final AdjointEngine.Buffer buffer;
    private final long bytes;
    /** For a pooled block: whether a storage was lending it (so a live tensor was dropped); else null. */
    private final java.util.concurrent.atomic.AtomicBoolean lent;

    Release(AdjointEngine.Buffer buffer, long bytes, java.util.concurrent.atomic.AtomicBoolean lent) {
      this.buffer = buffer;
      this.bytes = bytes;
      this.lent = lent;
    }

    @Override
    public void run() {
      boolean byGc = !explicit.get();
      if (lent == null) {
        if (byGc) FREED_BY_GC.incrementAndGet();
        LIVE.decrementAndGet();
      } else if (byGc && lent.get()) { // a pooled block whose tensor was dropped without close
        FREED_BY_GC.incrementAndGet();
        LIVE.decrementAndGet();
      }
      AdjointEngine.freeBuffer(buffer);
      NativeMemory.subtract(bytes);
    }
  }

  /**
   * Note [Output blocks]: a small output of a compiled graph (at most {@link #MAX_POOLED_BYTES}, on the
   * CPU) lives in a block that outlives its tensor. Closing the tensor returns the block to its graph's
   * pool, and the graph's next run writes that output into it (Executable.runWith with the block as
   * the output buffer), so a call in a loop makes no native allocation, no Cleaner registration and no
   * free. The guarantees stay those of Note [Holds]:
   * <ul>
   *   <li>A tensor's storage is never reused: each run wraps the block in a fresh Storage, and a closed
   *       storage stays closed, so a closed tensor still throws "was closed" and can never see the data
   *       of a later call.
   *   <li>A block returns to the pool only when its storage is freed, i.e. closed with no native call
   *       holding it; a block in the pool is referenced by the pool alone, a block in use by its
   *       storage alone.
   *   <li>The block, not the storage, is registered with the Cleaner (once, when the block is made): a
   *       tensor dropped without close drops its storage and with it the block, which the Cleaner then
   *       frees (counted by buffersFreedByGc, as before). Pooled blocks are counted in nativeBytes, not
   *       in liveBuffers, and are freed when their graph is closed or evicted, or its pool is full.
   * </ul>
   */
  static final long MAX_POOLED_BYTES = 64 << 10;

  /** A native buffer owned by a graph's output pool between the tensors that use it. */
  static final class Block {
    final AdjointEngine.Buffer buffer;
    final long bytes;
    final BlockPool pool;
    final java.util.concurrent.atomic.AtomicBoolean inUse = new java.util.concurrent.atomic.AtomicBoolean();
    private final Cleaner.Cleanable cleanable;

    Block(AdjointEngine.Buffer buffer, long bytes, BlockPool pool) {
      this.buffer = buffer;
      this.bytes = bytes;
      this.pool = pool;
      NativeMemory.add(bytes);
      this.cleanable = CLEANER.register(this, new Release(buffer, bytes, inUse));
    }

    /** Frees the native buffer now (the block is neither in use nor pooled any more). */
    void free() {
      Release.explicit.set(true);
      try {
        cleanable.clean();
      } finally {
        Release.explicit.set(false);
      }
    }
  }

  /** A few idle blocks for one output of one compiled graph; lock-free, allocation-free. */
  static final class BlockPool {
    private final java.util.concurrent.atomic.AtomicReferenceArray<Block> slots =
        new java.util.concurrent.atomic.AtomicReferenceArray<>(4);
    private volatile boolean closed;

    /** An idle block, or null (the run then lets the engine allocate the output). */
    Block take() {
      for (int i = 0; i < slots.length(); i++) {
        Block b = slots.get(i);
        if (b != null && slots.compareAndSet(i, b, null)) return b;
      }
      return null;
    }

    /** Takes back a block no storage uses any more; frees it when the pool is full or closed. */
    void give(Block b) {
      if (!closed)
        for (int i = 0; i < slots.length(); i++)
          if (slots.get(i) == null && slots.compareAndSet(i, null, b)) {
            if (closed) close(); // raced with close: whoever empties a slot frees its block
            return;
          }
      b.free();
    }

    /** Frees the idle blocks; blocks in use are freed when their storages are. Idempotent. */
    void close() {
      closed = true;
      for (int i = 0; i < slots.length(); i++) {
        Block b = slots.getAndSet(i, null);
        if (b != null) b.free();
      }
    }
  }
}
