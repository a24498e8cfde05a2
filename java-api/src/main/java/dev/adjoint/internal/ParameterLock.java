package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Note [Parameter consistency]: a run that reads parameters sees one consistent snapshot of all of
 * them, and a parameter update (Parameter.assign/set/moveTo, or a compiled optimizer step, which
 * writes its parameters in place at the end of its run) is atomic with respect to every run. One
 * process-wide read-write lock gives that: runs that read parameters share the read side; updates take
 * the write side, so they wait for the runs in flight and runs wait for them. The lock is reentrant,
 * so a host callback may call other cells on its own thread (the engine runs callbacks on the calling
 * thread). What it cannot do is update parameters while its thread is inside a run that reads them
 * (a read-to-write upgrade would deadlock): that is refused with an AdjointException. Runs that read
 * no parameter (plain eager ops, cells without parameters) take no lock.
 */
public final class ParameterLock {
  private ParameterLock() {}

  private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();

  public static void lockRead() {
    LOCK.readLock().lock();
  }

  public static void unlockRead() {
    LOCK.readLock().unlock();
  }

  static void lockWrite(String what) {
    if (LOCK.getReadHoldCount() > 0 && !LOCK.isWriteLockedByCurrentThread())
      throw new AdjointException(
          what + " updates parameters, but this thread is inside a run that reads parameters (a host"
              + " callback?): updating them there would change the values that run is reading");
    LOCK.writeLock().lock();
  }

  static void unlockWrite() {
    LOCK.writeLock().unlock();
  }

  static <T> T read(Supplier<T> body) {
    lockRead();
    try {
      return body.get();
    } finally {
      unlockRead();
    }
  }

  public static void write(String what, Runnable body) {
    lockWrite(what);
    try {
      body.run();
    } finally {
      unlockWrite();
    }
  }
}
