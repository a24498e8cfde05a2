package dev.adjoint.examples;

import dev.adjoint.Adjoint;

/** Entry point of {@code ./adjoint}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String cmd = args.length == 0 ? "tutorial" : args[0];
    switch (cmd) {
      case "info" -> System.out.println(Adjoint.info());
      case "tutorial" -> Tutorial.main(args);
      case "train" -> Train.main(args);
      case "soak" -> Soak.main(args);
      default -> {
        System.err.println("usage: ./adjoint info | tutorial | train [steps] | soak [first second] | bench [JMH args]");
        System.exit(2);
      }
    }
  }
}
