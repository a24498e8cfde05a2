package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * A bounded, least-recently-used cache of compiled graphs by signature (one per Cell, one for eager
 * ops). A hit is lock-free (a ConcurrentHashMap read, a use stamp, entering the graph); misses and
 * eviction take this cache's lock. Note [Compile once]: threads that miss on the same key at once
 * compile it once: the first one compiles, the others wait for its result (or its failure). Note
 * [Eviction]: past the capacity the least recently used compiled graph is removed and closed; a graph
 * handed out by {@link #acquire} is entered (counted as running) first, so eviction only retires it and
 * its engine instances are freed when the last run in flight returns.
 */
public final class CompileCache<K> {
  private static final class Entry {
    volatile Compiled value;
    volatile Throwable failure;
    /** Last use, for LRU: a racy, monotone-enough stamp (exact order does not matter). */
    volatile long lastUse;
    final Thread owner = Thread.currentThread();

    /** The later of this entry's stamp and its graph's (a call that bypassed the cache stamps the graph). */
    long recency() {
      Compiled c = value;
      return c == null ? lastUse : Math.max(lastUse, c.lastUse);
    }

    boolean done() {
      return value != null || failure != null;
    }
  }

  private static long tick; // racy on purpose: only a recency hint

  private final ConcurrentHashMap<K, Entry> map = new ConcurrentHashMap<>();
  private final Supplier<String> what;
  private final IntSupplier capacity;

  public CompileCache(Supplier<String> what, IntSupplier capacity) {
    this.what = what;
    this.capacity = capacity;
  }

  /** The compiled graph for {@code key}, compiling it once if needed; entered: run or leave it. */
  public Compiled acquire(K key, Supplier<Compiled> compile) {
    Entry hit = map.get(key);
    if (hit != null) {
      Compiled c = hit.value;
      if (c != null && c.tryEnter()) {
        hit.lastUse = ++tick;
        return c;
      }
    }
    return acquireSlow(key, compile);
  }

  private Compiled acquireSlow(K key, Supplier<Compiled> compile) {
    Entry e;
    synchronized (this) {
      for (;;) {
        e = map.get(key);
        if (e == null) {
          e = new Entry();
          map.put(key, e);
          break; // this thread compiles
        }
        Compiled c = e.value;
        if (c != null && c.tryEnter()) {
          e.lastUse = ++tick;
          return c;
        }
        if (e.done()) { // failed, or closed meanwhile: compile again
          map.remove(key, e);
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
      c.tryEnter();
      e.lastUse = ++tick;
      e.value = c;
      notifyAll();
      int cap = Math.max(1, capacity.getAsInt());
      while (map.size() > cap) {
        Map.Entry<K, Entry> oldest = null;
        for (Map.Entry<K, Entry> m : map.entrySet()) {
          Entry x = m.getValue();
          if (x == e || !x.done()) continue;
          if (oldest == null || x.recency() < oldest.getValue().recency()) oldest = m;
        }
        if (oldest == null) break;
        map.remove(oldest.getKey(), oldest.getValue());
        if (oldest.getValue().value != null) evicted.add(oldest.getValue().value);
      }
    }
    for (Compiled old : evicted) old.close();
    return c;
  }

  /** Stamps a graph used without {@link #acquire} (Note [Last signature] in Cell), for LRU eviction. */
  public static void touch(Compiled c) {
    c.lastUse = ++tick;
  }

  public int size() {
    int n = 0;
    for (Entry e : map.values()) if (e.value != null) n++;
    return n;
  }

  /** Closes every cached graph (runs in flight finish first). */
  public void clear() {
    List<Compiled> all = new ArrayList<>();
    synchronized (this) {
      for (Map.Entry<K, Entry> m : map.entrySet()) {
        Entry e = m.getValue();
        if (!e.done()) continue;
        if (e.value != null) all.add(e.value);
        map.remove(m.getKey(), e);
      }
    }
    for (Compiled c : all) c.close();
  }
}
