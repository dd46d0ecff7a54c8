/*
 * core/src/wire/heartbeat_i.h - heartbeat body codec without signature or
 * time checks, exposed for the fuzzer; not part of the public API.
 */
#ifndef DMP_WIRE_HEARTBEAT_I_H
#define DMP_WIRE_HEARTBEAT_I_H

#include "dmp/heartbeat.h"

#define DMP_HEARTBEAT_BODY_MAX 1024

/**
 * Strictly parse a DMPHB03 or DMPHB02 body, endpoint check included.
 * @return 0 or DMP_EMALFORMED; @p out zeroed on failure
 */
int dmp_heartbeat_body_parse(struct dmp_heartbeat *out, const uint8_t *body,
			     size_t len, unsigned flags);

/**
 * Validate @p hb as sign does (without the key match) and encode a
 * DMPHB03 body.
 * @return body length, DMP_EINVAL, DMP_EMALFORMED or DMP_ETOOBIG
 */
int dmp_heartbeat_body_encode(uint8_t *out, size_t cap,
			      const struct dmp_heartbeat *hb, unsigned flags);

#endif /* DMP_WIRE_HEARTBEAT_I_H */
