// check.h - a tiny check helper for the native tests: CHECK records a failure with its
// location and keeps going; main() returns check_exit_code() so CTest sees the result.
#pragma once

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace check {

inline int& failures() {
    static int n = 0;
    return n;
}
inline int& checks() {
    static int n = 0;
    return n;
}

inline bool report(bool ok, const char* file, int line, const char* expr, const char* fmt = nullptr, ...)
    __attribute__((format(printf, 5, 6)));

inline bool report(bool ok, const char* file, int line, const char* expr, const char* fmt, ...) {
    ++checks();
    if (ok) return true;
    ++failures();
    std::fprintf(stderr, "FAILED %s:%d: %s", file, line, expr);
    if (fmt) {
        std::fprintf(stderr, " -- ");
        va_list ap;
        va_start(ap, fmt);
        std::vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    std::fprintf(stderr, "\n");
    if (failures() > 50) {
        std::fprintf(stderr, "too many failures, stopping\n");
        std::exit(1);
    }
    return false;
}

// Prints a summary; nonzero when a check failed or when nothing was checked at all.
inline int exit_code(const char* name) {
    std::printf("%s: %d checks, %d failed\n", name, checks(), failures());
    return failures() == 0 && checks() > 0 ? 0 : 1;
}

}  // namespace check

#define CHECK(cond) ::check::report(bool(cond), __FILE__, __LINE__, #cond)
#define CHECK_MSG(cond, ...) ::check::report(bool(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
