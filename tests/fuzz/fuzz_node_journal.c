/*
 * tests/fuzz/fuzz_node_journal.c - the node's update log as read at start
 * (core/src/node/node_journal.c): any file image is scanned without
 * crashing; the chain it returns is consecutive and inside the image; and
 * every record payload that parses re-encodes to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/common.h"
#include "node/node_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct st {
	uint64_t last;
	int n;
};

static int on_record(uint64_t seq, const uint8_t *p, size_t len, void *ud)
{
	struct st *s = ud;
	struct nop *ops = NULL;
	const struct nop **ptr;
	struct dmp_wbuf w;
	size_t n = 0;
	uint64_t now = 0;

	if (s->n > 0 && seq != s->last + 1) {
		abort(); /* the chain must be consecutive */
	}
	s->last = seq;
	s->n++;
	if (dmp_nj_ops_decode(p, len, &ops, &n, &now) != 0) {
		if (ops || n) {
			abort();
		}
		return 0;
	}
	ptr = malloc(n * sizeof(*ptr));
	if (!ptr) {
		abort();
	}
	for (size_t i = 0; i < n; i++) {
		ptr[i] = &ops[i];
	}
	dmp_wbuf_init_dyn(&w);
	if (dmp_nj_ops_encode(&w, ptr, n, now) != 0 || w.len != len ||
	    memcmp(w.p, p, len) != 0) {
		abort(); /* accepted payloads re-encode identically */
	}
	dmp_wbuf_clear(&w);
	free(ptr);
	dmp_nj_ops_free(ops, n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct st s = {0, 0};
	uint64_t tail, next;
	int torn;

	if (!inited) {
		if (dmp_init() != 0) {
			abort();
		}
		inited = 1;
	}
	if (dmp_nj_scan(data, size, on_record, &s, &tail, &next, &torn) != 0) {
		return 0;
	}
	if (tail % NJ_SECTOR != 0 || tail > size || tail < NJ_SECTOR ||
	    (s.n > 0 && next <= s.last) || (s.n == 0 && tail != NJ_SECTOR)) {
		abort();
	}
	return 0;
}
