/*
 * core/src/wire/cluster_i.h - cluster body codec without signature or
 * time checks, exposed for the fuzzer; not part of the public API.
 */
#ifndef DMP_WIRE_CLUSTER_I_H
#define DMP_WIRE_CLUSTER_I_H

#include "dmp/cluster.h"

/** Largest body the record cap admits: (1200 - prefix) * 3 / 4 - sig. */
#define DMP_CLUSTER_BODY_MAX 1024

/**
 * Strictly parse a signed body (everything before the signature): field
 * ranges, DNS-name rule, unique node ids, no trailing bytes.
 * @return 0, DMP_EMALFORMED or DMP_EBADNAME; @p out zeroed on failure
 */
int dmp_cluster_body_parse(struct dmp_cluster *out, const uint8_t *body,
			   size_t len);

/**
 * Validate @p c as sign does (without the key match) and encode its body.
 * @return body length, DMP_EINVAL, DMP_EBADNAME or DMP_ETOOBIG
 */
int dmp_cluster_body_encode(uint8_t *out, size_t cap,
			    const struct dmp_cluster *c);

#endif /* DMP_WIRE_CLUSTER_I_H */
