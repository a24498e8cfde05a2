package dev.adjoint.engine;

import org.bytedeco.javacpp.FunctionPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.annotation.StdString;
import org.bytedeco.openblas.presets.openblas_nolapack;

/**
 * The JavaCPP mapping of {@code adjoint/engine.h}: one class configures the whole binding, as a JavaCPP
 * preset does. Inheriting the OpenBLAS preset makes JavaCPP preload {@code libopenblas.so.0} from the
 * openblas jar before the engine library, whose DT_NEEDED entry it then satisfies.
 *
 * <p>This is the engine's internal surface: the public Java API ({@code adjoint-api}) wraps it and never
 * exposes a JavaCPP type. Every native method may throw {@link RuntimeException} carrying the C++
 * {@code adjoint::Error} message (Note [Errors] in engine.h).
 *
 * <p>Buffers cross the boundary as pointers, never as Java arrays per call.
 */
@Properties(
    inherit = openblas_nolapack.class,
    value = @Platform(include = "adjoint/engine.h", link = "adjoint_engine", library = "jniadjoint"))
@Namespace("adjoint")
public class AdjointEngine {
  static {
    Loader.load();
  }

  private AdjointEngine() {}

  public static native int dtypeSize(int dtype);

  public static native int opCount();

  public static native @Cast("const char*") String opName(int op);

  public static native @StdString String version();

  public static native @StdString String blasInfo();

  public static native @StdString String mathInfo();

  public static native int blasThreads();

  public static native void setBlasThreads(int n);

  public static native void pinBlasThreads(int n);

  public static native @Cast("bool") boolean blasThreadsPinned();

  public static native void oneDnnExpect();

  public static native void oneDnnLoad(@StdString String path);

  public static native void oneDnnUnavailable(@StdString String why);

  public static native @StdString String gemmInfo();

  public static native int gemmMode();

  public static native void setGemmMode(int mode);

  public static native int gemmLibraryFor(long m, long n, long k, int dtype);

  public static native void rawSgemm(
      int library,
      @Cast("bool") boolean ta,
      @Cast("bool") boolean tb,
      long m,
      long n,
      long k,
      @Cast("const float*") Pointer a,
      @Cast("const float*") Pointer b,
      @Cast("float*") Pointer c,
      int threads);

  public static native int threads();

  public static native void setThreads(int n);

  public static native void loadBackend(@StdString String path);

  public static native @Cast("bool") boolean cudaLoaded();

  public static native int cudaDeviceCount();

  public static native @StdString String deviceName(int device);

  public static native @StdString String backendStatus();

  /** Returns every host block the CPU backend keeps for reuse to the system. */
  public static native void emptyCache();

  public static native void setOptimize(@Cast("bool") boolean on);

  public static native @Cast("bool") boolean optimize();

  /** Bytes of freed host memory the CPU backend keeps for reuse. */
  public static native long cachedBytes();

  public static native Buffer newBuffer(
      int device, int dtype, @Cast("const int64_t*") long[] shape, int rank);

  public static native void freeBuffer(Buffer buffer);

  // Collectives (Note [Collective seam] in adjoint/collective.h); dtype 0 Float32, 1 Float64; op 0 sum, 1 mean.
  public static native long collectiveOpen(
      @StdString String library, int rank, int size, long timeoutMs, @StdString String store,
      @StdString String prefix, @StdString String host);

  public static native void collectiveAllReduce(long group, Pointer data, long count, int dtype, int op, long tag);

  public static native void collectiveBroadcast(long group, Pointer data, long count, int dtype, int root, long tag);

  public static native void collectiveAllGather(
      long group, @Const Pointer in, Pointer out, long count, int dtype, long tag);

  public static native void collectiveBarrier(long group, long tag);

  public static native @StdString String collectiveDescribe(long group);

  public static native void collectiveClose(long group);

  public static native void setHostCallback(HostCallback callback);

  /** {@code adjoint::Buffer}: created by {@link #newBuffer}, freed by {@link #freeBuffer}. */
  @Name("Buffer")
  public static class Buffer extends Pointer {
    static {
      Loader.load();
    }

    public Buffer(Pointer p) {
      super(p);
    }

    /** The buffer at {@code address} (one {@link Executable#runWith} returned), without a native call. */
    public Buffer(long address) {
      this.address = address;
    }

    public native int device();

    public native int dtype();

    public native int rank();

    public native @Cast("int64_t") long dim(int i);

    public native @Cast("int64_t") long numel();

    public native @Cast("int64_t") long bytes();

    public native Pointer data();

    public native void copyFromHost(@Const Pointer src, @Cast("int64_t") long bytes);

    public native void copyToHost(Pointer dst, @Cast("int64_t") long bytes);

    public native void copyFrom(@Const @ByRef Buffer other);
  }

  /** {@code adjoint::Graph}: owned by Java; {@link #close()} deletes it. */
  @Name("Graph")
  public static class Graph extends Pointer {
    static {
      Loader.load();
    }

    public Graph() {
      allocate();
    }

    private native void allocate();

    public native int addInput(int dtype, @Cast("const int64_t*") long[] shape, int rank);

    public native int addNode(
        int op,
        @Const int[] inputs,
        int numInputs,
        @Cast("const int64_t*") long[] attrs,
        int numAttrs,
        double scalar);

    public native void addOutput(int node);

    public native void addUpdate(int inputIndex, int node);

    public native int numNodes();

    public native int numInputs();

    public native int numOutputs();

    public native int nodeDtype(int node);

    public native int nodeRank(int node);

    public native @Cast("int64_t") long nodeDim(int node, int axis);
  }

  /** {@code adjoint::Executable}: compiled once, run many times; owned by Java. */
  @Name("Executable")
  public static class Executable extends Pointer {
    static {
      Loader.load();
    }

    public Executable(@Const @ByRef Graph graph, int device) {
      allocate(graph, device);
    }

    private native void allocate(@Const @ByRef Graph graph, int device);

    /** Another instance sharing {@code prototype}'s compiled program, with its own run state. */
    public Executable(@Const @ByRef Executable prototype) {
      allocate(prototype);
    }

    private native void allocate(@Const @ByRef Executable prototype);

    public native int numInputs();

    public native int numOutputs();

    public native int outputDtype(int i);

    public native int outputRank(int i);

    public native @Cast("int64_t") long outputDim(int i, int axis);

    public native void setInput(int i, Buffer buffer);

    public native void setOutput(int i, Buffer buffer);

    public native void run();

    public native Buffer takeOutput(int i);

    /**
     * setInput for every input, run, and takeOutput for every output, in one native call: {@code io} is
     * the address of {@code numInputs() + numOutputs()} pointers, the inputs' buffers ({@link
     * Pointer#address()}) first; the outputs' addresses are written after them (wrap each with {@link
     * Buffer#Buffer(long)}; the caller owns them).
     */
    public native void runWith(@Cast("adjoint::Buffer**") long io);

    public native int numSteps();

    public native @Cast("int64_t") long arenaBytes();

    public native @Cast("int64_t") long runAllocations();

    public native @StdString String describe();
  }

  /** {@code adjoint::HostCallback}: the engine calls it for {@code callback} nodes. */
  public static class HostCallback extends FunctionPointer {
    static {
      Loader.load();
    }

    protected HostCallback() {
      allocate();
    }

    private native void allocate();

    public native int call(
        int callbackId, int numInputs, @Cast("void**") PointerPointer<?> inputs, Pointer output);
  }
}
