package dev.adjoint.internal;

import dev.adjoint.Adjoint;
import dev.adjoint.AdjointException;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Note [Native memory budget]: the garbage collector sees a tensor as a few dozen heap bytes whatever
 * its native size, so a loop that leaves its results to the GC would grow native memory without bound
 * before the heap ever asks for a collection. Every engine buffer owned by a Java tensor is counted
 * here. Past the budget an allocation first asks the JVM to collect (System.gc(), which runs the
 * Cleaners of unreachable tensors) and waits, with backoff, for the count to fall below the budget, as
 * the JDK does for direct ByteBuffers; if it does not, the allocation fails with an AdjointException
 * that says how much is live and what to do. Half-way to the budget a collection is requested
 * once per {@code budget / 4} bytes allocated, so a GC-only loop seldom waits at all.
 *
 * <p>The budget is {@code -Dadjoint.maxNativeMemory=} or {@code ADJOINT_MAX_NATIVE_MEMORY} (bytes, or
 * with a k/m/g suffix), else half the machine's physical memory, at least 1 GiB;
 * {@link Adjoint#setNativeMemoryLimit} changes it at run time. Intermediate values of a run live in
 * the engine's arena and are not counted; the engine's host cache is bounded on its own.
 */
public final class NativeMemory {
  private NativeMemory() {}

  private static final AtomicLong USED = new AtomicLong();
  private static final AtomicLong PEAK = new AtomicLong();
  private static final AtomicLong SINCE_GC = new AtomicLong();
  private static volatile long limit = defaultLimit();

  public static long used() {
    return USED.get();
  }

  public static long peak() {
    return PEAK.get();
  }

  public static long limit() {
    return limit;
  }

  public static void setLimit(long bytes) {
    if (bytes <= 0) throw new AdjointException("native memory limit must be positive, got " + bytes);
    limit = bytes;
  }

  static void add(long bytes) {
    long now = USED.addAndGet(bytes);
    if (now > PEAK.get()) PEAK.accumulateAndGet(now, Math::max);
  }

  static void subtract(long bytes) {
    USED.addAndGet(-bytes);
  }

  /** Called before an allocation of {@code bytes}: makes room under the budget or throws. */
  static void reserve(long bytes) {
    long lim = limit;
    if (bytes > lim)
      throw new AdjointException(
          "out of memory allocating " + bytes + " bytes: more than the native memory budget of " + lim
              + " bytes (raise it with -Dadjoint.maxNativeMemory= or Adjoint.setNativeMemoryLimit)");
    long used = USED.get();
    if (used + bytes > lim / 2 && SINCE_GC.addAndGet(bytes) > lim / 4) {
      SINCE_GC.set(0);
      System.gc(); // a request only; the Cleaner frees what it finds while we go on
    }
    if (used + bytes <= lim) return;
    long sleepMs = 1;
    for (int attempt = 0; attempt < 10; attempt++) {
      System.gc();
      if (USED.get() + bytes <= lim) return;
      try {
        Thread.sleep(sleepMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      if (USED.get() + bytes <= lim) return;
      sleepMs = Math.min(sleepMs * 2, 256);
    }
    throw new AdjointException(
        "out of memory allocating " + bytes + " bytes: " + USED.get() + " bytes of native memory in "
            + Storage.LIVE.get() + " live tensors, budget " + lim
            + " bytes; close() tensors you no longer need (try-with-resources), or raise the budget with"
            + " -Dadjoint.maxNativeMemory= or Adjoint.setNativeMemoryLimit");
  }

  private static long defaultLimit() {
    String s = System.getProperty("adjoint.maxNativeMemory");
    if (s == null) s = System.getenv("ADJOINT_MAX_NATIVE_MEMORY");
    if (s != null && !s.isBlank()) return parse(s.trim());
    long physical = 0;
    try {
      if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
        physical = os.getTotalMemorySize();
    } catch (Throwable ignored) {
      // no java.management / jdk.management: fall back to the floor below
    }
    return Math.max(1L << 30, physical / 2);
  }

  static long parse(String s) {
    long unit = 1;
    char last = Character.toLowerCase(s.charAt(s.length() - 1));
    if (last == 'k' || last == 'm' || last == 'g' || last == 't') {
      unit = switch (last) {
        case 'k' -> 1L << 10;
        case 'm' -> 1L << 20;
        case 'g' -> 1L << 30;
        default -> 1L << 40;
      };
      s = s.substring(0, s.length() - 1);
    }
    try {
      long v = Math.multiplyExact(Long.parseLong(s.trim()), unit);
      if (v <= 0) throw new NumberFormatException();
      return v;
    } catch (RuntimeException e) {
      throw new AdjointException("adjoint.maxNativeMemory: cannot read '" + s + "' as a positive size (e.g. 4g)");
    }
  }
}
