package dev.adjoint.tests;

import static dev.adjoint.tests.ErrorsTest.mentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Tensor;
import dev.adjoint.io.Npy;
import dev.adjoint.io.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** safetensors and .npy: byte-exact fixtures (as the reference writers lay them out), round trips, corrupt files. */
class IoTest {
  @TempDir Path dir;

  /** {"a": F32 [2] = [1, -2.5], "b": I32 [] = 7}, laid out as the reference implementation writes it. */
  static final String SAFETENSORS_FIXTURE =
      "70000000000000007b2261223a7b226474797065223a22463332222c227368617065223a5b325d2c22646174615f6f666673657473223a5b302c385d7d2c2262223a7b226474797065223a22493332222c227368617065223a5b5d2c22646174615f6f666673657473223a5b382c31325d7d7d20202020200000803f000020c007000000";

  /** np.save of np.array([[0.5], [-1.0]]) (float64, C order), NumPy's 64-byte-aligned header. */
  static final String NPY_FIXTURE =
      "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2031292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000e03f000000000000f0bf";

  @Test
  void safetensorsWritesAndReadsTheReferenceBytes() throws Exception {
    Path f = dir.resolve("fixture.safetensors");
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("b", Tensor.of(new int[] {7}, new long[0]));
    m.put("a", Tensor.of(new float[] {1, -2.5f}, 2));
    Safetensors.save(f, m);
    assertEquals(SAFETENSORS_FIXTURE, HexFormat.of().formatHex(Files.readAllBytes(f)));
    Files.write(f, HexFormat.of().parseHex(SAFETENSORS_FIXTURE));
    Map<String, Tensor> back = Safetensors.load(f);
    assertEquals(java.util.List.of("a", "b"), java.util.List.copyOf(back.keySet()));
    assertArrayEquals(new float[] {1, -2.5f}, back.get("a").toFloatArray());
    assertEquals(0, back.get("b").rank());
    assertArrayEquals(new int[] {7}, back.get("b").toIntArray());
  }

  @Test
  void safetensorsRoundTripWithMetadataAndEveryDtype() {
    Path f = dir.resolve("m.safetensors");
    Random r = new Random(3);
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("layers.0.weight", Tensor.uniform(r, DType.FLOAT32, -1, 1, 5, 3));
    m.put("layers.0.bias", Tensor.uniform(r, DType.FLOAT64, -1, 1, 3));
    m.put("step", Tensor.of(new int[] {42}, 1));
    m.put("empty", Tensor.of(new float[0], 0, 4));
    Safetensors.save(f, m, Map.of("format", "adjoint", "epoch", "3"));
    try (Safetensors.Contents c = Safetensors.read(f)) {
      assertEquals(Map.of("format", "adjoint", "epoch", "3"), c.metadata());
      for (String k : m.keySet()) {
        assertArrayEquals(m.get(k).shape(), c.tensors().get(k).shape(), k);
        assertEquals(m.get(k).dtype(), c.tensors().get(k).dtype(), k);
        assertArrayEquals(m.get(k).toDoubleArray(), c.tensors().get(k).toDoubleArray(), 0, k);
      }
    }
  }

  @Test
  void corruptOrTruncatedSafetensorsAreErrorsNamingTheFile() throws Exception {
    byte[] good = HexFormat.of().parseHex(SAFETENSORS_FIXTURE);
    Path f = dir.resolve("bad.safetensors");
    // every truncation
    for (int len = 0; len < good.length; len++) {
      Files.write(f, Arrays.copyOf(good, len));
      mentions(assertThrows(AdjointException.class, () -> Safetensors.load(f)), "bad.safetensors");
    }
    // random byte flips: a clean result or an AdjointException, never anything else
    Random r = new Random(11);
    for (int k = 0; k < 500; k++) {
      byte[] b = good.clone();
      for (int j = 0; j < 1 + r.nextInt(3); j++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
      Files.write(f, b);
      try {
        Safetensors.load(f).values().forEach(Tensor::close);
      } catch (AdjointException e) {
        mentions(e, "bad.safetensors");
      }
    }
    Files.write(f, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f});
    mentions(assertThrows(AdjointException.class, () -> Safetensors.load(f)), "header length");
    mentions(assertThrows(AdjointException.class, () -> Safetensors.load(dir.resolve("missing.safetensors"))), "cannot read");
  }

  @Test
  void npyMatchesNumpyBytesAndRoundTrips() throws Exception {
    Path f = dir.resolve("x.npy");
    Npy.save(f, Tensor.of(new double[] {0.5, -1}, 2, 1));
    assertEquals(NPY_FIXTURE, HexFormat.of().formatHex(Files.readAllBytes(f)));
    Tensor back = Npy.load(f);
    assertArrayEquals(new long[] {2, 1}, back.shape());
    assertArrayEquals(new double[] {0.5, -1}, back.toDoubleArray(), 0);
    for (Tensor t : new Tensor[] {Tensor.of(new float[] {1, 2, 3}, 3), Tensor.of(new int[] {-4, 5}, 1, 2), Tensor.scalar(2.5)}) {
      Npy.save(f, t);
      Tensor u = Npy.load(f);
      assertArrayEquals(t.shape(), u.shape());
      assertEquals(t.dtype(), u.dtype());
      assertArrayEquals(t.toDoubleArray(), u.toDoubleArray(), 0);
    }
    byte[] good = HexFormat.of().parseHex(NPY_FIXTURE);
    for (int len = 0; len < good.length; len += 7) {
      Files.write(f, Arrays.copyOf(good, len));
      mentions(assertThrows(AdjointException.class, () -> Npy.load(f)), "x.npy");
    }
  }
}
