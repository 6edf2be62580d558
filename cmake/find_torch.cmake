# Finds LibTorch and the CUDA headers kiln uses, and defines the target `kiln_torch`.
#
# Where LibTorch comes from, in order:
#   1. Torch_DIR or CMAKE_PREFIX_PATH given by the user (e.g. an unpacked libtorch zip);
#   2. the python in KILN_PYTHON, or the bootstrap venv (~/.cache/kiln/venv), asked for
#      torch.utils.cmake_prefix_path.
# With the CUDA toolkit present, Torch's own config is used. A CUDA build of LibTorch (the
# pip wheel) cannot be configured through TorchConfig.cmake without the toolkit, so then the
# libraries are imported directly; CUDA still works at run time through the wheel's libs.

set(KILN_PYTHON "" CACHE FILEPATH "Python whose torch package provides LibTorch")
if(NOT Torch_DIR AND NOT DEFINED ENV{Torch_DIR})
  if(NOT KILN_PYTHON AND EXISTS "$ENV{HOME}/.cache/kiln/venv/bin/python")
    set(KILN_PYTHON "$ENV{HOME}/.cache/kiln/venv/bin/python")
  endif()
  if(KILN_PYTHON)
    execute_process(COMMAND ${KILN_PYTHON} -c "import torch.utils;print(torch.utils.cmake_prefix_path)"
                    OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc ERROR_QUIET)
    if(_rc EQUAL 0)
      list(APPEND CMAKE_PREFIX_PATH ${_torch_prefix})
    endif()
  endif()
endif()

find_path(KILN_TORCH_CMAKE_DIR TorchConfig.cmake
          HINTS ${Torch_DIR} $ENV{Torch_DIR} PATH_SUFFIXES share/cmake/Torch Torch)
if(NOT KILN_TORCH_CMAKE_DIR)
  message(FATAL_ERROR "LibTorch not found. Run tools/bootstrap.sh, or pass -DTorch_DIR=<libtorch>/share/cmake/Torch "
                      "or -DKILN_PYTHON=<python with torch installed>.")
endif()
get_filename_component(KILN_TORCH_ROOT "${KILN_TORCH_CMAKE_DIR}/../../.." ABSOLUTE)
set(Torch_DIR ${KILN_TORCH_CMAKE_DIR})

find_package(CUDAToolkit QUIET)
set(KILN_HAVE_CUDA_HEADERS OFF)
add_library(kiln_torch INTERFACE)
# The wheel's libtorch.so exports its own statically linked copy of std::filesystem, whose
# recursive operations (remove_all, recursive_directory_iterator) call through a null pointer.
# Naming libstdc++ first makes it the first library in DT_NEEDED, so the dynamic linker
# binds std::filesystem to the system libstdc++ for us and for torch alike.
target_link_libraries(kiln_torch INTERFACE "-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state")

if(CUDAToolkit_FOUND OR NOT EXISTS "${KILN_TORCH_ROOT}/lib/libtorch_cuda.so")
  find_package(Torch REQUIRED)
  target_link_libraries(kiln_torch INTERFACE ${TORCH_LIBRARIES})
  if(CUDAToolkit_FOUND)
    set(KILN_HAVE_CUDA_HEADERS ON)
    set(KILN_CUDA_INCLUDE_DIRS ${CUDAToolkit_INCLUDE_DIRS})
  endif()
else()
  message(STATUS "kiln: no CUDA toolkit; importing the CUDA LibTorch at ${KILN_TORCH_ROOT} directly")
  target_include_directories(kiln_torch SYSTEM INTERFACE
    ${KILN_TORCH_ROOT}/include ${KILN_TORCH_ROOT}/include/torch/csrc/api/include)
  set(_libs)
  foreach(l torch torch_cpu c10 torch_cuda c10_cuda)
    list(APPEND _libs ${KILN_TORCH_ROOT}/lib/lib${l}.so)
  endforeach()
  # --no-as-needed keeps torch_cuda loaded so the CUDA backend registers itself.
  target_link_libraries(kiln_torch INTERFACE "-Wl,--no-as-needed" ${_libs} "-Wl,--as-needed")
  target_link_options(kiln_torch INTERFACE "-Wl,-rpath,${KILN_TORCH_ROOT}/lib")
  target_compile_definitions(kiln_torch INTERFACE USE_C10D_GLOO USE_DISTRIBUTED)
  # The wheel's nvidia-* packages carry the CUDA runtime and NVTX3 headers.
  file(GLOB _cu_inc "${KILN_TORCH_ROOT}/../nvidia/cu*/include")
  if(_cu_inc)
    set(KILN_HAVE_CUDA_HEADERS ON)
    set(KILN_CUDA_INCLUDE_DIRS ${_cu_inc})
  endif()
endif()

# NVML header for telemetry (NVML itself is loaded at run time): toolkit, else the
# nvidia-nvml-dev wheel that the bootstrap installs.
find_path(KILN_NVML_INCLUDE_DIR nvml.h HINTS ${KILN_CUDA_INCLUDE_DIRS} "${KILN_TORCH_ROOT}/../nvidia/cu13/include")
