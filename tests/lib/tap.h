/* tests/lib/tap.h - a tiny TAP producer for the unit tests. */
#ifndef DMP_TEST_TAP_H
#define DMP_TEST_TAP_H

#include <stddef.h>
#include <stdint.h>

#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/** Exit status of a test that skipped everything; ctest shows it as
 * skipped (SKIP_RETURN_CODE in tests/CMakeLists.txt). */
#define TAP_SKIP_EXIT 77

/**
 * Announce how many checks follow. Every test file declares its plan
 * (tests/check_tests.py rejects plan(0), the old "count as we go").
 */
void plan(int n);
/**
 * Nothing can run here (a tool or device is missing): print the TAP
 * "1..0 # SKIP reason" and exit with TAP_SKIP_EXIT. Call it instead of
 * plan(), before any check.
 */
__attribute__((noreturn)) void skip_all(const char *fmt, ...) TAP_PRINTF(1, 2);
/** Record @p n planned checks as skipped, with the reason. */
void skip(int n, const char *fmt, ...) TAP_PRINTF(2, 3);
/** Record one check; returns @p cond so callers can bail out early. */
int ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);
int is_int(long long got, long long want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
int is_str(const char *got, const char *want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
int is_mem(const void *got, size_t got_len, const void *want, size_t want_len,
	   const char *fmt, ...) TAP_PRINTF(5, 6);
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/** Print the summary; returns the process exit code: 0 if all passed,
 * TAP_SKIP_EXIT if every check was skipped, else 1. */
int done_testing(void);

#endif /* DMP_TEST_TAP_H */
