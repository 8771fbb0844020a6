# Warnings and the sanitizer build, shared by the library, the tests and the benchmark.

if(BORA_SANITIZE)
  # Applied to every C++ target of the project (the tests must be instrumented too).
  set(BORA_SANITIZE_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${BORA_SANITIZE_FLAGS}>")
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "bora: AddressSanitizer + UndefinedBehaviorSanitizer build")
endif()

function(bora_target_compile_options target)
  # -O3 lets gcc vectorise the micro-kernels; no -march: the library runs on any x86-64
  # (AVX2/FMA kernels are selected at run time, see native/src/cpu/isa.cpp).
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:Release>>:-O3>)
endfunction()
