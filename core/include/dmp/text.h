/* core/include/dmp/text.h - text checks shared by every parser. */
#ifndef DMP_TEXT_H
#define DMP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/**
 * 1 if @p s[0..len) is well-formed UTF-8 as Python's strict decoder sees it
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) and
 * holds no NUL, so the text survives being handled as a C string; else 0.
 */
int dmp_utf8_valid(const uint8_t *s, size_t len);

/** 1 if every byte is printable ASCII (0x20..0x7e). */
int dmp_ascii_printable(const uint8_t *s, size_t len);

#endif /* DMP_TEXT_H */
