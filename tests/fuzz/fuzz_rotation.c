/*
 * tests/fuzz/fuzz_rotation.c - rotation and revocation (PROTOCOL.md
 * 2.9-2.10): both TXT parsers, both strict body parsers and the subject
 * check. Bodies that parse must re-encode byte for byte (subjects are
 * kept as written) and pass the full signed path with known keys. The
 * input split at newlines is also an RRset for the rotation walk (8).
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/rotation.h"
#include "wire/rotation_i.h"

#define NOW 1900000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t a_pk[32], a_sk[64], b_pk[32], b_sk[64];

static void init_keys(void)
{
	static int done;

	if (done) {
		return;
	}
	if (dmp_init() != 0) {
		abort();
	}
	dmp_ed25519_from_seed(
	    a_pk, a_sk, (const uint8_t *)"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	dmp_ed25519_from_seed(
	    b_pk, b_sk, (const uint8_t *)"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	done = 1;
}

static void check_rotation(const uint8_t *data, size_t size)
{
	struct dmp_rotation r, r2;
	uint8_t enc[DMP_ROTATION_BODY_MAX];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int n, rc;

	rc = dmp_rotation_body_parse(&r, data, size);
	if (rc != 0) {
		if (rc != DMP_EMALFORMED && rc != DMP_EBADNAME) {
			abort();
		}
		return;
	}
	if (dmp_subject_check(r.subject_type, r.subject, strlen(r.subject)) !=
	    0) {
		abort();
	}
	n = dmp_rotation_body_encode(enc, sizeof(enc), &r);
	if (n < 0 || (size_t)n != size || memcmp(enc, data, size) != 0) {
		abort();
	}
	memcpy(r.old_spk, a_pk, 32);
	memcpy(r.new_spk, b_pk, 32);
	r.exp = NOW;
	rc = dmp_rotation_sign(wire, sizeof(wire), &r, a_sk, b_sk);
	if (rc < 0 ||
	    dmp_rotation_parse(&r2, wire, (size_t)rc, a_pk, r.subject,
			       strlen(r.subject), NOW) != 0 ||
	    memcmp(&r, &r2, sizeof(r)) != 0) {
		abort();
	}
}

static void check_revocation(const uint8_t *data, size_t size)
{
	struct dmp_revocation v, v2;
	uint8_t enc[DMP_ROTATION_BODY_MAX];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int n, rc;

	rc = dmp_revocation_body_parse(&v, data, size);
	if (rc != 0) {
		if (rc != DMP_EMALFORMED && rc != DMP_EBADNAME) {
			abort();
		}
		return;
	}
	n = dmp_revocation_body_encode(enc, sizeof(enc), &v);
	if (n < 0 || (size_t)n != size || memcmp(enc, data, size) != 0) {
		abort();
	}
	memcpy(v.revoked_spk, a_pk, 32);
	v.ts = NOW;
	rc = dmp_revocation_sign(wire, sizeof(wire), &v, a_sk);
	if (rc < 0 ||
	    dmp_revocation_parse(&v2, wire, (size_t)rc, a_pk, v.subject,
				 strlen(v.subject), NOW, 1) != 0 ||
	    memcmp(&v, &v2, sizeof(v)) != 0) {
		abort();
	}
}

/* The walk over up to 16 newline-separated values: only its documented
 * results, at most 4 hops, the pinned key kept on failure. */
static void check_walk(const uint8_t *data, size_t size)
{
	static const char subj[] = "alice@mesh.test";
	const char *v[16];
	size_t l[16], n = 0, start = 0;
	struct dmp_rotation_walk w;
	int rc;

	for (size_t i = 0; i <= size && n < 16; i++) {
		if (i == size || data[i] == '\n') {
			v[n] = (const char *)data + start;
			l[n++] = i - start;
			start = i + 1;
		}
	}
	rc = dmp_rotation_walk(&w, a_pk, DMP_SUBJECT_USER, subj, strlen(subj),
			       v, l, n, NOW);
	if ((rc != 0 && rc != DMP_EREVOKED && rc != DMP_ECHAIN) || w.hops < 0 ||
	    w.hops > DMP_ROTATION_MAX_HOPS ||
	    (rc != 0 && (w.hops != 0 || memcmp(w.head, a_pk, 32) != 0))) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_rotation r;
	struct dmp_revocation v;
	int rc;

	init_keys();
	rc = dmp_rotation_parse(&r, (const char *)data, size, NULL, NULL, 0,
				NOW);
	if (rc == 0 && (memcmp(r.old_spk, r.new_spk, 32) == 0 || r.exp < NOW)) {
		abort();
	}
	rc = dmp_revocation_parse(&v, (const char *)data, size, NULL, NULL, 0,
				  NOW, 0);
	if (rc == 0 && (v.reason < 1 || v.reason > 4)) {
		abort();
	}
	check_rotation(data, size);
	check_revocation(data, size);
	check_walk(data, size);
	if (size > 0) {
		rc = dmp_subject_check(data[0], (const char *)data + 1,
				       size - 1);
		if (rc != 0 && rc != DMP_EINVAL && rc != DMP_EBADNAME) {
			abort();
		}
	}
	return 0;
}
