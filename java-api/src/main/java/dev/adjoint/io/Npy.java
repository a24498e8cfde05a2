package dev.adjoint.io;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format for one tensor: the magic {@code \x93NUMPY}, a version, a header length, a
 * Python-literal header {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} padded to 64
 * bytes, then the raw data. Writes version 1.0, little-endian, C order; reads versions 1.0 to 3.0 with
 * {@code <f4}, {@code <f8}, {@code <i4} (and their big-endian forms), C order only.
 *
 * <pre>{@code
 * Npy.save(Path.of("x.npy"), x);            // np.load("x.npy") in Python
 * Tensor back = Npy.load(Path.of("x.npy"));
 * }</pre>
 */
public final class Npy {
  private Npy() {}

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  /**
   * Writes {@code t} (Float32, Float64 or Int32; read back from its device) to {@code file} as {@code .npy}
   * version 1.0, through a temporary file and an atomic rename, creating missing folders; an I/O failure is an
   * {@link AdjointException} naming the file.
   */
  public static void save(Path file, Tensor t) {
    if (file == null || t == null) throw new AdjointException("npy: file and tensor must not be null");
    StringBuilder shape = new StringBuilder("(");
    long[] s = t.shape();
    for (int i = 0; i < s.length; i++) shape.append(s[i]).append(s.length == 1 ? "," : i + 1 < s.length ? ", " : "");
    shape.append(')');
    String descr = switch (t.dtype()) {
      case FLOAT32 -> "<f4";
      case FLOAT64 -> "<f8";
      case INT32 -> "<i4";
    };
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    int total = (10 + dict.length() + 1 + 63) / 64 * 64; // magic, version, u16 length, dict, '\n'
    StringBuilder h = new StringBuilder(dict);
    while (10 + h.length() + 1 < total) h.append(' ');
    h.append('\n');
    byte[] header = h.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] data = Safetensors.bytesOf(t);
    ByteBuffer b = ByteBuffer.allocate(10 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length).put(header).put(data);
    try {
      Path dir = file.toAbsolutePath().getParent();
      if (dir != null) Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
      Files.write(tmp, b.array());
      try { // a temp file is private (0600); a checkpoint gets the usual rw-r--r--
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new AdjointException("npy " + file + ": cannot write: " + e.getMessage(), e);
    }
  }

  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=]?)([fi])(\\d)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  /**
   * Reads a {@code .npy} file into a new CPU tensor of its dtype and shape; an unsupported dtype, Fortran
   * order, a truncated or malformed file is an {@link AdjointException} naming the file and the problem.
   */
  public static Tensor load(Path file) {
    if (file == null) throw new AdjointException("npy: file is null");
    byte[] all;
    try {
      long size = Files.size(file);
      if (size > Integer.MAX_VALUE - 8) throw new AdjointException("npy " + file + ": files above 2 GiB are not supported yet");
      all = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new AdjointException("npy " + file + ": cannot read: " + e.getMessage(), e);
    }
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    if (all.length < 10) throw corrupt(file, "shorter than the 10-byte preamble");
    for (int i = 0; i < MAGIC.length; i++) if (all[i] != MAGIC[i]) throw corrupt(file, "not a .npy file (bad magic)");
    int major = all[6];
    long headerLen;
    int start;
    if (major == 1) {
      headerLen = Short.toUnsignedInt(b.getShort(8));
      start = 10;
    } else if (major == 2 || major == 3) {
      if (all.length < 12) throw corrupt(file, "truncated preamble");
      headerLen = Integer.toUnsignedLong(b.getInt(8));
      start = 12;
    } else throw corrupt(file, "unsupported .npy version " + major);
    if (start + headerLen > all.length) throw corrupt(file, "the header runs past the end of the file");
    String header = new String(all, start, (int) headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
    if (!d.find() || !f.find() || !s.find()) throw corrupt(file, "cannot read the header " + header.trim());
    if (f.group(1).equals("True")) throw new AdjointException("npy " + file + ": Fortran-order arrays are not supported (save with C order)");
    String order = d.group(1), kind = d.group(2);
    int size = Integer.parseInt(d.group(3));
    DType dtype;
    if (kind.equals("f") && size == 4) dtype = DType.FLOAT32;
    else if (kind.equals("f") && size == 8) dtype = DType.FLOAT64;
    else if (kind.equals("i") && size == 4) dtype = DType.INT32;
    else throw new AdjointException("npy " + file + ": dtype " + kind + size + " is not supported (f4, f8, i4)");
    List<Long> dims = new ArrayList<>();
    for (String part : s.group(1).split(",")) {
      String p = part.trim();
      if (p.isEmpty()) continue;
      try {
        long v = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
        if (v < 0) throw corrupt(file, "negative dimension " + v);
        dims.add(v);
      } catch (NumberFormatException e) {
        throw corrupt(file, "bad shape (" + s.group(1) + ")");
      }
    }
    long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
    long numel = 1;
    try {
      for (long v : shape) numel = Math.multiplyExact(numel, v);
      long bytes = Math.multiplyExact(numel, (long) size);
      long dataStart = start + headerLen;
      if (all.length - dataStart != bytes)
        throw corrupt(file, dtype + " " + dims + " needs " + bytes + " data bytes, the file has " + (all.length - dataStart));
      ByteBuffer data = ByteBuffer.wrap(all, (int) dataStart, (int) bytes).slice()
          .order(order.equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
      return Safetensors.tensorOf(dtype, shape, data);
    } catch (ArithmeticException e) {
      throw corrupt(file, "shape " + dims + " overflows");
    }
  }

  static AdjointException corrupt(Path file, String what) {
    return new AdjointException("npy " + file + ": corrupt or truncated file: " + what);
  }
}
