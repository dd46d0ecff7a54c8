/*
 * tests/fuzz/fuzz_names.c - owner-name builders on arbitrary zones and
 * usernames. Byte 0 picks the builder, byte 1 a slot/index, then a username
 * up to the first NUL and a zone up to the next. Every success must be
 * lower-case, have no trailing dot, fit 253 bytes, end in the lower-cased
 * zone, and fail with DMP_ENOBUFS when given one byte less.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int build(unsigned which, char *out, size_t cap, uint32_t n,
		 const char *user, size_t ulen, const char *zone)
{
	static const uint8_t rid[32] = {1, 2, 3};

	switch (which % 14) {
	case 0: return dmp_name_slot(out, cap, n, rid, zone);
	case 1: return dmp_name_claim(out, cap, n, rid, zone);
	case 2: return dmp_name_chunk(out, cap, n, "0123456789ab", zone);
	case 3: return dmp_name_identity(out, cap, user, ulen, zone);
	case 4: return dmp_name_prekeys(out, cap, user, ulen, zone);
	case 5: return dmp_name_identity_anchored(out, cap, zone);
	case 6: return dmp_name_cluster(out, cap, zone);
	case 7: return dmp_name_bootstrap(out, cap, zone);
	case 8: return dmp_name_heartbeat(out, cap, zone);
	case 9: return dmp_name_seen(out, cap, zone);
	case 10: return dmp_name_rotation_user(out, cap, user, ulen, zone);
	case 11: return dmp_name_rotation_user_anchored(out, cap, zone);
	case 12: return dmp_name_rotation_cluster(out, cap, zone);
	default: return dmp_name_rotation_bootstrap(out, cap, zone);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[600], zone[300], out[DMP_NAME_MAX], small[DMP_NAME_MAX];
	const char *user, *z;
	size_t ulen, zlen;
	int len;

	if (size < 2 || size - 2 >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	user = buf;
	ulen = strlen(user);
	z = ulen < size - 2 ? buf + ulen + 1 : "";
	zlen = strlen(z);
	if (zlen >= sizeof(zone)) {
		return 0;
	}
	memcpy(zone, z, zlen + 1);
	len = build(data[0], out, sizeof(out), data[1], user, ulen, zone);
	if (len < 0) {
		if (out[0] != '\0') {
			abort();
		}
		return 0;
	}
	if ((size_t)len != strlen(out) || len > 253 || len < 1 ||
	    out[len - 1] == '.') {
		abort();
	}
	for (int i = 0; i < len; i++) {
		if ((out[i] >= 'A' && out[i] <= 'Z') ||
		    (unsigned char)out[i] <= 0x20 ||
		    (unsigned char)out[i] >= 0x7f) {
			abort();
		}
	}
	if (zlen && zone[zlen - 1] == '.') {
		zlen--;
	}
	if ((size_t)len <= zlen || out[(size_t)len - zlen - 1] != '.' ||
	    strncasecmp(out + len - zlen, zone, zlen) != 0) {
		abort();
	}
	if (build(data[0], small, (size_t)len, data[1], user, ulen, zone) !=
	    DMP_ENOBUFS) {
		abort();
	}
	return 0;
}
