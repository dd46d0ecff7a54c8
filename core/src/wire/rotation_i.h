/*
 * core/src/wire/rotation_i.h - rotation and revocation body codecs without
 * signature or time checks, exposed for the fuzzer; not public API.
 */
#ifndef DMP_WIRE_ROTATION_I_H
#define DMP_WIRE_ROTATION_I_H

#include "dmp/rotation.h"

#define DMP_ROTATION_BODY_MAX 512

/** @return 0, DMP_EMALFORMED or DMP_EBADNAME; @p out zeroed on failure */
int dmp_rotation_body_parse(struct dmp_rotation *out, const uint8_t *body,
			    size_t len);
/** @return body length, DMP_EINVAL, DMP_EBADNAME or DMP_ETOOBIG */
int dmp_rotation_body_encode(uint8_t *out, size_t cap,
			     const struct dmp_rotation *r);
/** @return 0, DMP_EMALFORMED or DMP_EBADNAME; @p out zeroed on failure */
int dmp_revocation_body_parse(struct dmp_revocation *out, const uint8_t *body,
			      size_t len);
/** @return body length, DMP_EINVAL, DMP_EBADNAME or DMP_ETOOBIG */
int dmp_revocation_body_encode(uint8_t *out, size_t cap,
			       const struct dmp_revocation *r);

#endif /* DMP_WIRE_ROTATION_I_H */
