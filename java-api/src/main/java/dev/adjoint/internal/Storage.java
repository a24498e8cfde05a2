package dev.adjoint.internal;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Device;
import dev.adjoint.engine.AdjointEngine;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
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
  private static final Cleaner CLEANER = Cleaner.create();
  public static final AtomicLong LIVE = new AtomicLong();
  public static final AtomicLong FREED_BY_GC = new AtomicLong();

  // state: the number of holds, plus CLOSED once closed, plus FREED once the buffer is released.
  private static final int CLOSED = 1 << 30, FREED = 1 << 29, HOLDS = FREED - 1;
  private final AtomicInteger state = new AtomicInteger();
  private final AdjointEngine.Buffer buffer;
  private final Cleaner.Cleanable cleanable;
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
    this.cleanable = CLEANER.register(this, new Release(buffer, bytes));
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
      int s = state.get();
      if ((s & CLOSED) != 0) throw closed();
      if ((s & HOLDS) == HOLDS) throw new AdjointException("tensor " + describe() + " is held by too many calls");
      if (state.compareAndSet(s, s + 1)) return buffer;
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
    int s = state.decrementAndGet();
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
    return (state.get() & CLOSED) != 0;
  }

  @Override
  public void close() {
    for (;;) {
      int s = state.get();
      if ((s & CLOSED) != 0) return;
      if (state.compareAndSet(s, s | CLOSED)) {
        if ((s & HOLDS) == 0) free();
        return;
      }
    }
  }

  private void free() {
    if (!state.compareAndSet(CLOSED, CLOSED | FREED)) return;
    Release.explicit.set(true);
    try {
      cleanable.clean();
    } finally {
      Release.explicit.set(false);
    }
  }

  private static final class Release implements Runnable {
    static final ThreadLocal<Boolean> explicit = ThreadLocal.withInitial(() -> false);
    private final AdjointEngine.Buffer buffer;
    private final long bytes;

    Release(AdjointEngine.Buffer buffer, long bytes) {
      this.buffer = buffer;
      this.bytes = bytes;
    }

    @Override
    public void run() {
      if (!explicit.get()) FREED_BY_GC.incrementAndGet();
      LIVE.decrementAndGet();
      AdjointEngine.freeBuffer(buffer);
      NativeMemory.subtract(bytes);
    }
  }
}
