/* tests/fuzz/fuzz_addr.c - HOST[:PORT] split and numeric parse: never
 * crash, never read past the input, and what is split stays inside it. */
#include <stdlib.h>
#include <string.h>

#include "dmp/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct sockaddr_storage ss;
	struct dmp_hostport hp;
	char buf[512];
	socklen_t sl;

	if (dmp_hostport_split(&hp, s, size, 53, 0) == 0) {
		if (hp.host_len == 0 || hp.host < s ||
		    hp.host + hp.host_len > s + size || hp.port == 0 ||
		    (hp.bracketed && s[0] != '[')) {
			abort();
		}
	}
	if (size >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* Numeric only: a fuzzer must not send name lookups anywhere. */
	if (dmp_addr_parse(buf, 53, DMP_ADDR_NUMERIC, &ss, &sl) == 0 &&
	    ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		abort();
	}
	return 0;
}
