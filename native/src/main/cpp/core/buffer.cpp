#include <cstring>
#include <new>

#include "core/common.h"
#include "core/devices.h"
#include "cpu/host_allocator.h"

namespace adjoint {

Buffer::Buffer(int device, int dtype, const int64_t* shape, int rank) : device_(device), dtype_(dtype), data_(nullptr) {
  if (!validDtype(dtype)) fail("Buffer: unknown dtype ", dtype);
  if (rank < 0 || (rank > 0 && !shape)) fail("Buffer: invalid rank ", rank);
  shape_.assign(shape, shape + rank);
  numel_ = checkShape("Buffer", shape_, dtype);   // Note [Sizes]
  Backend* backend = backendFor(device);
  // Zero-sized buffers still get a real (64-byte) allocation so data() is never null.
  try {
    data_ = backend->allocate((size_t)std::max<int64_t>(bytes(), 1));
  } catch (const Error& e) {
    fail("Buffer ", dtypeName(dtype), " ", shapeStr(shape_), ": ", e.what());
  } catch (const std::bad_alloc&) {
    fail("Buffer ", dtypeName(dtype), " ", shapeStr(shape_), ": out of memory allocating ", bytes(), " bytes");
  }
  if (!data_) fail("Buffer ", dtypeName(dtype), " ", shapeStr(shape_), ": out of memory allocating ", bytes(), " bytes");
}

Buffer::~Buffer() {
  try {
    // The CPU backend's allocate is hostAllocate: a small host block is freed without the host
    // cache's lock and lookup (the per-call path frees one per output: bench W1, W5).
    if (device_ == kCpu) cpu::hostReleaseSized(data_, (size_t)std::max<int64_t>(bytes(), 1));
    else backendFor(device_)->release(data_);
  } catch (...) {
    // Note [Errors]: nothing may escape a destructor; the backend already reported what it could.
  }
}

int64_t Buffer::dim(int i) const {
  if (i < 0 || i >= rank()) fail("Buffer::dim: axis ", i, " out of range for shape ", shapeStr(shape_));
  return shape_[i];
}

int64_t Buffer::bytes() const { return numel_ * dtypeSize(dtype_); }

void Buffer::copyFromHost(const void* src, int64_t bytes) {
  if (bytes != this->bytes())
    fail("copyFromHost: got ", bytes, " bytes for a ", dtypeName(dtype_), " ", shapeStr(shape_), " buffer of ",
         this->bytes(), " bytes");
  if (bytes == 0) return;
  if (!src) fail("copyFromHost: null source");
  backendFor(device_)->upload(data_, src, (size_t)bytes);
}

void Buffer::copyToHost(void* dst, int64_t bytes) const {
  if (bytes != this->bytes())
    fail("copyToHost: asked for ", bytes, " bytes from a ", dtypeName(dtype_), " ", shapeStr(shape_),
         " buffer of ", this->bytes(), " bytes");
  if (bytes == 0) return;
  if (!dst) fail("copyToHost: null destination");
  backendFor(device_)->download(dst, data_, (size_t)bytes);
}

void Buffer::copyFrom(const Buffer& other) {
  if (other.dtype_ != dtype_ || other.numel_ != numel_)
    fail("copyFrom: source ", dtypeName(other.dtype_), " ", shapeStr(other.shape_), " does not match destination ",
         dtypeName(dtype_), " ", shapeStr(shape_), " (dtype and element count must agree)");
  size_t n = (size_t)bytes();
  if (n == 0 || &other == this) return;
  if (device_ == other.device_) {
    backendFor(device_)->copy(data_, other.data_, n);
  } else if (other.device_ == kCpu) {
    backendFor(device_)->upload(data_, other.data_, n);
  } else if (device_ == kCpu) {
    backendFor(other.device_)->download(data_, other.data_, n);
  } else {
    std::vector<char> staging;   // between two GPUs: rare, so through the host
    try {
      staging.resize(n);
    } catch (const std::bad_alloc&) {
      fail("copyFrom: out of memory allocating ", n, " bytes of host staging");
    }
    backendFor(other.device_)->download(staging.data(), other.data_, n);
    backendFor(device_)->upload(data_, staging.data(), n);
  }
}

Buffer* newBuffer(int device, int dtype, const int64_t* shape, int rank) { return new Buffer(device, dtype, shape, rank); }

void freeBuffer(Buffer* buffer) { delete buffer; }

}  // namespace adjoint
