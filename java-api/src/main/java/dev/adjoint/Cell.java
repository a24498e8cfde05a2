package dev.adjoint;

import dev.adjoint.internal.BpropCall;
import dev.adjoint.internal.CompileCache;
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

  /** Runs the cell: compiled and cached outside a trace, inlined inside one. */
  public final Value call(Value... args) {
    if (args == null) throw new AdjointException(name() + ": call arguments are null");
    if (Trace.current() != null) return invoke(args);
    List<Tensor> flat = flatten(args);
    return compiledFor(args, flat).runEntered(flat.toArray(new Tensor[0]));
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
    if (device == null) { // no tensor arguments: run where the parameters live
      List<Parameter> params = allParams();
      device = params.isEmpty() ? Device.CPU : params.get(0).device();
    }
    key.append(device);
    final Device d = device;
    return cache.acquire(key.toString(), () -> compile(args, d));
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

  private List<Parameter> allParams() {
    Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    List<Parameter> out = new ArrayList<>();
    collect(this, seen, out);
    return out;
  }

  private static void collect(Cell cell, Set<Object> seen, List<Parameter> out) {
    if (!seen.add(cell)) return;
    List<Class<?>> chain = new ArrayList<>();
    for (Class<?> c = cell.getClass(); c != null && c != Cell.class; c = c.getSuperclass()) chain.add(0, c);
    for (Class<?> c : chain) {
      for (Field f : c.getDeclaredFields()) {
        if (Modifier.isStatic(f.getModifiers()) || f.isSynthetic()) continue;
        Object v;
        try {
          f.setAccessible(true);
          v = f.get(cell);
        } catch (ReflectiveOperationException | RuntimeException e) {
          continue; // inaccessible field (module rules): only explicit registration finds it
        }
        visit(v, seen, out);
      }
    }
    for (Parameter p : cell.registered) visit(p, seen, out);
  }

  private static void visit(Object v, Set<Object> seen, List<Parameter> out) {
    if (v instanceof Parameter p) {
      if (seen.add(p)) out.add(p);
    } else if (v instanceof Cell c) {
      collect(c, seen, out);
    } else if (v instanceof ParameterTuple pt) {
      for (Parameter p : pt) visit(p, seen, out);
    } else if (v instanceof Collection<?> coll) {
      for (Object o : coll) if (o instanceof Cell || o instanceof Parameter) visit(o, seen, out);
    }
  }

  // ------------------------------------------------------------------ lambdas

  /** A functional interface over tensors, the shape of {@link #construct}. */
  @FunctionalInterface
  public interface Fn {
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
