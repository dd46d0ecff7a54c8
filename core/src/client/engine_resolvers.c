/*
 * core/src/client/engine_resolvers.c - resolver discovery for `dmp
 * resolvers discover`: probe candidates, the configured resolvers and
 * the nameservers of /etc/resolv.conf with a TXT query for our own
 * identity name, rank them, optionally save the best.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "engine_i.h"

/* ---- resolver discovery -------------------------------------------------- */

#define DISCOVER_SAVE_MAX 4

static int probe_add(struct dmp_resolver_probe *v, size_t *n, size_t cap,
		     const char *addr)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(v[i].addr, addr) == 0) {
			return 0;
		}
	}
	if (*n >= cap || strlen(addr) >= sizeof(v[0].addr)) {
		return 0;
	}
	memset(&v[*n], 0, sizeof(v[0]));
	snprintf(v[*n].addr, sizeof(v[0].addr), "%s", addr);
	v[*n].rtt_ms = -1;
	(*n)++;
	return 0;
}

static void resolv_conf_servers(struct dmp_resolver_probe *v, size_t *n,
				size_t cap)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	char line[256], addr[64];

	if (!f) {
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %63s", addr) == 1) {
			probe_add(v, n, cap, addr);
		}
	}
	fclose(f);
}

static int probe_better(const struct dmp_resolver_probe *a,
			const struct dmp_resolver_probe *b)
{
	if (a->grade != b->grade) {
		return a->grade > b->grade;
	}
	if (a->rtt_ms < 0 || b->rtt_ms < 0) {
		return a->rtt_ms >= 0 && b->rtt_ms < 0;
	}
	return a->rtt_ms < b->rtt_ms;
}

/* One pool per server, so each answer is that server's own: a TXT query
 * for @p name, its outcome, round trip and grade in v[i]. */
static void probe_all(struct dmp_engine *e, struct dmp_resolver_probe *v,
		      size_t nv, const char *name)
{
	for (size_t i = 0; i < nv; i++) {
		struct dmp_resolver_result res;
		const char *q = name;
		int64_t t0;
		int rc;

		memset(&res, 0, sizeof(res));
		t0 = dmp_eng_mono_ms();
		rc = dmp_eng_read_at(e, v[i].addr, &q, 1, &res,
				     (unsigned)e->conf.timeout_ms + 500);
		if (rc == 0) {
			rc = res.err;
		}
		v[i].err = rc;
		if (rc == 0 || rc == DMP_ENXDOMAIN) {
			v[i].rtt_ms = (int)(dmp_eng_mono_ms() - t0);
			v[i].grade = rc == 0 && res.answer.n > 0 ? 2 : 1;
		}
		dmp_resolver_result_clear(&res);
	}
}

int dmp_engine_resolvers_check(struct dmp_engine *e,
			       struct dmp_resolver_probe *out, size_t cap)
{
	struct dmp_resolver_probe v[DMP_RESOLVER_MAX_SERVERS];
	const struct dmp_cfg_list *l =
	    e->conf.resolvers.n ? &e->conf.resolvers : &e->conf.nodes;
	char name[DMP_NAME_MAX];
	size_t nv = 0;
	int rc;

	if (!e || (cap && !out)) {
		return DMP_EINVAL;
	}
	for (unsigned i = 0; i < l->n; i++) {
		probe_add(v, &nv, DMP_ARRAY_LEN(v), l->v[i]);
	}
	for (unsigned i = 0; e->conf.direct && i < dmp_eng_nodes(e)->n; i++) {
		probe_add(v, &nv, DMP_ARRAY_LEN(v), e->nodes.addr[i]);
	}
	rc = dmp_name_identity(name, sizeof(name), e->conf.username,
			       strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	probe_all(e, v, nv, name);
	nv = nv < cap ? nv : cap;
	if (nv) {
		memcpy(out, v, nv * sizeof(v[0]));
	}
	return (int)nv;
}

int dmp_engine_resolvers_discover(struct dmp_engine *e,
				  const char *const *cands, size_t n,
				  struct dmp_resolver_probe *out, size_t cap,
				  int save)
{
	struct dmp_resolver_probe v[DMP_RESOLVER_MAX_SERVERS];
	char name[DMP_NAME_MAX];
	size_t nv = 0, nout;
	int rc, best;

	if (!e || (n && !cands) || (cap && !out)) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		probe_add(v, &nv, DMP_ARRAY_LEN(v), cands[i]);
	}
	for (unsigned i = 0; i < e->conf.resolvers.n; i++) {
		probe_add(v, &nv, DMP_ARRAY_LEN(v), e->conf.resolvers.v[i]);
	}
	resolv_conf_servers(v, &nv, DMP_ARRAY_LEN(v));
	rc = dmp_name_identity(name, sizeof(name), e->conf.username,
			       strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	probe_all(e, v, nv, name);
	/* Insertion sort: a handful of entries. */
	for (size_t i = 1; i < nv; i++) {
		struct dmp_resolver_probe t = v[i];
		size_t j = i;

		while (j > 0 && probe_better(&t, &v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
	nout = nv < cap ? nv : cap;
	if (nout) {
		memcpy(out, v, nout * sizeof(v[0]));
	}
	if (!save) {
		return (int)nout;
	}
	best = nv ? v[0].grade : 0;
	if (best == 0) {
		return DMP_ENOENT;
	}
	memset(&e->conf.resolvers, 0, sizeof(e->conf.resolvers));
	for (size_t i = 0; i < nv && e->conf.resolvers.n < DISCOVER_SAVE_MAX;
	     i++) {
		if (v[i].grade != best) {
			break;
		}
		char *dst = e->conf.resolvers.v[e->conf.resolvers.n];
		size_t l = strnlen(v[i].addr, sizeof(v[i].addr) - 1);

		memcpy(dst, v[i].addr, l); /* l < 64 <= DMP_CFG_STR_MAX */
		dst[l] = 0;
		e->conf.resolvers.n++;
	}
	if ((rc = dmp_eng_conf_save(e)) < 0) {
		return rc;
	}
	/* The pool is rebuilt from the new list on next use. */
	dmp_resolver_free(e->res);
	e->res = NULL;
	return (int)nout;
}
