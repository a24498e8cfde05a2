package dev.adjoint.bench;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads JMH's JSON results and prints a markdown table: each workload next to the ideal its
 * {@link Against} names, measured in the same run with the same parameters, and their ratio.
 *
 * <pre>{@code
 * java -cp bench/target/benchmarks.jar dev.adjoint.bench.Report bench/target/jmh-result.json
 * }</pre>
 */
public final class Report {
  private Report() {}

  /** One JMH result row. */
  record Row(String cls, String method, Map<String, String> params, double seconds, double errorSeconds, String unit,
      double score, double error) {
    String paramText() {
      StringBuilder sb = new StringBuilder();
      params.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append('=').append(v));
      return sb.toString();
    }
  }

  public static void main(String[] args) throws IOException {
    Path in = Path.of(args.length > 0 ? args[0] : "bench/target/jmh-result.json");
    System.out.print(table(Json.parse(Files.readString(in))));
  }

  static String table(Object json) {
    List<Row> rows = new ArrayList<>();
    String jvm = "";
    for (Object o : (List<?>) json) {
      Map<?, ?> r = (Map<?, ?>) o;
      String bench = (String) r.get("benchmark");
      int dot = bench.lastIndexOf('.');
      Map<String, String> params = new LinkedHashMap<>();
      if (r.get("params") instanceof Map<?, ?> p) p.forEach((k, v) -> params.put((String) k, (String) v));
      Map<?, ?> m = (Map<?, ?>) r.get("primaryMetric");
      String unit = (String) m.get("scoreUnit");
      double score = num(m.get("score")), error = num(m.get("scoreError"));
      double perSecond = secondsPer(unit);
      rows.add(new Row(bench.substring(0, dot), bench.substring(dot + 1), params, score * perSecond,
          error * perSecond, unit, score, error));
      jvm = r.get("vmName") + " " + r.get("jdkVersion");
    }
    // W1..W10 in numeric order, each Adjoint class before its libtorch and then its TF-Java peer; JMH's own
    // order within a class (the sort is stable).
    rows.sort(Comparator.comparing(r -> order(workload(r.cls.substring(r.cls.lastIndexOf('.') + 1)))));
    StringBuilder sb = new StringBuilder();
    sb.append("JVM: ").append(jvm).append("\n\n");
    sb.append("| workload | benchmark | params | time | ideal | ideal time | ratio | notes |\n");
    sb.append("|---|---|---|---:|---|---:|---:|---|\n");
    for (Row r : rows) {
      Method method = method(r.cls, r.method);
      Against against = method == null ? null : method.getAnnotation(Against.class);
      Traffic traffic = method == null ? null : method.getAnnotation(Traffic.class);
      List<String> notes = new ArrayList<>();
      if (traffic != null)
        notes.add(String.format(Locale.ROOT, "%.1f GiB/s", traffic.bytes() / r.seconds / (1L << 30)));
      String idealName = "", idealTime = "", ratio = "";
      if (against != null) {
        String v = against.value();
        int dot = v.lastIndexOf('.');
        // A bare name is a method of the same class; a qualified one (a peer's Adjoint counterpart) is not.
        String idealCls = dot < 0 ? r.cls : v.substring(0, dot), idealMethod = v.substring(dot + 1);
        idealName = dot < 0 ? v : v.substring(v.lastIndexOf('.', dot - 1) + 1);
        Row ideal = null;
        for (Row o : rows)
          if (o.cls.equals(idealCls) && o.params.equals(r.params) && o.method.equals(idealMethod)) ideal = o;
        if (ideal != null) {
          idealTime = fmt(ideal.score, ideal.error, ideal.unit);
          ratio = String.format(Locale.ROOT, "%.2f", r.seconds / ideal.seconds);
        } else {
          idealTime = "not run";
        }
        if (against.targetMicros() > 0) {
          double us = r.seconds * 1e6;
          notes.add(String.format(Locale.ROOT, "%.2f us vs target %.1f us: %s", us, against.targetMicros(),
              us <= against.targetMicros() ? "met" : "missed"));
        }
      } else if (r.method.startsWith("ideal") || r.method.equals("jniRoundTrip")) {
        notes.add("ideal");
      }
      String cls = r.cls.substring(r.cls.lastIndexOf('.') + 1);
      sb.append("| ").append(workload(cls)).append(" | ").append(cls).append('.').append(r.method)
          .append(" | ").append(r.paramText())
          .append(" | ").append(fmt(r.score, r.error, r.unit))
          .append(" | ").append(idealName).append(" | ").append(idealTime)
          .append(" | ").append(ratio).append(" | ").append(String.join("; ", notes)).append(" |\n");
    }
    sb.append("\nratio = time / ideal time, same run, same params (1.00 is the ideal; higher is slower).")
        .append(" For libtorch and TF-Java rows the reference is Adjoint's own benchmark: ratio > 1 means the peer is slower.\n");
    sb.append(threadPolicyTable(rows));
    return sb.toString();
  }

  /**
   * W10: for each benchmark method and load of a class with a {@code policy} parameter, the default policy's
   * time against the best pinned one in the same run (target: at most 1.2).
   */
  static String threadPolicyTable(List<Row> rows) {
    StringBuilder sb = new StringBuilder();
    Map<String, List<Row>> groups = new LinkedHashMap<>();
    for (Row r : rows) {
      if (!r.params.containsKey("policy")) continue;
      Map<String, String> rest = new LinkedHashMap<>(r.params);
      rest.remove("policy");
      groups.computeIfAbsent(r.method + " " + rest, k -> new ArrayList<>()).add(r);
    }
    if (groups.isEmpty()) return "";
    sb.append("\nW10, default thread policy against the best pinned one (same run):\n\n");
    sb.append("| benchmark | params | default | best pinned | ratio | target 1.2 |\n|---|---|---:|---:|---:|---|\n");
    for (List<Row> g : groups.values()) {
      Row def = null, best = null;
      for (Row r : g) {
        if (r.params.get("policy").equals("default")) def = r;
        else if (best == null || r.seconds < best.seconds) best = r;
      }
      if (def == null || best == null) continue;
      Map<String, String> rest = new LinkedHashMap<>(def.params);
      rest.remove("policy");
      double ratio = def.seconds / best.seconds;
      sb.append("| ").append(def.method).append(" | ").append(rest).append(" | ").append(fmt(def.score, def.error, def.unit))
          .append(" | ").append(fmt(best.score, best.error, best.unit)).append(" (").append(best.params.get("policy"))
          .append(") | ").append(String.format(Locale.ROOT, "%.2f", ratio)).append(" | ")
          .append(ratio <= 1.2 ? "met" : "missed").append(" |\n");
    }
    return sb.toString();
  }

  private static String workload(String cls) {
    return switch (cls) {
      case "TutorialGradBench" -> "W1";
      case "MatmulGradBench" -> "W2";
      case "SinSecondDerivBench" -> "W3";
      case "TrainStepBench" -> "W4";
      case "MixedSecondDerivBench" -> "W5";
      case "PinnStepBench", "PinnFirstStepBench" -> "W6";
      case "ForceFieldStepBench" -> "W7";
      case "HvpBench" -> "W8";
      case "DerivativeOrderBench" -> "W9";
      case "LoadedThreadsBench" -> "W10";
      default -> cls.startsWith("Torch") ? workload(cls.substring(5)) + " libtorch"
          : cls.startsWith("Tf") ? workload(cls.substring(2)) + " TF-Java" : "";
    };
  }

  /** Sort key of a workload label: its number (unlabelled last), then Adjoint, libtorch, TF-Java. */
  private static String order(String workload) {
    if (!workload.matches("W\\d+.*")) return "~" + workload;
    int end = workload.indexOf(' ');
    String n = end < 0 ? workload.substring(1) : workload.substring(1, end);
    String peer = end < 0 ? "0" : workload.endsWith("libtorch") ? "1" : "2";
    return String.format(Locale.ROOT, "%03d%s", Integer.parseInt(n), peer);
  }

  private static Method method(String cls, String name) {
    try {
      for (Method m : Class.forName(cls, false, Report.class.getClassLoader()).getMethods()) if (m.getName().equals(name)) return m;
    } catch (ClassNotFoundException | LinkageError e) {
      // A result from classes not on this classpath (e.g. peers): no pairing, still listed.
    }
    return null;
  }

  private static String fmt(double score, double error, String unit) {
    return Double.isNaN(error)
        ? String.format(Locale.ROOT, "%.4g %s", score, unit)
        : String.format(Locale.ROOT, "%.4g ± %.2g %s", score, error, unit);
  }

  private static double num(Object o) {
    if (o instanceof Double d) return d;
    if (o instanceof String s) return s.equals("NaN") ? Double.NaN : Double.parseDouble(s);
    return Double.NaN;
  }

  private static double secondsPer(String unit) {
    String u = unit.substring(0, unit.indexOf('/'));
    return switch (u) {
      case "s" -> 1;
      case "ms" -> 1e-3;
      case "us" -> 1e-6;
      case "ns" -> 1e-9;
      default -> throw new IllegalArgumentException("unit " + unit + " is not a time per op (use -bm avgt)");
    };
  }

  /** The JSON JMH writes: objects, arrays, strings, numbers, true/false/null. Nothing more is needed. */
  static final class Json {
    private final String s;
    private int i;

    private Json(String s) {
      this.s = s;
    }

    static Object parse(String text) {
      Json j = new Json(text);
      Object v = j.value();
      j.ws();
      if (j.i != text.length()) throw j.error("trailing characters");
      return v;
    }

    private Object value() {
      ws();
      if (i >= s.length()) throw error("unexpected end");
      char c = s.charAt(i);
      switch (c) {
        case '{': {
          i++;
          Map<String, Object> m = new LinkedHashMap<>();
          ws();
          if (peek('}')) return m;
          do {
            ws();
            String k = string();
            ws();
            expect(':');
            m.put(k, value());
            ws();
          } while (peek(','));
          expect('}');
          return m;
        }
        case '[': {
          i++;
          List<Object> l = new ArrayList<>();
          ws();
          if (peek(']')) return l;
          do l.add(value());
          while (peek(','));
          expect(']');
          return l;
        }
        case '"':
          return string();
        default:
          int start = i;
          while (i < s.length() && ",}] \n\r\t".indexOf(s.charAt(i)) < 0) i++;
          String w = s.substring(start, i);
          if (w.equals("true") || w.equals("false")) return Boolean.valueOf(w);
          if (w.equals("null")) return null;
          try {
            return Double.parseDouble(w);
          } catch (NumberFormatException e) {
            throw error("bad token '" + w + "'");
          }
      }
    }

    private String string() {
      expect('"');
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (i >= s.length()) throw error("unterminated string");
        char c = s.charAt(i++);
        if (c == '"') return sb.toString();
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case 'n' -> sb.append('\n');
          case 't' -> sb.append('\t');
          case 'r' -> sb.append('\r');
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'u' -> {
            sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> sb.append(e);
        }
      }
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    }

    private boolean peek(char c) {
      ws();
      if (i < s.length() && s.charAt(i) == c) {
        i++;
        return true;
      }
      return false;
    }

    private void expect(char c) {
      if (!peek(c)) throw error("expected '" + c + "'");
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException("JMH JSON: " + what + " at offset " + i);
    }
  }
}
