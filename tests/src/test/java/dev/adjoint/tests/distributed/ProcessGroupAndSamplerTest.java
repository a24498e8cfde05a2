package dev.adjoint.tests.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.AdjointException;
import dev.adjoint.Communicator;
import dev.adjoint.data.DistributedSampler;
import dev.adjoint.distributed.ProcessGroup;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of distributed training that need no second process: sharding, environment, missing backend. */
class ProcessGroupAndSamplerTest {
  @Test
  void distributedSamplerShardsWithoutOverlap() {
    int n = 4, size = 10;
    int[] order = new int[size];
    for (int i = 0; i < size; i++) order[i] = (i * 7) % size; // a permutation
    Set<Integer> seen = new HashSet<>();
    int total = 0;
    for (int r = 0; r < n; r++) {
      int[] s = new DistributedSampler(r, n).shard(order);
      assertEquals(3, s.length); // ceil(10 / 4), the last round wrapped around
      for (int v : s) seen.add(v);
      total += s.length;
    }
    assertEquals(12, total);
    assertEquals(size, seen.size()); // every sample is used; only the 2 padding samples repeat
    for (int r = 0; r < n; r++) {
      int[] s = new DistributedSampler(r, n, true).shard(order);
      assertEquals(2, s.length);
      for (int i = 0; i < s.length; i++) assertEquals(order[r + i * n], s[i]);
    }
    // Dropping the tail, the shards are disjoint.
    Set<Integer> disjoint = new HashSet<>();
    for (int r = 0; r < n; r++) for (int v : new DistributedSampler(r, n, true).shard(order)) assertTrue(disjoint.add(v));
  }

  @Test
  void badEnvironmentIsAClearError() {
    AdjointException e = assertThrows(AdjointException.class,
        () -> ProcessGroup.fromEnvironment(Map.of("ADJOINT_WORLD_SIZE", "2")));
    assertTrue(e.getMessage().contains("ADJOINT_RANK is not set"), e.getMessage());
    e = assertThrows(AdjointException.class,
        () -> ProcessGroup.fromEnvironment(Map.of("ADJOINT_WORLD_SIZE", "2", "ADJOINT_RANK", "2")));
    assertTrue(e.getMessage().contains("outside [0, 2)"), e.getMessage());
    try (ProcessGroup g = ProcessGroup.fromEnvironment(Map.of())) {
      assertEquals(1, g.worldSize());
    }
  }

  @Test
  void withoutGlooAskingForItIsAClearError(@TempDir Path dir) {
    if (Communicator.glooAvailable()) {
      // With the backend, a lone rank of two times out at the rendezvous, naming the rank that never came.
      AdjointException e = assertThrows(AdjointException.class,
          () -> Communicator.gloo().rank(0).worldSize(2).rendezvous(dir).timeout(java.time.Duration.ofMillis(500)).open());
      assertTrue(e.getMessage().contains("rank(s) 1 did not join the rendezvous"), e.getMessage());
      return;
    }
    AdjointException e = assertThrows(AdjointException.class,
        () -> Communicator.gloo().rank(0).worldSize(2).rendezvous(dir).open());
    assertTrue(e.getMessage().contains("libgloo-dev"), e.getMessage());
  }

  /** Where NCCL, a GPU or the NCCL backend library is missing, asking for NCCL says which; with all three, it runs. */
  @Test
  void ncclIsOpenedAtRunTimeOrExplainsWhyNot(@TempDir Path dir) {
    Communicator c;
    try {
      c = Communicator.nccl().rank(0).worldSize(1).rendezvous(dir).timeout(java.time.Duration.ofSeconds(20)).open();
    } catch (AdjointException e) {
      assertTrue(e.getMessage().contains("NCCL") || e.getMessage().contains("CUDA"), e.getMessage());
      return;
    }
    try (c) {
      float[] v = {1.5f, -2f};
      c.allReduce(v, Communicator.Reduce.SUM);
      assertEquals(1.5f, v[0]);
      assertEquals(-2f, v[1]);
    }
  }

  @Test
  void aLocalGroupIsTheIdentity() {
    try (Communicator c = Communicator.local()) {
      double[] d = {1, 2};
      c.allReduce(d, Communicator.Reduce.MEAN);
      assertEquals(2.0, d[1]);
      assertEquals(2, c.allGather(new float[] {3, 4}).length);
      c.barrier();
    }
  }
}
