package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.TypeElement;
import javax.lang.model.util.ElementFilter;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.DocumentationTool;
import javax.tools.JavaFileObject;
import javax.tools.ToolProvider;
import jdk.javadoc.doclet.Doclet;
import jdk.javadoc.doclet.DocletEnvironment;
import jdk.javadoc.doclet.Reporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Javadoc of the exported packages of java-api stays complete: the JDK's javadoc tool, run over the
 * sources of module dev.adjoint, reports no public or protected declaration without a comment
 * ({@code -Xdoclint:missing}) and no doclint error, and every public type's comment holds a usage example
 * ({@code <pre>{@code ...}</pre>}). dev.adjoint.internal is not exported and not checked.
 */
class JavadocCoverageTest {
  @TempDir Path out;

  static Path sources() {
    Path src = Path.of(System.getProperty("basedir", ".")).resolve("../java-api/src/main/java").normalize();
    assertTrue(Files.isRegularFile(src.resolve("module-info.java")), "java-api sources not found at " + src);
    return src;
  }

  /** The jars module dev.adjoint requires (adjoint-native, JavaCPP, Gson), taken from the test class path. */
  static String modulePath() {
    List<String> jars = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String name = Path.of(e).getFileName().toString();
      if (name.endsWith(".jar") && (name.startsWith("adjoint-native") || name.startsWith("javacpp-") || name.startsWith("gson-")))
        jars.add(e);
    }
    assertTrue(jars.size() >= 3, "adjoint-native, javacpp and gson jars not on the class path: " + jars);
    return String.join(File.pathSeparator, jars);
  }

  static List<String> moduleOptions() {
    return List.of("--module-path", modulePath(), "--module-source-path", "dev.adjoint=" + sources(), "--module", "dev.adjoint");
  }

  static boolean internal(Diagnostic<? extends JavaFileObject> d) {
    return d.getSource() != null && d.getSource().toUri().getPath().contains("/dev/adjoint/internal/");
  }

  @Test
  void everyPublicDeclarationHasAComment() {
    DocumentationTool tool = ToolProvider.getSystemDocumentationTool();
    assertNotNull(tool, "no javadoc tool (tests run on a JDK)");
    List<String> options = new ArrayList<>(List.of("-Xdoclint:missing", "-Xmaxwarns", "100000", "-quiet", "-d", out.toString()));
    options.addAll(moduleOptions());
    DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
    StringWriter log = new StringWriter();
    boolean ok = tool.getTask(new PrintWriter(log), null, diags, null, options, null).call();
    List<String> missing = new ArrayList<>(), errors = new ArrayList<>();
    for (Diagnostic<? extends JavaFileObject> d : diags.getDiagnostics()) {
      if (internal(d)) continue;
      String where = (d.getSource() == null ? "?" : sources().relativize(Path.of(d.getSource().toUri())).toString()) + ":" + d.getLineNumber();
      String msg = d.getMessage(Locale.ROOT);
      if (d.getKind() == Diagnostic.Kind.ERROR) errors.add(where + ": " + msg);
      else if (msg.contains("no comment")) missing.add(where + ": " + line(d));
    }
    assertTrue(ok && errors.isEmpty(), "javadoc failed:\n" + String.join("\n", errors) + "\n" + log);
    assertTrue(missing.isEmpty(), missing.size() + " public or protected declarations without a Javadoc comment:\n" + String.join("\n", missing));
  }

  /** The source line a diagnostic points at (the undocumented declaration). */
  static String line(Diagnostic<? extends JavaFileObject> d) {
    try {
      List<String> lines = Files.readAllLines(Path.of(d.getSource().toUri()));
      return d.getLineNumber() >= 1 && d.getLineNumber() <= lines.size() ? lines.get((int) d.getLineNumber() - 1).strip() : "";
    } catch (java.io.IOException | RuntimeException e) {
      return "";
    }
  }

  /** Types found by {@link TypesWithoutExample}, the doclet of the second check. */
  static final Set<String> withoutExample = new TreeSet<>();
  static final Set<String> checkedTypes = new TreeSet<>();

  @Test
  void everyPublicTypeHasAUsageExample() {
    withoutExample.clear();
    checkedTypes.clear();
    DocumentationTool tool = ToolProvider.getSystemDocumentationTool();
    DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
    StringWriter log = new StringWriter();
    boolean ok = tool.getTask(new PrintWriter(log), null, diags, TypesWithoutExample.class, moduleOptions(), null).call();
    assertTrue(ok, "javadoc failed: " + diags.getDiagnostics().stream().filter(d -> !internal(d)).map(d -> d.getMessage(Locale.ROOT)).collect(Collectors.joining("\n")) + log);
    // the public API has dozens of types; a doclet that saw none would prove nothing
    assertTrue(checkedTypes.size() > 40 && checkedTypes.contains("dev.adjoint.Tensor") && checkedTypes.contains("dev.adjoint.data.DataLoader.Batch"),
        "the doclet saw too few types: " + checkedTypes);
    assertTrue(withoutExample.isEmpty(), "public types whose comment has no <pre>{@code ...}</pre> usage example:\n" + String.join("\n", withoutExample));
  }

  /** Records every public (or protected member) type of the exported packages whose comment has no example. */
  public static final class TypesWithoutExample implements Doclet {
    @Override
    public void init(Locale locale, Reporter reporter) {}

    @Override
    public String getName() {
      return "TypesWithoutExample";
    }

    @Override
    public Set<? extends Option> getSupportedOptions() {
      return Set.of();
    }

    @Override
    public SourceVersion getSupportedSourceVersion() {
      return SourceVersion.latest();
    }

    @Override
    public boolean run(DocletEnvironment env) {
      for (TypeElement t : ElementFilter.typesIn(env.getIncludedElements())) visit(env, t);
      return true;
    }

    private static void visit(DocletEnvironment env, TypeElement t) {
      if (!visible(t)) return;
      String name = t.getQualifiedName().toString();
      if (name.startsWith("dev.adjoint.internal.")) return; // not exported
      if (!checkedTypes.add(name)) return;
      String doc = env.getElementUtils().getDocComment(t);
      if (doc == null || !doc.contains("<pre>{@code")) withoutExample.add(name);
      for (TypeElement member : ElementFilter.typesIn(t.getEnclosedElements())) visit(env, member);
    }

    /** Public, or protected inside a public type, all the way out to the package. */
    private static boolean visible(Element e) {
      for (; e.getKind() != ElementKind.PACKAGE; e = e.getEnclosingElement()) {
        Set<Modifier> m = e.getModifiers();
        boolean member = e.getEnclosingElement().getKind() != ElementKind.PACKAGE;
        if (!m.contains(Modifier.PUBLIC) && !(member && m.contains(Modifier.PROTECTED))) return false;
      }
      return true;
    }
  }
}
