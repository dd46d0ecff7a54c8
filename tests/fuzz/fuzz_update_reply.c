/* tests/fuzz/fuzz_update_reply.c - UPDATE reply checking on arbitrary
 * bytes, as the reply to a fixed signed request. Property: no input is
 * ever accepted as success (that would need the HMAC key), and the codes
 * stay within the documented set. */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t secret[32] = {0xca, 0x29, 0x4c, 0x0e};
	static struct dmp_tsig_key *key;
	uint8_t mac[DMP_TSIG_MAC_BYTES];
	int rc, rcode, terr;

	if (!key && dmp_tsig_key_new(&key, "alice-e6b58e23-541308.mesh.test.",
				     secret, sizeof(secret)) != 0) {
		abort();
	}
	memset(mac, 0x5a, sizeof(mac));
	rc = dmp_update_check_reply(data, size, 0x1234, mac, key, 1893456000,
				    &rcode, &terr);
	switch (rc) {
	case DMP_EDNS:
	case DMP_EBADTSIG:
	case DMP_ENOTAUTH:
	case DMP_ECLOCKSKEW:
	case DMP_ENOMEM: break;
	default: abort();
	}
	if (rcode < -1 || rcode > 4095 || terr < 0 || terr > 65535) {
		abort();
	}
	/* Unsigned checking may succeed, but only on rcode 0. */
	rc = dmp_update_check_reply(data, size, 0x1234, mac, NULL, 0, &rcode,
				    &terr);
	if (rc == 0 && rcode != 0) {
		abort();
	}
	return 0;
}
