/*
 * core/src/wire/links_i.h - link record body codec without signature,
 * time checks or size fitting, exposed for the fuzzer and the unit test;
 * not part of the public API.
 */
#ifndef DMP_WIRE_LINKS_I_H
#define DMP_WIRE_LINKS_I_H

#include "dmp/links.h"

/** Largest body whose signed value fits DMP_RECORD_WIRE_MAX (824). */
#define DMP_LINKS_BODY_FIT 824
/** Room for any body the codec writes before fitting. */
#define DMP_LINKS_BODY_MAX                                                     \
	(7 + 32 + 1 + DMP_LINKS_ENDPOINT_MAX + 1 +                             \
	 DMP_LINKS_ZONES_MAX * (1 + DMP_LINKS_ZONE_MAX) + 1 +                  \
	 DMP_LINKS_PEERS_MAX * (32 + 2 + 1) + 24)

/**
 * Strictly parse a DMPLK01 body: every field rule of dmp/links.h, the
 * lifetime included (the clock is the caller's). @p why as
 * dmp_links_parse.
 * @return 0 or DMP_EMALFORMED; @p out zeroed on failure
 */
int dmp_links_body_parse(struct dmp_links *out, const uint8_t *body, size_t len,
			 unsigned flags, enum dmp_links_why *why);

/**
 * Check @p lk as sign does (without the key match; zones must already be
 * lower case without a trailing dot) and encode it in the given order,
 * nothing left out.
 * @return body length, DMP_EINVAL, DMP_EMALFORMED or DMP_ETOOBIG
 */
int dmp_links_body_encode(uint8_t *out, size_t cap, const struct dmp_links *lk,
			  unsigned flags);

#endif /* DMP_WIRE_LINKS_I_H */
