package dev.adjoint.io;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "__metadata__": {...}}}), then
 * the raw little-endian data, offsets relative to its start. No maintained Java library reads it, so this is a
 * small, strict one: JSON through Gson, everything else checked here.
 *
 * <pre>{@code
 * Safetensors.save(Path.of("model.safetensors"), Map.of("w", w), Map.of("step", "100"));
 * Map<String, Tensor> back = Safetensors.load(Path.of("model.safetensors"));
 * }</pre>
 *
 * Writing goes to a temporary file in the same folder, then an atomic rename: a crash never leaves a
 * half-written checkpoint under the final name. Reading checks the whole file before creating any tensor:
 * a truncated or corrupt file is an {@link AdjointException} naming the file and the problem.
 */
public final class Safetensors {
  private Safetensors() {}

  /** The header may not be larger than this (as in the reference implementation). */
  static final long MAX_HEADER = 100L << 20;

  /**
   * A file's contents: tensors in file order, and its string metadata. The tensors are new CPU tensors
   * owned by the caller: closing the contents closes them all.
   *
   * <pre>{@code
   * try (Safetensors.Contents c = Safetensors.read(Path.of("run.safetensors"))) {
   *   Tensor w = c.tensors().get("model.layers.0.weight");
   *   String steps = c.metadata().get("adjoint.optimizer.steps");
   * }
   * }</pre>
   *
   * @param tensors every tensor of the file by name, in file order
   * @param metadata the {@code __metadata__} strings of the header (empty when there are none)
   */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) implements AutoCloseable {
    /** Closes every tensor of the contents. */
    @Override
    public void close() {
      tensors.values().forEach(Tensor::close);
    }
  }

  /** Writes {@code tensors} (in name order, as the reference writer does) and {@code metadata} to {@code file}. */
  public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
    if (file == null) throw new AdjointException("safetensors: file is null");
    if (tensors == null) throw new AdjointException("safetensors " + file + ": tensors are null");
    TreeMap<String, Tensor> sorted = new TreeMap<>();
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      if (e.getKey() == null || e.getKey().isEmpty()) throw new AdjointException("safetensors " + file + ": a tensor has an empty name");
      if (e.getKey().equals("__metadata__")) throw new AdjointException("safetensors " + file + ": '__metadata__' is reserved");
      if (e.getValue() == null) throw new AdjointException("safetensors " + file + ": tensor '" + e.getKey() + "' is null");
      sorted.put(e.getKey(), e.getValue());
    }
    JsonObject header = new JsonObject();
    if (metadata != null && !metadata.isEmpty()) {
      JsonObject meta = new JsonObject();
      new TreeMap<>(metadata).forEach(meta::addProperty);
      header.add("__metadata__", meta);
    }
    long offset = 0;
    List<byte[]> blobs = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
      Tensor t = e.getValue();
      byte[] data = bytesOf(t);
      JsonObject entry = new JsonObject();
      entry.addProperty("dtype", code(t.dtype()));
      JsonArray shape = new JsonArray();
      for (long d : t.shape()) shape.add(d);
      entry.add("shape", shape);
      JsonArray offsets = new JsonArray();
      offsets.add(offset);
      offsets.add(offset + data.length);
      entry.add("data_offsets", offsets);
      header.add(e.getKey(), entry);
      blobs.add(data);
      offset += data.length;
    }
    byte[] json = new GsonBuilder().disableHtmlEscaping().create().toJson(header).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8; // the data starts 8-byte aligned; the header is padded with spaces
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) head.put((byte) ' ');
    head.flip();
    Path tmp = null;
    try {
      Path dir = file.toAbsolutePath().getParent();
      if (dir != null) Files.createDirectories(dir);
      tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        while (head.hasRemaining()) ch.write(head);
        for (byte[] b : blobs) {
          ByteBuffer bb = ByteBuffer.wrap(b);
          while (bb.hasRemaining()) ch.write(bb);
        }
        ch.force(true);
      }
      try { // a temp file is private (0600); a checkpoint gets the usual rw-r--r--
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      tmp = null;
    } catch (IOException e) {
      throw new AdjointException("safetensors " + file + ": cannot write: " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort
        }
      }
    }
  }

  /** Writes {@code tensors} to {@code file} without metadata: {@link #save(Path, Map, Map)} with an empty map. */
  public static void save(Path file, Map<String, Tensor> tensors) {
    save(file, tensors, Map.of());
  }

  /** Reads every tensor of {@code file} (on the CPU), in file order. */
  public static Map<String, Tensor> load(Path file) {
    return read(file).tensors();
  }

  /** Reads tensors and metadata; the whole file is checked before any tensor is made. */
  public static Contents read(Path file) {
    if (file == null) throw new AdjointException("safetensors: file is null");
    ByteBuffer all;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) throw corrupt(file, "the file has " + size + " bytes, fewer than the 8-byte header length");
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      while (len.hasRemaining()) if (ch.read(len, len.position()) < 0) throw corrupt(file, "truncated");
      long n = len.flip().getLong();
      if (n < 2 || n > MAX_HEADER) throw corrupt(file, "header length " + n + " is not within [2, " + MAX_HEADER + "]");
      if (8 + n > size) throw corrupt(file, "header length " + n + " runs past the end of the " + size + "-byte file");
      if (size > Integer.MAX_VALUE) throw new AdjointException("safetensors " + file + ": files above 2 GiB are not supported yet (" + size + " bytes)");
      all = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
      while (all.hasRemaining()) if (ch.read(all) < 0) throw corrupt(file, "truncated while reading");
      all.flip();
    } catch (IOException e) {
      throw new AdjointException("safetensors " + file + ": cannot read: " + e.getMessage(), e);
    }
    long n = all.getLong(0);
    String json = new String(all.array(), 8, (int) n, StandardCharsets.UTF_8);
    JsonObject header;
    try {
      JsonElement parsed = JsonParser.parseString(json);
      if (!parsed.isJsonObject()) throw corrupt(file, "the header is not a JSON object");
      header = parsed.getAsJsonObject();
    } catch (JsonParseException | IllegalStateException e) {
      throw corrupt(file, "the header is not valid JSON (" + e.getMessage() + ")");
    }
    long dataStart = 8 + n, dataLength = all.limit() - dataStart;
    Map<String, String> metadata = new LinkedHashMap<>();
    record Slot(String name, DType dtype, long[] shape, long begin, long end) {}
    List<Slot> slots = new ArrayList<>();
    for (Map.Entry<String, JsonElement> e : header.entrySet()) {
      String name = e.getKey();
      if (name.equals("__metadata__")) {
        if (!e.getValue().isJsonObject()) throw corrupt(file, "__metadata__ is not an object");
        for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
          if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString())
            throw corrupt(file, "__metadata__ value '" + m.getKey() + "' is not a string");
          metadata.put(m.getKey(), m.getValue().getAsString());
        }
        continue;
      }
      try {
        JsonObject o = e.getValue().getAsJsonObject();
        DType dtype = dtypeOf(o.get("dtype").getAsString(), file, name);
        JsonArray sh = o.get("shape").getAsJsonArray();
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) shape[i] = sh.get(i).getAsLong();
        JsonArray off = o.get("data_offsets").getAsJsonArray();
        if (off.size() != 2) throw corrupt(file, "tensor '" + name + "': data_offsets must have two entries");
        long begin = off.get(0).getAsLong(), end = off.get(1).getAsLong();
        long numel = 1;
        for (long d : shape) {
          if (d < 0) throw corrupt(file, "tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
          numel = Math.multiplyExact(numel, d);
        }
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        if (begin < 0 || end < begin || end > dataLength)
          throw corrupt(file, "tensor '" + name + "': data_offsets [" + begin + ", " + end + "] outside the " + dataLength + " data bytes");
        if (end - begin != bytes)
          throw corrupt(file, "tensor '" + name + "': " + dtype + " " + Arrays.toString(shape) + " needs " + bytes + " bytes, data_offsets give " + (end - begin));
        slots.add(new Slot(name, dtype, shape, begin, end));
      } catch (AdjointException ae) {
        throw ae;
      } catch (RuntimeException re) { // missing fields, wrong JSON types, overflow
        throw corrupt(file, "tensor '" + name + "': malformed entry " + e.getValue() + " (" + re + ")");
      }
    }
    slots.sort(Comparator.comparingLong(Slot::begin));
    long expect = 0;
    for (Slot s : slots) {
      if (s.begin != expect) throw corrupt(file, "tensor '" + s.name + "' starts at " + s.begin + ", expected " + expect + " (overlap or hole)");
      expect = s.end;
    }
    if (expect != dataLength) throw corrupt(file, "the data section has " + dataLength + " bytes, the tensors cover " + expect);
    Map<String, Tensor> out = new LinkedHashMap<>();
    try {
      for (Slot s : slots) {
        ByteBuffer b = all.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.position((int) (dataStart + s.begin)).limit((int) (dataStart + s.end));
        out.put(s.name, tensorOf(s.dtype, s.shape, b.slice().order(ByteOrder.LITTLE_ENDIAN)));
      }
    } catch (RuntimeException e) {
      out.values().forEach(Tensor::close);
      throw e;
    }
    return new Contents(out, metadata);
  }

  static AdjointException corrupt(Path file, String what) {
    return new AdjointException("safetensors " + file + ": corrupt or truncated file: " + what);
  }

  static String code(DType d) {
    return switch (d) {
      case FLOAT32 -> "F32";
      case FLOAT64 -> "F64";
      case INT32 -> "I32";
    };
  }

  static DType dtypeOf(String code, Path file, String name) {
    return switch (code) {
      case "F32" -> DType.FLOAT32;
      case "F64" -> DType.FLOAT64;
      case "I32" -> DType.INT32;
      default -> throw new AdjointException(
          "safetensors " + file + ": tensor '" + name + "' has dtype " + code + ", which Adjoint does not support (F32, F64, I32)");
    };
  }

  /** Little-endian bytes of a tensor's values. */
  static byte[] bytesOf(Tensor t) {
    long bytes = Math.multiplyExact(t.numel(), (long) t.dtype().byteSize());
    if (bytes > Integer.MAX_VALUE - 8) throw new AdjointException("tensor " + t.describe() + " is too large to write (" + bytes + " bytes)");
    ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    switch (t.dtype()) {
      case FLOAT32 -> b.asFloatBuffer().put(t.toFloatArray());
      case FLOAT64 -> b.asDoubleBuffer().put(t.toDoubleArray());
      case INT32 -> b.asIntBuffer().put(t.toIntArray());
    }
    return b.array();
  }

  /** A CPU tensor from little-endian bytes. */
  static Tensor tensorOf(DType dtype, long[] shape, ByteBuffer b) {
    long numel = 1;
    for (long d : shape) numel = Math.multiplyExact(numel, d);
    int n = Math.toIntExact(numel);
    return switch (dtype) {
      case FLOAT32 -> {
        float[] v = new float[n];
        b.asFloatBuffer().get(v);
        yield Tensor.of(v, shape);
      }
      case FLOAT64 -> {
        double[] v = new double[n];
        b.asDoubleBuffer().get(v);
        yield Tensor.of(v, shape);
      }
      case INT32 -> {
        int[] v = new int[n];
        b.asIntBuffer().get(v);
        yield Tensor.of(v, shape);
      }
    };
  }
}
