package dev.adjoint;

import dev.adjoint.internal.Access;
import dev.adjoint.internal.Node;
import dev.adjoint.internal.Storage;

/** The package-private members the internals may use (Note [Access to the public classes] in Access). */
final class AccessBridge implements Access.Bridge {
  static {
    Access.register(new AccessBridge());
  }

  private AccessBridge() {}

  @Override
  public Tensor symbolic(Node node) {
    return new Tensor(node);
  }

  @Override
  public Tensor concrete(Storage storage) {
    return new Tensor(storage);
  }

  @Override
  public Node node(Tensor t) {
    return t.node();
  }

  @Override
  public Storage storage(Tensor t) {
    return t.storage();
  }

  @Override
  public int code(DType dtype) {
    return dtype.code;
  }

  @Override
  public DType dtype(int code) {
    return DType.ofCode(code);
  }

  @Override
  public int code(Device device) {
    return device.code;
  }

  @Override
  public Device device(int code) {
    return Device.ofCode(code);
  }

  @Override
  public Value construct(Cell cell, Value[] args) {
    return cell.runConstruct(args);
  }

  @Override
  public int arity(Cell cell) {
    return cell.arity();
  }
}
