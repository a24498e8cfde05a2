# Compiler flags shared by the engine (native/) and the CUDA backend (cuda-kernels/).
#
#   include(AdjointFlags)
#   adjoint_target_flags(<target>)      C++17, warnings, -fno-math-errno, sanitizers when ADJOINT_SANITIZE
#
# -fno-math-errno is safe everywhere (the engine never reads errno) and lets GCC inline sqrt and call
# the vector math library; value-changing fast-math flags are NOT set here (see kernels_math.cpp).
include_guard(GLOBAL)

option(ADJOINT_SANITIZE "Build with -fsanitize=address,undefined" OFF)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

set(ADJOINT_SANITIZE_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)

function(adjoint_target_flags target)
  target_compile_features(${target} PRIVATE cxx_std_17)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -fno-math-errno -fopenmp-simd>)
  if(ADJOINT_SANITIZE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${ADJOINT_SANITIZE_FLAGS}>)
    target_link_options(${target} PRIVATE ${ADJOINT_SANITIZE_FLAGS})
  endif()
endfunction()

# Environment for tests run under the sanitizers (set on each CTest test by the caller).
set(ADJOINT_SANITIZE_TEST_ENV
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
