# Optional CUDA for the CUDA backend (cuda-kernels/).
#
#   include(AdjointCuda)
#   adjoint_cuda_enable(<result-var>)     at directory scope: TRUE and CUDA enabled when nvcc works
#   adjoint_cuda_target(<target>)         static cudart, hidden symbols, architectures, flags
#
# Architectures: real code for sm_80 (A100) and sm_90 (H100), plus compute_90 PTX that newer GPUs
# JIT-compile. Override with -DCMAKE_CUDA_ARCHITECTURES=... (e.g. "native" on a GPU machine for a
# faster build). cuBLAS is never linked: the backend opens it with dlopen at run time.
include_guard(GLOBAL)
include(CheckLanguage)

set(ADJOINT_CUDA_MIN_VERSION 11.8)   # the first nvcc that knows sm_90

# A macro, not a function: enable_language() must run at directory scope.
macro(adjoint_cuda_enable result)
  set(${result} FALSE)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    # Must be set before enable_language(CUDA), which would otherwise pick the compiler's default.
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
  endif()
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    message(STATUS "Adjoint: no CUDA compiler (nvcc) found - the CUDA backend (libadjoint_cuda) is not built. "
                   "Put nvcc on PATH or set CMAKE_CUDA_COMPILER to build it.")
  else()
    enable_language(CUDA)
    if(CMAKE_CUDA_COMPILER_VERSION VERSION_LESS ADJOINT_CUDA_MIN_VERSION)
      message(STATUS "Adjoint: nvcc ${CMAKE_CUDA_COMPILER_VERSION} is older than ${ADJOINT_CUDA_MIN_VERSION} - "
                     "the CUDA backend is not built.")
    else()
      set(${result} TRUE)
      message(STATUS "Adjoint: CUDA ${CMAKE_CUDA_COMPILER_VERSION} (${CMAKE_CUDA_COMPILER}), "
                     "architectures ${CMAKE_CUDA_ARCHITECTURES}")
    endif()
  endif()
endmacro()

# Flags for a shared library that mixes .cu kernels and host .cpp files calling the CUDA runtime.
function(adjoint_cuda_target target)
  set_target_properties(${target} PROPERTIES
    CUDA_RUNTIME_LIBRARY Static          # no libcudart.so needed at run time, only the driver
    CUDA_STANDARD 17
    CUDA_STANDARD_REQUIRED ON
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF
    CUDA_EXTENSIONS OFF
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Host files include cuda_runtime.h without being compiled by nvcc.
  target_include_directories(${target} PRIVATE ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES})
  # No value-changing fast math: results are compared with the CPU backend.
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
  find_package(Threads REQUIRED)
  # cudart_static needs libdl, librt and pthreads; dlopen of cuBLAS needs libdl too.
  target_link_libraries(${target} PRIVATE Threads::Threads ${CMAKE_DL_LIBS} rt)
  # Fail at link time, not at dlopen time, if anything is left undefined (e.g. an engine symbol).
  target_link_options(${target} PRIVATE LINKER:--no-undefined LINKER:--exclude-libs,ALL)
endfunction()
