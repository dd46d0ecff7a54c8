/* core/include/dmp/text.h - text checks shared by every parser. */
#ifndef DMP_TEXT_H
#define DMP_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/**
 * 1 if @p s[0..len) is well-formed UTF-8 as Python's strict decoder sees it
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) and
 * holds no NUL, so the text survives being handled as a C string; else 0.
 *
 * The one UTF-8 check of the library, for record fields (usernames,
 * endpoints, subjects) and for the values a node takes (UPDATE, HTTP API).
 * NUL is refused everywhere: no DMP value can hold one (every record is an
 * ASCII "v=..." string of base64, PROTOCOL.md 1.3-1.5, and names and
 * endpoints are C strings), while a NUL inside a value would make the
 * node's C-string handling (logs, the store, dmpfs) see a different value
 * than the bytes on the wire. Python's decoder accepts U+0000, so a node
 * here refuses (REFUSED, HTTP 400) a value the reference node would store;
 * no DMP writer produces one.
 */
int dmp_utf8_valid(const uint8_t *s, size_t len);

/** 1 if every byte is printable ASCII (0x20..0x7e). */
int dmp_ascii_printable(const uint8_t *s, size_t len);

/**
 * The one strict integer parser for settings and flags: @p s is an
 * optional '-' and decimal digits only (no sign '+', no spaces, no
 * trailing text, not empty), and its value lies in [@p min, @p max].
 * Used by the config loader and every command-line number.
 * @return 0 (value in @p out), DMP_EINVAL (not an integer) or DMP_ERANGE
 *         (an integer outside [min, max]; @p out untouched)
 */
int dmp_parse_int(const char *s, long long min, long long max, long long *out);

/**
 * @p t (Unix seconds) as ISO 8601 UTC, "2026-12-06T17:05:09Z", into
 * @p out (at least 21 bytes); "-" for 0 or less. The one formatter of
 * human-readable times (.status, .events, dmp status, key list).
 * @return @p out
 */
const char *dmp_time_utc(char *out, size_t cap, int64_t t);

/**
 * Columns @p s takes on a terminal: UTF-8 decoded, each code point's
 * wcwidth() under C.UTF-8 (for the call only, whatever the process
 * locale; 1 when it says -1 or the bytes are not UTF-8), so a table with
 * non-ASCII aliases lines up.
 */
size_t dmp_display_width(const char *s);

/** Print @p s padded with spaces to @p width display columns. */
void dmp_print_padded(FILE *f, const char *s, size_t width);

/**
 * @p in as one field of a space-separated log line: as is when it is
 * non-empty printable ASCII/UTF-8 without space, '"' or '\\'; else in
 * double quotes with '"' and '\\' escaped by a backslash and control
 * bytes as \\xHH. Cut to fit @p cap (always terminated).
 * @return @p out
 */
const char *dmp_log_field(char *out, size_t cap, const char *in);

#endif /* DMP_TEXT_H */
