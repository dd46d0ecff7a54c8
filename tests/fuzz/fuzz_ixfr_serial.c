/*
 * tests/fuzz/fuzz_ixfr_serial.c - the client's serial in an IXFR request
 * (RFC 1995 3; dmp_nx_ixfr_serial in core/src/node/node_xfr.c): any message
 * is read within its bounds, and the answer is one of the three documented.
 * Whole IXFR requests to a node are fuzzed by fuzz_node_packet.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "node/node_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zone[] = "\4mesh\4test";
	struct qinfo qi;
	uint32_t serial = 0;
	uint8_t *copy = malloc(size ? size : 1);
	int rc;

	if (!copy) {
		return 0;
	}
	/* An exact-size copy, so ASan sees any read past the end. */
	memcpy(copy, data, size);
	if (dmp_nq_parse_query(copy, size, &qi) == 0) {
		rc =
		    dmp_nx_ixfr_serial(copy, size, qi.qd_end, qi.name, &serial);
		if (rc != 0 && rc != DMP_ENOENT && rc != DMP_EMALFORMED) {
			abort();
		}
	}
	rc = dmp_nx_ixfr_serial(copy, size, size < 12 ? 0 : 12, zone, &serial);
	if (rc != 0 && rc != DMP_ENOENT && rc != DMP_EMALFORMED) {
		abort();
	}
	free(copy);
	return 0;
}
