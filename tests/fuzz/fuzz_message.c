/*
 * tests/fuzz/fuzz_message.c - DMPMessage, EncryptedMessage and DMPHeader
 * parsers (PROTOCOL.md 4.3, 4.4), and opening with fixed keys (the
 * message_crypto.json recipient and prekey, so the vector seeds decrypt).
 * Properties: an accepted header rewrites to JSON that parses back to the
 * same header; views stay inside the input; an opened message's plaintext
 * is the payload minus 60 bytes; a seal of the input opens to the input.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/crypto.h"
#include "dmp/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* message_crypto.json: recipient long-term and prekey secrets. */
static const uint8_t recip_sk[32] = {
    0x7b, 0x65, 0xcb, 0xf9, 0x3b, 0x74, 0xfb, 0x53, 0xfa, 0xe5, 0x8a,
    0xcf, 0xd9, 0x7f, 0x8b, 0x24, 0xd3, 0xb6, 0x26, 0x3b, 0x88, 0x62,
    0x7b, 0x58, 0x0d, 0x1e, 0x44, 0x67, 0x4e, 0x4f, 0x95, 0xa3,
};
static const uint8_t prekey_sk[32] = {
    0xa4, 0xef, 0xe8, 0x7e, 0xc4, 0xa5, 0xab, 0x90, 0x29, 0x07, 0x01,
    0xec, 0x14, 0xac, 0x9e, 0x60, 0x61, 0x6c, 0x79, 0xba, 0x43, 0xe9,
    0x77, 0x8a, 0xf3, 0xa9, 0x83, 0x24, 0x0b, 0xbd, 0x78, 0x59,
};
#define PREKEY_ID 0x0a0b0c0du
#define NOW 1893456000

static void check_header(const struct dmp_header *h)
{
	char json[DMP_HEADER_JSON_MAX];
	struct dmp_header h2;
	int n = dmp_header_write(h, json, sizeof(json));

	if (n < 0 || dmp_header_parse(&h2, json, (size_t)n) != 0 ||
	    memcmp(h, &h2, sizeof(h2)) != 0) {
		abort();
	}
}

static void try_open(const uint8_t *sk, uint32_t id, const uint8_t *data,
		     size_t size, const struct dmp_message_view *v)
{
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	struct dmp_header h;
	int rc = dmp_message_open_sk(sk, id, data, size, NOW, &h, &pt, &pt_len);

	if (rc == 0) {
		if (!v || v->payload_len < 60 ||
		    pt_len != v->payload_len - 60 ||
		    memcmp(&h, &v->hdr, sizeof(h)) != 0) {
			abort();
		}
	} else if (pt != NULL || pt_len != 0) {
		abort();
	}
	free(pt);
}

static void seal_round_trip(const uint8_t *data, size_t size)
{
	static const uint8_t id[32] = {1};
	uint8_t pk[32], eph[32], nonce[12] = {0};
	uint8_t *m = NULL, *pt = NULL;
	size_t m_len = 0, pt_len = 0;
	struct dmp_header h;

	memset(eph, 0x5a, sizeof(eph));
	eph[0] = size ? data[0] : 0;
	dmp_x25519_base(pk, recip_sk);
	dmp_header_init(&h, id, id, id, NOW, 300);
	if (dmp_message_seal_fixed(&h, pk, 7, data, size, eph, nonce, &m,
				   &m_len) != 0 ||
	    dmp_message_open_sk(recip_sk, 7, m, m_len, NOW, NULL, &pt,
				&pt_len) != 0 ||
	    pt_len != size || (size && memcmp(pt, data, size) != 0)) {
		abort();
	}
	free(m);
	free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_message_view v;
	struct dmp_encrypted_view e;
	struct dmp_header h;
	const uint8_t *end = data + size;
	int parsed;

	parsed = dmp_message_parse(&v, data, size) == 0;
	if (parsed) {
		if (v.header_json != data + 2 ||
		    v.payload != data + 2 + v.header_len ||
		    v.payload + v.payload_len + 32 != end) {
			abort();
		}
		check_header(&v.hdr);
	}
	if (dmp_encrypted_parse(&e, data, size) == 0) {
		if (size < 44 || e.ct + e.ct_len != end) {
			abort();
		}
	}
	if (dmp_header_parse(&h, data, size) == 0) {
		check_header(&h);
	}
	try_open(recip_sk, 0, data, size, parsed ? &v : NULL);
	try_open(prekey_sk, PREKEY_ID, data, size, parsed ? &v : NULL);
	if (size > 0 && (data[size - 1] & 0x0f) == 0) {
		seal_round_trip(data, size);
	}
	return 0;
}
