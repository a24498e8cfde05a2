package dev.adjoint;

import dev.adjoint.engine.AdjointEngine;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Ownership of one engine buffer. {@link #close()} frees it at once and is idempotent; use after close
 * throws IllegalStateException. A Cleaner frees buffers whose owner was dropped without close, and counts
 * them ({@link Adjoint#buffersFreedByGc()}), since heap pressure says nothing about native memory.
 */
final class Storage implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();
  static final AtomicLong LIVE = new AtomicLong();
  static final AtomicLong FREED_BY_GC = new AtomicLong();

  private final AtomicReference<AdjointEngine.Buffer> ref;
  private final Cleaner.Cleanable cleanable;
  final DType dtype;
  final long[] shape;
  final Device device;

  Storage(AdjointEngine.Buffer buffer) {
    this.ref = new AtomicReference<>(buffer);
    this.dtype = DType.ofCode(buffer.dtype());
    int rank = buffer.rank();
    this.shape = new long[rank];
    for (int i = 0; i < rank; i++) shape[i] = buffer.dim(i);
    this.device = Device.ofCode(buffer.device());
    this.cleanable = CLEANER.register(this, new Release(buffer));
    LIVE.incrementAndGet();
  }

  static Storage allocate(Device device, DType dtype, long[] shape) {
    Engine.requireDevice(device);
    return new Storage(
        Engine.call(() -> AdjointEngine.newBuffer(device.code, dtype.code, shape, shape.length)));
  }

  AdjointEngine.Buffer buffer() {
    AdjointEngine.Buffer b = ref.get();
    if (b == null) throw new IllegalStateException("Tensor " + dtype + " " + Format.shape(shape) + " released already");
    return b;
  }

  boolean isClosed() {
    return ref.get() == null;
  }

  @Override
  public void close() {
    if (ref.getAndSet(null) != null) {
      Release.explicit.set(true);
      try {
        cleanable.clean();
      } finally {
        Release.explicit.set(false);
      }
    }
  }

  private static final class Release implements Runnable {
    static final ThreadLocal<Boolean> explicit = ThreadLocal.withInitial(() -> false);
    private final AdjointEngine.Buffer buffer;

    Release(AdjointEngine.Buffer buffer) {
      this.buffer = buffer;
    }

    @Override
    public void run() {
      if (!explicit.get()) FREED_BY_GC.incrementAndGet();
      LIVE.decrementAndGet();
      AdjointEngine.freeBuffer(buffer);
    }
  }
}
