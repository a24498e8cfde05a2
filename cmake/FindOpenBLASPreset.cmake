# Finds OpenBLAS inside the unpacked org.bytedeco:openblas platform jar (the JavaCPP preset).
#
#   find_package(OpenBLASPreset REQUIRED)   with -DOPENBLAS_ROOT=<...>/org/bytedeco/openblas/linux-x86_64
#
# Defines the IMPORTED target OpenBLAS::OpenBLAS. The jar ships only libopenblas.so.0 (no unversioned
# link name), so the library is imported by full path; the resulting DT_NEEDED is libopenblas.so.0,
# which JavaCPP preloads before the engine at run time.
include_guard(GLOBAL)
include(FindPackageHandleStandardArgs)

set(OPENBLAS_ROOT "${OPENBLAS_ROOT}" CACHE PATH "Unpacked org.bytedeco openblas platform jar (…/org/bytedeco/openblas/linux-x86_64)")

find_path(OpenBLASPreset_INCLUDE_DIR cblas.h PATHS "${OPENBLAS_ROOT}/include" NO_DEFAULT_PATH)
find_file(OpenBLASPreset_LIBRARY libopenblas.so.0 PATHS "${OPENBLAS_ROOT}" "${OPENBLAS_ROOT}/lib" NO_DEFAULT_PATH)

find_package_handle_standard_args(OpenBLASPreset
  REQUIRED_VARS OpenBLASPreset_LIBRARY OpenBLASPreset_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "set -DOPENBLAS_ROOT to the unpacked org.bytedeco:openblas linux-x86_64 jar")

if(OpenBLASPreset_FOUND AND NOT TARGET OpenBLAS::OpenBLAS)
  add_library(OpenBLAS::OpenBLAS SHARED IMPORTED)
  set_target_properties(OpenBLAS::OpenBLAS PROPERTIES
    IMPORTED_LOCATION "${OpenBLASPreset_LIBRARY}"
    IMPORTED_SONAME "libopenblas.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${OpenBLASPreset_INCLUDE_DIR}")
  get_filename_component(OpenBLASPreset_LIBRARY_DIR "${OpenBLASPreset_LIBRARY}" DIRECTORY)
endif()
