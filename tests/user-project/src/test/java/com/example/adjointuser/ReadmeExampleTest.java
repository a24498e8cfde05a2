package com.example.adjointuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The training loop in the repository README ("Use it from your own project") is the block between the
 * README markers of SpiralClassifierTest, so the README's example is compiled and run by this project.
 * (This test alone knows that the project lives inside the Adjoint repository.)
 */
class ReadmeExampleTest {
  @Test
  void readmeExampleIsTheTestedCode() throws Exception {
    Path base = Path.of(System.getProperty("basedir", "."));
    Path readme = base.resolve("../../README.md").normalize();
    assertTrue(Files.isRegularFile(readme), "README not found at " + readme);
    String text = Files.readString(readme);
    int section = text.indexOf("## Use it from your own project");
    assertTrue(section >= 0, "README has no 'Use it from your own project' section");
    int start = text.indexOf("```java\n", section);
    int end = text.indexOf("```", start + 8);
    assertTrue(start >= 0 && end > start, "no java block in that section");
    String inReadme = text.substring(start + 8, end);

    List<String> src = Files.readAllLines(base.resolve("src/test/java/com/example/adjointuser/SpiralClassifierTest.java"));
    int from = indexOf(src, "// README:begin"), to = indexOf(src, "// README:end");
    assertTrue(from >= 0 && to > from, "README markers missing in SpiralClassifierTest");
    List<String> block = src.subList(from + 1, to);
    int indent = block.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    String tested = block.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).collect(Collectors.joining("\n", "", "\n"));
    assertEquals(tested, inReadme, "README example and SpiralClassifierTest differ");
  }

  private static int indexOf(List<String> lines, String marker) {
    for (int i = 0; i < lines.size(); i++) if (lines.get(i).strip().equals(marker)) return i;
    return -1;
  }
}
