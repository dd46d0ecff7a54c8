/*
 * tests/unit/resolver_pool.h - helpers shared by the resolver pool tests
 * (header-only; test_resolver.c, test_resolver_ref.c).
 */
#ifndef DMP_TEST_RESOLVER_POOL_H
#define DMP_TEST_RESOLVER_POOL_H

#include <string.h>

#include "dmp/resolver.h"

/* A pool of one or two servers (@p s1 NULL: one), RD off, the defaults
 * otherwise; @p clock NULL for the real one. */
static __attribute__((unused)) int pool_new(struct dmp_resolver **r,
					    const char *s0, const char *s1,
					    unsigned timeout_ms,
					    dmp_clock_ms_fn clock)
{
	struct dmp_resolver_opts o;
	const char *list[2] = {s0, s1};

	dmp_resolver_opts_default(&o);
	o.servers = list;
	o.n_servers = s1 ? 2 : 1;
	o.timeout_ms = timeout_ms;
	o.rd = 0;
	o.clock = clock;
	return dmp_resolver_new(r, &o);
}

/* Server @p i's stats (zeroed if there is no such server). */
static __attribute__((unused)) void stat_of(struct dmp_resolver *r, size_t i,
					    struct dmp_resolver_stat *st)
{
	struct dmp_resolver_stat all[4];

	memset(st, 0, sizeof(*st));
	if (dmp_resolver_stats(r, all, 4) > i) {
		*st = all[i];
	}
}

#endif /* DMP_TEST_RESOLVER_POOL_H */
