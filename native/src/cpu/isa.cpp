// isa.cpp - see isa.h.
#include "cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace bora {
namespace cpu {

bool use_avx2_fma() {
    static const bool value = [] {
        const char* forced = std::getenv("BORA_CPU_ISA");
        if (forced && std::strcmp(forced, "generic") == 0) return false;
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }();
    return value;
}

}  // namespace cpu
}  // namespace bora
