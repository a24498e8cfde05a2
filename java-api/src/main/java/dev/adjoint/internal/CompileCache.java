package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * A bounded, least-recently-used cache of compiled graphs by signature (one per Cell, one for eager
 * ops). Note [Compile once]: threads that miss on the same key at once compile it once: the first one
 * compiles, the others wait for its result (or its failure). Note [Eviction]: past the capacity the
 * least recently used compiled graph is removed and closed; a graph handed out by {@link #acquire} is
 * entered (counted as running) before the cache lock is released, so eviction only retires it and its
 * engine instances are freed when the last run in flight returns.
 */
public final class CompileCache<K> {
  private static final class Entry {
    Compiled value;
    Throwable failure;
    final Thread owner = Thread.currentThread();

    boolean done() {
      return value != null || failure != null;
    }
  }

  private final LinkedHashMap<K, Entry> map = new LinkedHashMap<>(16, 0.75f, true);
  private final Supplier<String> what;
  private final IntSupplier capacity;

  public CompileCache(Supplier<String> what, IntSupplier capacity) {
    this.what = what;
    this.capacity = capacity;
  }

  /** The compiled graph for {@code key}, compiling it once if needed; entered: run or leave it. */
  public Compiled acquire(K key, Supplier<Compiled> compile) {
    Entry e;
    boolean owner = false;
    synchronized (this) {
      for (;;) {
        e = map.get(key);
        if (e == null) {
          e = new Entry();
          map.put(key, e);
          owner = true;
          break;
        }
        if (e.value != null && e.value.tryEnter()) return e.value;
        if (e.failure != null || (e.value != null)) { // failed, or closed meanwhile: compile again
          map.remove(key);
          continue;
        }
        if (e.owner == Thread.currentThread())
          throw new AdjointException(
              what.get() + ": compiling this signature needs the same signature compiled first (does the cell"
                  + " call itself through a compiled call?)");
        try {
          wait();
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new AdjointException(what.get() + ": interrupted while another thread compiled this signature");
        }
      }
    }
    // owner: compile outside the lock
    Compiled c;
    try {
      c = compile.get();
    } catch (Throwable t) {
      synchronized (this) {
        e.failure = t;
        map.remove(key, e);
        notifyAll();
      }
      throw t;
    }
    List<Compiled> evicted = new ArrayList<>();
    synchronized (this) {
      e.value = c;
      c.tryEnter();
      notifyAll();
      int cap = Math.max(1, capacity.getAsInt());
      for (Iterator<Map.Entry<K, Entry>> it = map.entrySet().iterator(); map.size() > cap && it.hasNext(); ) {
        Entry old = it.next().getValue();
        if (old == e || !old.done()) continue;
        it.remove();
        if (old.value != null) evicted.add(old.value);
      }
    }
    for (Compiled old : evicted) old.close();
    return c;
  }

  public synchronized int size() {
    int n = 0;
    for (Entry e : map.values()) if (e.value != null) n++;
    return n;
  }

  /** Closes every cached graph (runs in flight finish first). */
  public void clear() {
    List<Compiled> all = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Entry> it = map.values().iterator(); it.hasNext(); ) {
        Entry e = it.next();
        if (!e.done()) continue;
        if (e.value != null) all.add(e.value);
        it.remove();
      }
    }
    for (Compiled c : all) c.close();
  }
}
