/* tests/lib/tap.c - a tiny TAP producer. Exit status is what ctest reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int tap_planned;
static int tap_run;
static int tap_failed;
static int tap_skipped;

void plan(int n)
{
	tap_planned = n;
	if (n > 0) {
		printf("1..%d\n", n);
	}
}

__attribute__((format(printf, 2, 0))) static int
report(int cond, const char *fmt, va_list ap)
{
	tap_run++;
	if (!cond) {
		tap_failed++;
	}
	printf("%s %d - ", cond ? "ok" : "not ok", tap_run);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	return cond;
}

int is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		diag("  got: %lld, want: %lld", got, want);
	}
	return cond;
}

int is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int cond = got && want ? strcmp(got, want) == 0 : got == want;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		diag("  got:  '%s'", got ? got : "(null)");
		diag("  want: '%s'", want ? want : "(null)");
	}
	return cond;
}

static void diag_hex(const char *label, const void *p, size_t len)
{
	const unsigned char *b = p;

	printf("#   %s (%zu bytes): ", label, len);
	for (size_t i = 0; i < len && i < 96; i++) {
		printf("%02x", b[i]);
	}
	printf("%s\n", len > 96 ? "..." : "");
}

int is_mem(const void *got, size_t got_len, const void *want, size_t want_len,
	   const char *fmt, ...)
{
	va_list ap;
	int cond = got_len == want_len &&
		   (want_len == 0 || (got && memcmp(got, want, want_len) == 0));

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		diag_hex("got ", got, got ? got_len : 0);
		diag_hex("want", want, want_len);
	}
	return cond;
}

void skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(TAP_SKIP_EXIT);
}

void skip(int n, const char *fmt, ...)
{
	va_list ap;

	for (int i = 0; i < n; i++) {
		tap_run++;
		tap_skipped++;
		printf("ok %d # skip ", tap_run);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	fflush(stdout);
}

void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int done_testing(void)
{
	if (tap_planned <= 0) {
		printf("1..%d\n", tap_run);
	} else if (tap_planned != tap_run) {
		diag("planned %d checks but ran %d", tap_planned, tap_run);
		return 1;
	}
	if (tap_run == 0) {
		diag("no checks ran");
		return 1;
	}
	if (tap_failed) {
		diag("%d of %d checks failed", tap_failed, tap_run);
		return 1;
	}
	if (tap_skipped == tap_run) {
		diag("all %d checks skipped", tap_run);
		return TAP_SKIP_EXIT;
	}
	return 0;
}
