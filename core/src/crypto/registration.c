/*
 * core/src/crypto/registration.c - the byte strings of TSIG
 * self-registration (PROTOCOL.md 7.2): built here once, for the client
 * that signs and proves and for the node that verifies; checked against
 * vectors/registration.json.
 */
#include <ctype.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/registration.h"

#define SUBJECT_MAX 320

int dmp_registration_payload(uint8_t *out, size_t cap, size_t *out_len,
			     const uint8_t challenge[32], const char *subject,
			     const char *node)
{
	size_t sl, nl, off = 0;

	if (out_len) {
		*out_len = 0;
	}
	if (!out || !out_len || !challenge || !subject || !node) {
		return DMP_EINVAL;
	}
	sl = strlen(subject);
	nl = strlen(node);
	if (sl == 0 || nl == 0) {
		return DMP_EINVAL;
	}
	if (cap < 32 + sl + nl + 1) {
		return DMP_ENOBUFS;
	}
	memcpy(out, challenge, 32);
	off = 32;
	/* The node lower-cases the subject before verifying (7.2). */
	for (size_t i = 0; i < sl; i++) {
		out[off++] = (uint8_t)tolower((unsigned char)subject[i]);
	}
	memcpy(out + off, node, nl);
	off += nl;
	out[off++] = 0x01; /* payload version */
	*out_len = off;
	return 0;
}

int dmp_registration_pop(uint8_t pop[32], const uint8_t x_sk[32],
			 const uint8_t x_pub[32], const uint8_t server_pub[32],
			 const uint8_t challenge[32], const char *subject)
{
	uint8_t shared[DMP_X25519_BYTES];
	uint8_t msg[32 + SUBJECT_MAX + 32];
	size_t sl = subject ? strlen(subject) : 0;
	int rc;

	memset(pop, 0, 32);
	if (!subject || sl == 0) {
		return DMP_EINVAL;
	}
	if (sl > SUBJECT_MAX) {
		return DMP_ENOBUFS;
	}
	rc = dmp_x25519(shared, x_sk, server_pub);
	if (rc < 0) {
		goto out;
	}
	memcpy(msg, challenge, 32);
	memcpy(msg + 32, subject, sl);
	memcpy(msg + 32 + sl, x_pub, 32);
	dmp_hmac_sha256(pop, shared, sizeof(shared), msg, 32 + sl + 32);
out:
	dmp_wipe(shared, sizeof(shared));
	return rc;
}
