/*
 * core/src/wire/bootstrap_i.h - bootstrap body codec without signature or
 * time checks, exposed for the fuzzer; not part of the public API.
 */
#ifndef DMP_WIRE_BOOTSTRAP_I_H
#define DMP_WIRE_BOOTSTRAP_I_H

#include "dmp/bootstrap.h"

#define DMP_BOOTSTRAP_BODY_MAX 1024

/**
 * Strictly parse a signed body; entries are returned stably sorted.
 * @return 0, DMP_EMALFORMED or DMP_EBADNAME; @p out zeroed on failure
 */
int dmp_bootstrap_body_parse(struct dmp_bootstrap *out, const uint8_t *body,
			     size_t len);

/**
 * Validate @p b as sign does (without the key match) and encode its body
 * with the entries stably sorted by priority.
 * @return body length, DMP_EINVAL, DMP_EBADNAME or DMP_ETOOBIG
 */
int dmp_bootstrap_body_encode(uint8_t *out, size_t cap,
			      const struct dmp_bootstrap *b);

#endif /* DMP_WIRE_BOOTSTRAP_I_H */
