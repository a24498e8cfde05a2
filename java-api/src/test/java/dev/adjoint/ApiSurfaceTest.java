package dev.adjoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleReader;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The module's surface, as its module-info declares it (surefire runs this module's tests on the module
 * path): only the public packages are exported, no public signature names an internal, engine or
 * JavaCPP type, and dev.adjoint.optim is written against the public API alone.
 */
class ApiSurfaceTest {
  static final Set<String> PUBLIC_PACKAGES = Set.of("dev.adjoint", "dev.adjoint.autodiff", "dev.adjoint.optim", "dev.adjoint.nn", "dev.adjoint.nn.init", "dev.adjoint.nn.loss", "dev.adjoint.data", "dev.adjoint.io", "dev.adjoint.distributed");
  static final List<String> HIDDEN = List.of("dev.adjoint.internal.", "dev.adjoint.engine.", "org.bytedeco.");

  static Module module() {
    Module m = Tensor.class.getModule();
    assumeTrue(m.isNamed(), "adjoint-api is on the class path here, not the module path");
    return m;
  }

  /** Class files of the module, by binary name. */
  static List<String> classes(Module m) throws IOException {
    try (ModuleReader r = m.getLayer().configuration().findModule(m.getName()).orElseThrow().reference().open()) {
      return r.list()
          .filter(n -> n.endsWith(".class") && !n.equals("module-info.class"))
          .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.'))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  @Test
  void exportsOnlyThePublicPackages() {
    Module m = module();
    Set<String> exported = new TreeSet<>();
    for (ModuleDescriptor.Exports e : m.getDescriptor().exports()) {
      assertTrue(e.targets().isEmpty(), "qualified export " + e);
      exported.add(e.source());
    }
    assertEquals(new TreeSet<>(PUBLIC_PACKAGES), exported);
    assertTrue(m.getPackages().contains("dev.adjoint.internal"));
    assertTrue(!m.isExported("dev.adjoint.internal"), "dev.adjoint.internal must not be exported");
  }

  @Test
  void publicSignaturesNameNoInternalType() throws Exception {
    Module m = module();
    List<String> leaks = new ArrayList<>();
    int checked = 0;
    for (String name : classes(m)) {
      Class<?> c = Class.forName(name, false, m.getClassLoader());
      if (!PUBLIC_PACKAGES.contains(c.getPackageName()) || !isVisible(c)) continue;
      checked++;
      check(leaks, c + " extends", c.getGenericSuperclass());
      for (Type t : c.getGenericInterfaces()) check(leaks, c + " implements", t);
      List<Member> members = new ArrayList<>();
      members.addAll(List.of(c.getDeclaredConstructors()));
      members.addAll(List.of(c.getDeclaredMethods()));
      members.addAll(List.of(c.getDeclaredFields()));
      for (Member mem : members) {
        if (mem.isSynthetic() || !(Modifier.isPublic(mem.getModifiers()) || Modifier.isProtected(mem.getModifiers())))
          continue;
        if (mem instanceof Field f) check(leaks, f.toString(), f.getGenericType());
        if (mem instanceof Executable e) {
          for (Type t : e.getGenericParameterTypes()) check(leaks, e.toString(), t);
          for (Type t : e.getGenericExceptionTypes()) check(leaks, e.toString(), t);
          if (e instanceof java.lang.reflect.Method method) check(leaks, e.toString(), method.getGenericReturnType());
        }
      }
    }
    assertTrue(checked >= 15, "only " + checked + " public types found");
    assertTrue(leaks.isEmpty(), "public signatures with internal types:\n" + String.join("\n", leaks));
  }

  /** optim, nn, data and io use the public API only: their class files name no internal or engine class. */
  @Test
  void optimizersUseThePublicApiOnly() throws Exception {
    Module m = module();
    int checked = 0;
    for (String name : classes(m)) {
      if (!(name.startsWith("dev.adjoint.optim.") || name.startsWith("dev.adjoint.nn.") || name.startsWith("dev.adjoint.data.")
          || name.startsWith("dev.adjoint.io.") || name.startsWith("dev.adjoint.distributed."))) continue;
      checked++;
      String bytes;
      try (InputStream in = m.getResourceAsStream(name.replace('.', '/') + ".class")) {
        bytes = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      }
      for (String hidden : HIDDEN) {
        String internalName = hidden.replace('.', '/');
        assertTrue(!bytes.contains(internalName), name + " refers to " + hidden + "*");
      }
    }
    assertTrue(checked >= 12, "optim/nn/data/io classes found: " + checked);
  }

  private static boolean isVisible(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getDeclaringClass()) if (!Modifier.isPublic(k.getModifiers())) return false;
    return !c.isSynthetic() && !c.isAnonymousClass() && !c.isLocalClass();
  }

  private static void check(List<String> leaks, String where, Type t) {
    if (t == null) return;
    if (t instanceof Class<?> c) {
      while (c.isArray()) c = c.getComponentType();
      for (String hidden : HIDDEN) if (c.getName().startsWith(hidden)) leaks.add(where + ": " + c.getName());
    } else if (t instanceof ParameterizedType p) {
      check(leaks, where, p.getRawType());
      for (Type a : p.getActualTypeArguments()) check(leaks, where, a);
    } else if (t instanceof WildcardType w) {
      for (Type b : w.getUpperBounds()) check(leaks, where, b);
      for (Type b : w.getLowerBounds()) check(leaks, where, b);
    } else if (t instanceof GenericArrayType g) {
      check(leaks, where, g.getGenericComponentType());
    } else if (t instanceof TypeVariable<?> v) {
      for (Type b : v.getBounds()) if (b != Object.class) check(leaks, where, b);
    }
  }
}
