# The optional CUDA backend. CUDA is used only when BORA_ENABLE_CUDA is ON, nvcc is found
# AND native/src/cuda/ holds .cu files; otherwise native/src/cuda_disabled.cpp provides a
# backend that answers BORA_ERR_NO_CUDA.

set(BORA_WITH_CUDA OFF)
set(BORA_CUDA_DIR ${CMAKE_CURRENT_SOURCE_DIR}/native/src/cuda)
file(GLOB BORA_CUDA_SOURCES CONFIGURE_DEPENDS ${BORA_CUDA_DIR}/*.cu)
file(GLOB BORA_CUDA_HOST_SOURCES CONFIGURE_DEPENDS ${BORA_CUDA_DIR}/*.cpp)

if(NOT BORA_ENABLE_CUDA)
  set(BORA_CUDA_REASON "BORA_ENABLE_CUDA is OFF")
elseif(NOT BORA_CUDA_SOURCES)
  set(BORA_CUDA_REASON "no .cu files in native/src/cuda")
else()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # sm_80 and sm_90 machine code, plus PTX for newer GPUs.
      set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(BORA_WITH_CUDA ON)
  else()
    set(BORA_CUDA_REASON "nvcc was not found")
  endif()
endif()

if(BORA_WITH_CUDA)
  message(STATUS "bora: backends CPU + CUDA (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "bora: backend CPU only (${BORA_CUDA_REASON})")
endif()

function(bora_add_cuda_backend target)
  if(BORA_WITH_CUDA)
    find_package(CUDAToolkit REQUIRED)
    target_sources(${target} PRIVATE ${BORA_CUDA_SOURCES} ${BORA_CUDA_HOST_SOURCES})
    target_compile_definitions(${target} PRIVATE BORA_WITH_CUDA)
    target_include_directories(${target} PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
    # A static runtime: the library needs no libcudart.so and still loads without a driver.
    set_target_properties(${target} PROPERTIES
      CUDA_RUNTIME_LIBRARY Static
      CUDA_VISIBILITY_PRESET hidden)
  else()
    target_sources(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/native/src/cuda_disabled.cpp)
  endif()
endfunction()
