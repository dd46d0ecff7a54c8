/* tests/lib/tap.h - a tiny TAP producer for the unit tests. */
#ifndef DMP_TEST_TAP_H
#define DMP_TEST_TAP_H

#include <stddef.h>
#include <stdint.h>

#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/** Announce how many checks follow; 0 means "count as we go". */
void plan(int n);
/** Record one check; returns @p cond so callers can bail out early. */
int ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);
int is_int(long long got, long long want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
int is_str(const char *got, const char *want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
int is_mem(const void *got, size_t got_len, const void *want, size_t want_len,
	   const char *fmt, ...) TAP_PRINTF(5, 6);
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/** Print the summary; returns the process exit code (0 if all passed). */
int done_testing(void);

#endif /* DMP_TEST_TAP_H */
