/*
 * tests/unit/test_relay_dup.c - the duplicate cache of DMP-RELAY/1 bundle
 * ids (core/src/node/node_relay_dup.c, docs/protocol.md 8.7.2): seen after
 * add and not before, expiry, the oldest evicted when full, a later expiry
 * kept, bad ids refused, and the table still finding every id after many
 * evictions (the backward-shift deletion).
 */
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/node.h"
#include "node/node_relay_i.h"
#include "tap.h"

static void id_of(unsigned i, char out[33])
{
	snprintf(out, 33, "%08x%08x%08x%08x", i, i * 2654435761u, ~i, 7u);
}

int main(void)
{
	struct dmp_nrd *d = NULL;
	char a[33], b[33], c[33];
	int all = 1;

	plan(17);
	ok(dmp_nrd_new(&d, 0) == DMP_EINVAL && !d, "max 0 refused");
	ok(dmp_nrd_new(&d, DMP_NODE_RELAY_DUP_MAX + 1) == DMP_EINVAL,
	   "max over %d refused", DMP_NODE_RELAY_DUP_MAX);
	ok(dmp_nrd_new(&d, 3) == 0 && d, "a cache of 3");
	id_of(1, a);
	id_of(2, b);
	id_of(3, c);
	ok(!dmp_nrd_seen(d, a, 100), "not seen before add");
	ok(dmp_nrd_add(d, a, 200, 100) == 0 && dmp_nrd_seen(d, a, 100),
	   "seen after add");
	ok(!dmp_nrd_seen(d, a, 200), "not seen at its expiry");
	ok(dmp_nrd_add(d, a, 150, 100) == 0 && dmp_nrd_seen(d, a, 199),
	   "a second add keeps the later expiry");
	ok(dmp_nrd_add(d, "ABCDEF00ABCDEF00ABCDEF00ABCDEF00", 200, 100) ==
		   DMP_EINVAL &&
	       dmp_nrd_add(d, "abc", 200, 100) == DMP_EINVAL &&
	       !dmp_nrd_seen(d, "abc", 100),
	   "upper-case or short ids refused");
	ok(dmp_nrd_add(d, b, 300, 100) == 0 &&
	       dmp_nrd_add(d, c, 300, 100) == 0 && dmp_nrd_count(d) == 3,
	   "three held");
	{
		char e[33];

		id_of(4, e);
		ok(dmp_nrd_add(d, e, 300, 100) == 0 &&
		       !dmp_nrd_seen(d, a, 100) && dmp_nrd_seen(d, b, 100) &&
		       dmp_nrd_seen(d, e, 100) && dmp_nrd_count(d) == 3,
		   "full: the oldest evicted");
	}
	dmp_nrd_free(d);
	d = NULL;
	/* Expired ones at the old end go before a newer one is evicted. */
	ok(dmp_nrd_new(&d, 3) == 0, "a cache of 3 again");
	ok(dmp_nrd_add(d, a, 110, 100) == 0 &&
	       dmp_nrd_add(d, b, 500, 100) == 0 &&
	       dmp_nrd_add(d, c, 500, 120) == 0 && dmp_nrd_count(d) == 2 &&
	       dmp_nrd_seen(d, b, 120),
	   "an expired oldest dropped on add");
	dmp_nrd_free(d);
	d = NULL;
	/* Many ids through a small table: every held one found, every
	 * evicted one gone. */
	ok(dmp_nrd_new(&d, 64) == 0, "a cache of 64");
	for (unsigned i = 0; i < 5000; i++) {
		char x[33];

		id_of(i, x);
		if (dmp_nrd_add(d, x, 1000, 1) < 0) {
			all = 0;
		}
	}
	ok(all && dmp_nrd_count(d) == 64, "5000 added, 64 held");
	all = 1;
	for (unsigned i = 5000 - 64; i < 5000; i++) {
		char x[33];

		id_of(i, x);
		all &= dmp_nrd_seen(d, x, 2);
	}
	ok(all, "the newest 64 all found");
	all = 1;
	for (unsigned i = 0; i < 5000 - 64; i++) {
		char x[33];

		id_of(i, x);
		all &= !dmp_nrd_seen(d, x, 2);
	}
	ok(all, "the evicted ones all gone");
	dmp_nrd_free(d);
	dmp_nrd_free(NULL);
	ok(dmp_nrd_new(&d, DMP_NODE_RELAY_DUP_MAX) == 0,
	   "the node's size allocates");
	dmp_nrd_free(d);
	return done_testing();
}
