package dev.adjoint;

import dev.adjoint.internal.BpropCall;
import dev.adjoint.internal.CompileCache;
import dev.adjoint.internal.Storage;
import dev.adjoint.internal.Compiled;
import dev.adjoint.internal.Engine;
import dev.adjoint.internal.Feed;
import dev.adjoint.internal.Format;
import dev.adjoint.internal.Node;
import dev.adjoint.internal.Structure;
import dev.adjoint.internal.Trace;
import dev.adjoint.internal.ValueCell;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A network, or any function of tensors: override {@link #construct}. Calling a Cell outside a trace
 * traces {@code construct} once per input signature (shapes, dtypes, device, structure), compiles the
 * graph and caches it: later calls are one native run. Inside another Cell's trace it is inlined.
 *
 * <pre>{@code
 * class Net extends Cell {
 *   final Parameter z = parameter("z", Tensor.of(new float[] {1f}));
 *   @Override public Value construct(Tensor... in) {
 *     return Ops.matmul(Ops.mul(in[0], z), in[1]);
 *   }
 * }
 * Tensor out = new Net().call(x, y).asTensor();
 * }</pre>
 *
 * Parameters and sub-cells held in fields (or in Lists of them) are found automatically, superclass
 * fields first, in declaration order; {@link #parameter} also registers one explicitly. A Cell may
 * override {@link #bprop} to replace its derivative.
 */
public abstract class Cell implements AutoCloseable {
  private final List<Parameter> registered = new ArrayList<>();
  private final CompileCache<String> cache = new CompileCache<>(this::name, Adjoint::cellCacheCapacity);
  private volatile Boolean hasBprop;
  /** Training mode (the default) or evaluation mode: Note [Modes]. */
  private volatile boolean training = true;
  /** The modes of this cell's tree as last computed, and the {@link #MODE_EPOCH} they were computed at. */
  private volatile String modeKey = "";
  private volatile long modeEpoch = 0;
  /** Bumped by every train()/eval(): a cell recomputes its tree's modes only after one. */
  private static final java.util.concurrent.atomic.AtomicLong MODE_EPOCH = new java.util.concurrent.atomic.AtomicLong();
  /** Inlined cells on this thread's trace: a cell that calls itself without end is an error, not a StackOverflowError. */
  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);
  static final int MAX_DEPTH = 512;

  /** The computation. Arguments are concrete or traced tensors; return a Tensor or a Tuple. */
  public abstract Value construct(Tensor... in);

  /**
   * A custom derivative: given the inputs, the forward output and its cotangent (both shaped like the
   * output), return one gradient per input, each shaped like its input. It is traced like construct, so
   * it may use ops and stays differentiable for higher orders. Return null (the default) for none.
   */
  public Tuple bprop(Tensor[] inputs, Value out, Value dout) {
    return null;
  }

  /** The number of arguments construct takes, or -1 (the default) if it is not fixed. */
  protected int arity() {
    return -1;
  }

  /** Creates and registers a trainable parameter. */
  protected final Parameter parameter(String name, Tensor value) {
    Parameter p = new Parameter(name, value);
    registered.add(p);
    return p;
  }

  // ------------------------------------------------------------------ calling

  /**
   * Runs the cell: compiled and cached outside a trace, inlined inside one. A plain call is inference:
   * it compiles the forward graph only (no gradient graph is built unless the cell is wrapped in a
   * GradOperation, an Autodiff function or an optimizer's step).
   */
  public final Value call(Value... args) {
    if (args == null) throw new AdjointException(name() + ": call arguments are null");
    if (Trace.current() != null) return invoke(args);
    beforeCall();
    LastCall l = last;
    if (l != null && l.modes.equals(modeKey())) {
      Tensor[] tensors = l.match(args);
      if (tensors != null && l.compiled.tryEnter()) {
        CompileCache.touch(l.compiled);
        return l.compiled.runEntered(tensors);
      }
    }
    List<Tensor> flat = flatten(args);
    Tensor[] tensors = flat.toArray(new Tensor[0]);
    Compiled c = compiledFor(args, flat);
    last = LastCall.of(args, tensors, c, modeKey());
    return c.runEntered(tensors);
  }

  /**
   * Note [Last signature]: a call's cache key is a string of its argument structure, dtypes, shapes and
   * device; building and hashing it was about half of the Java side of a small call. A cell called again
   * with tensors of the same dtypes, shapes and device as its last call (the training-loop case) reuses
   * that call's compiled graph after a check of those fields and of the tree's modes (Note [Modes]), without
   * the key; the graph is entered as the cache would enter it (a graph
   * evicted or closed meanwhile refuses, and the call takes the cache path).
   */
  private volatile LastCall last;

  private static final class LastCall {
    private static final Object TENSOR = new Object();
    final Object[] skeleton; // per argument: TENSOR, or an Object[] of its tuple's items' skeletons
    final DType[] dtypes; // per leaf, in flattening order
    final long[][] shapes;
    final Device device;
    final Compiled compiled;
    final String modes; // the tree's modes it was compiled for (Note [Modes]), part of the signature

    private LastCall(Object[] skeleton, DType[] dtypes, long[][] shapes, Device device, Compiled compiled, String modes) {
      this.modes = modes;
      this.skeleton = skeleton;
      this.dtypes = dtypes;
      this.shapes = shapes;
      this.device = device;
      this.compiled = compiled;
    }

    /** The signature of {@code args} (leaves {@code tensors}, all concrete, at least one), else null. */
    static LastCall of(Value[] args, Tensor[] tensors, Compiled c, String modes) {
      if (tensors.length == 0) return null;
      Object[] sk = new Object[args.length];
      for (int i = 0; i < args.length; i++) sk[i] = skeleton(args[i]);
      DType[] dt = new DType[tensors.length];
      long[][] sh = new long[tensors.length][];
      for (int i = 0; i < tensors.length; i++) {
        if (tensors[i].isSymbolic()) return null;
        dt[i] = tensors[i].dtype();
        sh[i] = tensors[i].shape();
      }
      return new LastCall(sk, dt, sh, tensors[0].storage().device, c, modes);
    }

    private static Object skeleton(Value v) {
      if (v instanceof Tensor) return TENSOR;
      Tuple t = (Tuple) v;
      Object[] items = new Object[t.size()];
      for (int i = 0; i < items.length; i++) items[i] = skeleton(t.get(i));
      return items;
    }

    /** The leaves of {@code args} when they match this signature, else null (the cache decides). */
    Tensor[] match(Value[] args) {
      if (args.length != skeleton.length) return null;
      Tensor[] out = new Tensor[dtypes.length];
      int n = 0;
      for (int i = 0; i < args.length; i++) if ((n = collect(args[i], skeleton[i], out, n)) < 0) return null;
      return n == out.length ? out : null;
    }

    /** Puts the leaves of {@code v} at {@code out[n...]}; the next position, or -1 on any mismatch. */
    private int collect(Value v, Object sk, Tensor[] out, int n) {
      if (sk == TENSOR) {
        if (!(v instanceof Tensor t) || n >= out.length || t.isSymbolic() || t.dtype() != dtypes[n]
            || !Arrays.equals(t.shapeRef(), shapes[n]))
          return -1;
        Storage st = t.storage;
        if (st == null || !st.device.equals(device)) return -1;
        out[n] = t;
        return n + 1;
      }
      Object[] items = (Object[]) sk;
      if (!(v instanceof Tuple tu) || tu.size() != items.length) return -1;
      for (int i = 0; i < items.length && n >= 0; i++) n = collect(tu.get(i), items[i], out, n);
      return n;
    }
  }

  /**
   * What the engine runs for these arguments, one line per step after all passes (compiling if needed):
   * {@code System.out.println(new GradOperation().of(net).explain(x, y));}
   */
  public final String explain(Value... args) {
    if (Trace.current() != null) throw new AdjointException(name() + ".explain cannot be called while tracing");
    Compiled c = compiledFor(args, flatten(args));
    try {
      return c.describe();
    } finally {
      c.leave();
    }
  }

  private List<Tensor> flatten(Value[] args) {
    List<Tensor> flat = new ArrayList<>();
    for (Value a : args) {
      if (a == null) throw new AdjointException(name() + ": call argument is null");
      flat.addAll(a.leaves());
    }
    return flat;
  }

  /** The compiled graph for this call signature (args, and their leaves {@code flat}), entered. */
  private Compiled compiledFor(Value[] args, List<Tensor> flat) {
    Device device = null;
    StringBuilder key = new StringBuilder();
    for (Value a : args) key.append(Structure.of(a)).append('|');
    for (int i = 0; i < flat.size(); i++) {
      Tensor t = flat.get(i);
      if (t.isSymbolic())
        throw new AdjointException(name() + ": argument " + i + " is a traced value used after its trace ended");
      Device d = t.storage().device;
      if (device == null) device = d;
      else if (!d.equals(device))
        throw new AdjointException(name() + ": argument " + i + " is on " + d + " but argument 0 is on " + device);
      key.append(t.dtype()).append(Arrays.toString(t.shape())).append(';');
    }
    key.append(modeKey());
    if (device == null) { // no tensor arguments: run where the parameters live
      List<Parameter> params = allParams();
      device = params.isEmpty() ? Device.CPU : params.get(0).device();
    }
    key.append(device);
    final Device d = device;
    return cache.acquire(key.toString(), () -> compile(args, d));
  }

  // ------------------------------------------------------------------ modes

  /**
   * Note [Modes]: every cell is in training mode (the default) or evaluation mode; {@link #train()} and
   * {@link #eval()} set the mode of a cell and of every cell it holds (found as parameters are: Note
   * [Parameter discovery]), and a cell's {@code construct} may read {@link #isTraining()} while it is
   * traced ({@code nn.Dropout} is the identity in evaluation mode). Since the mode changes what is
   * traced, the modes of a cell's whole tree are part of the key of its compiled graphs: after a mode
   * change the next call compiles (or finds) the graph of the new modes, never a stale one, and
   * switching back reuses the graph already compiled. The key is recomputed only after some train() or
   * eval() call, so a model whose modes never change pays nothing for it.
   */
  public final Cell train() {
    return train(true);
  }

  /** Evaluation mode for this cell and every cell it holds (Note [Modes]): dropout becomes the identity. */
  public final Cell eval() {
    return train(false);
  }

  /** Training ({@code true}) or evaluation mode for this cell and every cell it holds (Note [Modes]). */
  public final Cell train(boolean on) {
    walkCells(this, c -> c.training = on);
    MODE_EPOCH.incrementAndGet();
    return this;
  }

  /** Whether this cell is in training mode (the default; Note [Modes]). */
  public final boolean isTraining() {
    return training;
  }

  /** The modes of every cell in this cell's tree, "" when all train (the key part of Note [Modes]). */
  private String modeKey() {
    long epoch = MODE_EPOCH.get();
    if (epoch == 0) return "";
    if (modeEpoch != epoch) {
      StringBuilder b = new StringBuilder();
      boolean[] anyEval = {false};
      walkCells(this, c -> {
        b.append(c.training ? 'T' : 'E');
        anyEval[0] |= !c.training;
      });
      modeKey = anyEval[0] ? "|mode " + b : "";
      modeEpoch = epoch;
    }
    return modeKey;
  }

  /** Convenience for the common case of tensor arguments and a tensor result. */
  public final Tensor apply(Tensor... args) {
    return call(args).asTensor();
  }

  private Compiled compile(Value[] args, Device device) {
    Trace trace = Trace.begin(device);
    try {
      int[] counter = {0};
      Value[] symbolic = new Value[args.length];
      for (int i = 0; i < args.length; i++)
        symbolic[i] =
            Structure.map(
                args[i],
                t -> trace.input(t.dtype(), t.shape(), new Feed.Arg(counter[0]++)).tensor());
      Value out = invoke(symbolic);
      if (arity() < 0 && checksUnusedArguments()) checkArgumentsUsed(trace, out);
      trace.close();
      return Compiled.compile(trace, out, name());
    } catch (StackOverflowError e) {
      trace.release();
      throw new AdjointException(
          name() + ": stack overflow while tracing construct (does a cell call itself without end?)", e);
    } catch (Throwable e) {
      // Any failure (an AssertionError, a StackOverflowError or a sneaky checked exception from user
      // code included) must end the trace, or the thread would keep recording every later op into a
      // dead graph.
      trace.release();
      throw e;
    }
  }

  /**
   * Note [Unused arguments]: Java cannot see which elements of {@code in} construct reads, so an extra
   * call argument would otherwise be silently ignored. A cell without a declared arity() whose traced
   * graph never reads a call argument is therefore refused, naming the argument; a cell that ignores
   * arguments on purpose declares its arity (override arity(), or {@link #of(int, Fn)}).
   */
  private void checkArgumentsUsed(Trace trace, Value out) {
    java.util.Set<Node> used = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Node n : trace.nodes) for (Node i : n.inputs) used.add(i);
    for (Tensor leaf : out.leaves()) if (leaf.isSymbolic()) used.add(leaf.node());
    for (Parameter p : trace.updated) used.add(trace.nodeOf(p));
    for (Node n : trace.inputNodes)
      if (n.payload instanceof Feed.Arg a && !used.contains(n))
        throw new AdjointException(
            name() + ": argument " + a.index() + " " + Format.shape(n.shape) + " is never used by construct"
                + " (an extra call argument?); a cell that ignores arguments on purpose overrides arity()");
  }

  /**
   * Runs on the calling thread before every top-level (compiled) call, never while tracing: a training
   * step uses it to set the run's learning rate from its schedule. Does nothing by default.
   */
  protected void beforeCall() {}

  /**
   * Whether a call from outside a trace checks that construct reads every argument (Note [Unused
   * arguments]). A wrapper cell that hands its arguments on to another cell (an optimizer's step, a
   * gradient) returns false: the cell it calls is inlined, and decides for itself what it reads.
   */
  protected boolean checksUnusedArguments() {
    return true;
  }

  /** Number of graphs compiled for this cell and still cached (one per input signature, bounded). */
  public final int compiledSignatures() {
    return cache.size();
  }

  /**
   * Frees every graph compiled for this cell (runs in flight finish first). The cell stays usable: a
   * later call compiles again. Parameters are not closed: they may be shared with other cells.
   */
  @Override
  public void close() {
    last = null;
    cache.clear();
  }

  /** Inside a trace: construct, wrapped in the custom-derivative marker when bprop is overridden. */
  private Value invoke(Value[] args) {
    if (arity() >= 0 && args.length != arity())
      throw new AdjointException(name() + " takes " + arity() + " arguments, got " + args.length);
    int[] depth = DEPTH.get();
    if (depth[0] >= MAX_DEPTH)
      throw new AdjointException(
          name() + ": cells nested " + MAX_DEPTH + " deep while tracing (does " + name() + " call itself?)");
    depth[0]++;
    try {
      if (hasCustomBprop()) return BpropCall.wrap(this, args);
      return runConstruct(args);
    } finally {
      depth[0]--;
    }
  }

  /** Calls construct; a {@link ValueCell} (GradOperation's cells) takes Tuple arguments as they are. */
  Value runConstruct(Value[] args) {
    if (this instanceof ValueCell v) {
      Value out = v.constructValues(args);
      if (out == null) throw new AdjointException(name() + ".construct returned null");
      return out;
    }
    Tensor[] tensors = new Tensor[args.length];
    for (int i = 0; i < args.length; i++) {
      if (!(args[i] instanceof Tensor t))
        throw new AdjointException(name() + ": argument " + i + " is a Tuple; construct takes tensors");
      tensors[i] = t;
    }
    try {
      Value out = construct(tensors);
      if (out == null) throw new AdjointException(name() + ".construct returned null");
      return out;
    } catch (ArrayIndexOutOfBoundsException e) {
      throw new AdjointException(
          name() + ".construct failed with " + args.length + " argument(s): " + e.getMessage()
              + " (wrong number of call arguments?)",
          e);
    }
  }

  private boolean hasCustomBprop() {
    Boolean b = hasBprop;
    if (b == null) {
      try {
        b = getClass().getMethod("bprop", Tensor[].class, Value.class, Value.class).getDeclaringClass() != Cell.class;
      } catch (NoSuchMethodException e) {
        b = false;
      }
      hasBprop = b;
    }
    return b;
  }

  /** A readable name for messages: the class's simple name. */
  public String name() {
    String n = getClass().getSimpleName();
    return n.isEmpty() ? getClass().getName() : n;
  }

  // ------------------------------------------------------------------ parameters

  /** Trainable parameters of this cell and its sub-cells, in a stable order. */
  public final ParameterTuple trainableParams() {
    List<Parameter> out = new ArrayList<>();
    for (Parameter p : allParams()) if (p.requiresGrad()) out.add(p);
    return new ParameterTuple(out);
  }

  /**
   * Moves every parameter of this cell and its sub-cells to {@code device}; graphs compiled for the
   * old device stay cached and reject the moved parameters with a clear error.
   */
  public final Cell to(Device device) {
    Engine.requireDevice(device);
    for (Parameter p : allParams()) p.moveTo(device);
    return this;
  }

  /** All parameters, trainable or not. */
  public final ParameterTuple parameters() {
    return new ParameterTuple(allParams());
  }

  /**
   * Every parameter with its hierarchical name, in discovery order: sub-cells add the name of the field
   * (or the key given to {@link #register}) that holds them, list and array elements their index, map
   * entries their key, and a parameter ends the path with its own name, as in {@code layers.0.weight}.
   * Two different parameters with one name are an error naming it (checkpoints key on these names).
   *
   * <p>Note [Parameter discovery]: parameters are found through fields (superclass fields first, in
   * declaration order), explicit registration ({@link #parameter}, {@link #register}), lists, arrays and
   * maps of cells or parameters, and the variables captured by anonymous cells and lambdas (so
   * {@code Cell.of(in -> loss(model.apply(in[0])))} finds {@code model}'s parameters). A field the module
   * system forbids reading is skipped; register what lives there.
   */
  public final Map<String, Parameter> namedParameters() {
    Map<String, Parameter> named = new java.util.LinkedHashMap<>();
    Map<Parameter, String> nameOf = new IdentityHashMap<>();
    walk(this, "", Collections.newSetFromMap(new IdentityHashMap<>()), (path, p) -> {
      if (nameOf.containsKey(p)) return;
      Parameter other = named.get(path);
      if (other != null)
        throw new AdjointException(
            name() + ": two different parameters are both named '" + path + "' (" + other.describe() + " and "
                + p.describe() + "); give them distinct names, or register their cells under distinct names");
      named.put(path, p);
      nameOf.put(p, path);
    });
    return named;
  }

  /**
   * Registers a sub-cell under {@code name}, for cells held where fields cannot see them; returns it.
   * Its parameters are then named {@code name.<param>}.
   */
  protected final <C extends Cell> C register(String name, C cell) {
    if (name == null || name.isEmpty() || name.contains(".")) throw new AdjointException(name() + ".register: name must be non-empty without dots, got '" + name + "'");
    if (cell == null) throw new AdjointException(name() + ".register('" + name + "'): cell is null");
    if (cell == this) throw new AdjointException(name() + ".register('" + name + "'): a cell cannot contain itself");
    registeredCells.put(name, cell);
    return cell;
  }

  private final Map<String, Cell> registeredCells = new java.util.LinkedHashMap<>();

  private List<Parameter> allParams() {
    List<Parameter> out = new ArrayList<>();
    Set<Parameter> added = Collections.newSetFromMap(new IdentityHashMap<>());
    walk(this, "", Collections.newSetFromMap(new IdentityHashMap<>()), (path, p) -> {
      if (added.add(p)) out.add(p);
    });
    return out;
  }

  private interface Visitor {
    void parameter(String path, Parameter p);

    /** Each cell of the tree, once, before its parameters. */
    default void cell(Cell c) {}
  }

  /** Calls {@code f} on this cell and every cell it holds, each once, in discovery order. */
  private static void walkCells(Cell root, java.util.function.Consumer<Cell> f) {
    walk(root, "", Collections.newSetFromMap(new IdentityHashMap<>()), new Visitor() {
      @Override
      public void parameter(String path, Parameter p) {}

      @Override
      public void cell(Cell c) {
        f.accept(c);
      }
    });
  }

  private static String join(String prefix, String segment) {
    if (segment.isEmpty()) return prefix;
    return prefix.isEmpty() ? segment : prefix + "." + segment;
  }

  private static void walk(Cell cell, String prefix, Set<Object> seen, Visitor v) {
    if (!seen.add(cell)) return;
    v.cell(cell);
    List<Class<?>> chain = new ArrayList<>();
    for (Class<?> c = cell.getClass(); c != null && c != Cell.class; c = c.getSuperclass()) chain.add(0, c);
    for (Class<?> c : chain) fields(cell, c, prefix, seen, v);
    for (Parameter p : cell.registered) v.parameter(join(prefix, p.name()), p);
    for (Map.Entry<String, Cell> e : cell.registeredCells.entrySet()) walk(e.getValue(), join(prefix, e.getKey()), seen, v);
  }

  /** The fields of {@code owner} declared by {@code c}; synthetic captures (val$x, arg$1) count. */
  private static void fields(Object owner, Class<?> c, String prefix, Set<Object> seen, Visitor v) {
    for (Field f : c.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) continue;
      Class<?> t = f.getType();
      if (t.isPrimitive() || t == String.class) continue;
      Object value;
      try {
        f.setAccessible(true);
        value = f.get(owner);
      } catch (ReflectiveOperationException | RuntimeException e) {
        continue; // inaccessible field (module rules): only explicit registration finds it
      }
      String n = f.getName();
      // The enclosing instance (this$0) is not part of a cell: an inner cell of a Cell must not own the
      // outer cell's parameters. Captures of anonymous classes are val$name, of lambdas arg$1.
      if (n.startsWith("this$")) continue;
      String segment = n.startsWith("val$") ? n.substring(4) : n.startsWith("arg$") ? "" : n;
      visit(value, join(prefix, f.isSynthetic() || c.isSynthetic() || isHidden(c) ? segment : n), seen, v);
    }
  }

  private static boolean isHidden(Class<?> c) {
    return c.isHidden() || c.getName().contains("$$Lambda");
  }

  /** An element of a list, array or map: a parameter there is named by its index or key. */
  private static void element(Object o, String path, Set<Object> seen, Visitor v) {
    if (o instanceof Parameter p) v.parameter(path, p);
    else visit(o, path, seen, v);
  }

  private static void visit(Object o, String path, Set<Object> seen, Visitor v) {
    if (o == null) return;
    if (o instanceof Parameter p) {
      // a parameter held in a field ends the path with its own name
      int dot = path.lastIndexOf('.');
      String parent = dot < 0 ? "" : path.substring(0, dot);
      v.parameter(join(parent, p.name()), p);
    } else if (o instanceof Cell c) {
      walk(c, path, seen, v);
    } else if (o instanceof ParameterTuple pt) {
      for (Parameter p : pt) visit(p, path + ".x", seen, v);
    } else if (o instanceof java.util.List<?> list) {
      if (!seen.add(o)) return;
      for (int i = 0; i < list.size(); i++) element(list.get(i), join(path, Integer.toString(i)), seen, v);
    } else if (o instanceof Map<?, ?> map) {
      if (!seen.add(o)) return;
      for (Map.Entry<?, ?> e : map.entrySet()) element(e.getValue(), join(path, String.valueOf(e.getKey())), seen, v);
    } else if (o instanceof Collection<?> coll) {
      if (!seen.add(o)) return;
      int i = 0;
      for (Object x : coll) element(x, join(path, Integer.toString(i++)), seen, v);
    } else if (o instanceof Object[] arr) {
      if (!seen.add(o)) return;
      for (int i = 0; i < arr.length; i++) element(arr[i], join(path, Integer.toString(i)), seen, v);
    } else if (isHidden(o.getClass()) || o instanceof Fn) {
      // a lambda or a function object: its captured variables
      if (!seen.add(o)) return;
      for (Class<?> c = o.getClass(); c != null && c != Object.class; c = c.getSuperclass()) fields(o, c, path, seen, v);
    }
  }

  // ------------------------------------------------------------------ lambdas

  /**
   * A functional interface over tensors, the shape of {@link #construct}.
   *
   * <pre>{@code
   * Cell.Fn f = in -> Ops.mul(Ops.sin(in[0]), in[1]);
   * Tensor y = Cell.of(f).apply(x, w);                  // compiled once per signature
   * }</pre>
   */
  @FunctionalInterface
  public interface Fn {
    /** Computes the value from {@code in}, with ops (it is traced like {@link Cell#construct}). */
    Value apply(Tensor... in);
  }

  /**
   * A cell around a function of exactly {@code arity} arguments, some of which it may ignore (a plain
   * {@link #of(Fn)} cell refuses a call with an argument it never reads: Note [Unused arguments]).
   */
  public static Cell of(int arity, Fn fn) {
    if (fn == null) throw new AdjointException("Cell.of: function is null");
    if (arity < 0) throw new AdjointException("Cell.of: arity must be >= 0, got " + arity);
    return new Cell() {
      @Override
      public Value construct(Tensor... in) {
        return fn.apply(in);
      }

      @Override
      protected int arity() {
        return arity;
      }

      @Override
      public String name() {
        return "Cell.of(lambda)";
      }
    };
  }

  /** A cell around a function: {@code Cell.of(in -> Ops.sin(in[0]))}. */
  public static Cell of(Fn fn) {
    if (fn == null) throw new AdjointException("Cell.of: function is null");
    return new Cell() {
      @Override
      public Value construct(Tensor... in) {
        return fn.apply(in);
      }

      @Override
      public String name() {
        return "Cell.of(lambda)";
      }
    };
  }
}
