/*
 * core/include/dmp/txt.h - TXT RDATA: a value split into <=255-byte
 * character-strings and joined back (PROTOCOL.md 1.3, RFC 1035 3.3.14).
 */
#ifndef DMP_TXT_H
#define DMP_TXT_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

#define DMP_TXT_STRING_MAX 255
/** Largest DMP value a node stores (PROTOCOL.md 7.5 max_value_bytes). */
#define DMP_TXT_VALUE_MAX 2048

/** RDATA bytes needed for a value of @p len bytes. */
size_t dmp_txt_rdata_len(size_t len);

/**
 * Split @p value into consecutive 255-byte character-strings. An empty value
 * becomes one empty string.
 * @return RDATA length, or DMP_ENOBUFS / DMP_ETOOBIG (RDATA over 65535)
 */
int dmp_txt_split(uint8_t *rdata, size_t cap, const char *value, size_t len);

/**
 * Join the character-strings of one TXT RR. Fails on a string running past
 * the end of @p rdata. Writes a NUL after the value.
 * @param[out] out_len  joined length (without the NUL)
 * @return 0, DMP_EMALFORMED or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_txt_join(char *out, size_t cap, size_t *out_len,
				const uint8_t *rdata, size_t rdlen);

#endif /* DMP_TXT_H */
