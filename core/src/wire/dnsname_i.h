/*
 * core/src/wire/dnsname_i.h - text checks shared by the wire record
 * modules; not part of the public API.
 */
#ifndef DMP_WIRE_DNSNAME_I_H
#define DMP_WIRE_DNSNAME_I_H

#include <stddef.h>
#include <stdint.h>

/**
 * 1 if @p s is well-formed UTF-8 as Python's strict decoder sees it (no
 * overlong forms, no surrogates, nothing past U+10FFFF) and also holds no
 * NUL, so the text survives being stored as a C string.
 */
int dmp_utf8_valid(const uint8_t *s, size_t len);

/** 1 if every byte is printable ASCII (0x20..0x7e). */
int dmp_ascii_printable(const uint8_t *s, size_t len);

#endif /* DMP_WIRE_DNSNAME_I_H */
