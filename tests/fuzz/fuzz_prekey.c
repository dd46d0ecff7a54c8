/*
 * tests/fuzz/fuzz_prekey.c - prekey record parser.
 *
 * Byte 0 picks the mode. Mode 0: the rest is a TXT value, checked against
 * the harness key (prekey.json's signer, so its vectors verify). Mode 1: the
 * rest is a body the harness signs, so the field checks after the signature are
 * reached. Accepted records must have prekey_id != 0, exp within 30 days of
 * now, rebuild the signed body exactly and (mode 1) re-sign to the same value.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/prekey.h"
#include "dmp/record.h"

/* prekey.json signs with this X25519 secret and has exp 2051222400. */
#define NOW (2051222400ULL - 86400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[32], sk[64];
	static int keyed;
	struct dmp_prekey p;
	uint8_t blob[256], re[DMP_PREKEY_BODY_BYTES];
	char value[512], again[512];
	const char *v;
	size_t vlen, blob_len;
	int len;

	if (!keyed) {
		static const uint8_t xsk[32] = {
		    0x45, 0xb6, 0xda, 0xf8, 0x77, 0xb1, 0x18, 0xed,
		    0x4d, 0xc7, 0xa6, 0x71, 0xa2, 0xc6, 0xc2, 0x2a,
		    0x2f, 0x94, 0x81, 0x28, 0xae, 0x90, 0xa1, 0x8b,
		    0x6a, 0xb7, 0x9e, 0xb2, 0x37, 0x6e, 0xf2, 0x1f,
		};

		dmp_ed25519_from_x25519(pk, sk, xsk);
		keyed = 1;
	}
	if (size < 1) {
		return 0;
	}
	if (data[0] & 1) {
		if (size - 1 > 128) {
			return 0;
		}
		len = dmp_record_sign_encode(value, sizeof(value),
					     DMP_PREFIX_PREKEY, data + 1,
					     size - 1, sk, 0);
		if (len < 0) {
			return 0;
		}
		v = value;
		vlen = (size_t)len;
	} else {
		v = (const char *)data + 1;
		vlen = size - 1;
	}
	if (dmp_prekey_parse_verify(&p, v, vlen, pk, NOW) != 0) {
		return 0;
	}
	if (p.prekey_id == 0 || (p.exp > NOW && p.exp - NOW > DMP_30_DAYS) ||
	    vlen != DMP_PREKEY_WIRE_LEN) {
		abort();
	}
	if (dmp_record_decode(blob, sizeof(blob), &blob_len, v, vlen,
			      DMP_PREFIX_PREKEY, 0, 0) != 0 ||
	    blob_len != DMP_PREKEY_BODY_BYTES + 64 ||
	    dmp_prekey_body(re, &p) != DMP_PREKEY_BODY_BYTES ||
	    memcmp(re, blob, sizeof(re)) != 0) {
		abort();
	}
	if (dmp_prekey_sign_encode(again, sizeof(again), &p, sk) !=
		DMP_PREKEY_WIRE_LEN ||
	    memcmp(again, v, vlen) != 0) {
		abort();
	}
	return 0;
}
