/*
 * core/include/dmp/registration.h - the byte strings of TSIG
 * self-registration (PROTOCOL.md 7.2), shared by the client (which signs
 * and proves) and the node (which verifies), so both build them the same
 * way. Checked against tests/vectors/registration.json.
 */
#ifndef DMP_REGISTRATION_H
#define DMP_REGISTRATION_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/**
 * The bytes signed for tsig-confirm: challenge(32) || lower(subject) ||
 * node || 0x01.
 * @param[out] out_len  bytes written
 * @return 0, DMP_EINVAL (empty subject or node), DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_registration_payload(uint8_t *out, size_t cap,
					    size_t *out_len,
					    const uint8_t challenge[32],
					    const char *subject,
					    const char *node);
/**
 * x25519_pop = HMAC-SHA256(key = X25519(x_sk, server_pub),
 * msg = challenge || subject || x_pub), subject as given.
 *
 * The node computes the same value from its side: @p x_sk its own secret,
 * @p server_pub and @p x_pub both the client's x25519_pub.
 * @return 0, DMP_EWEAKSECRET (low-order peer key), DMP_ENOBUFS (subject
 *         over 320 bytes)
 */
DMP_MUST_CHECK int dmp_registration_pop(uint8_t pop[32], const uint8_t x_sk[32],
					const uint8_t x_pub[32],
					const uint8_t server_pub[32],
					const uint8_t challenge[32],
					const char *subject);

#endif /* DMP_REGISTRATION_H */
