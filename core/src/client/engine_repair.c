/*
 * core/src/client/engine_repair.c - read repair (issue 15): a mailbox read
 * asks each of the mailbox's nodes (engine_net.c, union_read); a node
 * that answered a name without a value the others hold missed a write
 * (it was down, or lost it), and the reader publishes that value there
 * through the ordinary write path (one TSIG UPDATE per node per read).
 *
 * Only what verifies on its own is copied: a manifest whose signature
 * verifies and that has not expired (its TTL is what remains until its
 * exp), and chunk values (the receiver checks each against the manifest's
 * hash; a node never serves one to anybody as more than a candidate). A
 * value that fails is not spread. At most REPAIR_MAX records per node per
 * read, so a node that lost everything is refilled over a few polls.
 */
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/manifest.h"
#include "dmp/record.h"
#include "engine_i.h"

#define REPAIR_MAX 48 /* records per node per read: one UPDATE */

struct seen {
	unsigned node;
	size_t j;
	uint64_t h;
};

struct dmp_eng_repair {
	size_t n;	   /* own-zone names of the read */
	uint8_t *answered; /* [node * n + j]: the node answered name j */
	struct seen *v;	   /* values each node had */
	size_t nv, cap;
	int oom;
};

static uint64_t vhash(const char *v, size_t l)
{
	uint8_t h[32];
	uint64_t x = 0;

	dmp_sha256(h, (const uint8_t *)v, l);
	for (int i = 0; i < 8; i++) {
		x = (x << 8) | h[i];
	}
	return x;
}

struct dmp_eng_repair *dmp_eng_repair_new(struct dmp_engine *e, size_t n)
{
	struct dmp_eng_repair *r;

	if (!e->tsig) {
		return NULL; /* nothing we could write */
	}
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return NULL;
	}
	r->n = n;
	r->answered = dmp_calloc(DMP_ENG_NODES_MAX * n, 1);
	if (!r->answered) {
		dmp_free(r);
		return NULL;
	}
	return r;
}

void dmp_eng_repair_free(struct dmp_eng_repair *r)
{
	if (r) {
		dmp_free(r->answered);
		dmp_free(r->v);
		dmp_free(r);
	}
}

void dmp_eng_repair_note(struct dmp_eng_repair *r, unsigned node, size_t j,
			 const struct dmp_resolver_result *got)
{
	if (!r || r->oom || node >= DMP_ENG_NODES_MAX) {
		return;
	}
	r->answered[node * r->n + j] = 1;
	for (size_t i = 0; got->err == 0 && i < got->answer.n; i++) {
		if (r->nv == r->cap) {
			size_t c = r->cap ? r->cap * 2 : 64;
			struct seen *nv = dmp_realloc(r->v, c * sizeof(*nv));

			if (!nv) {
				r->oom = 1;
				return;
			}
			r->v = nv;
			r->cap = c;
		}
		r->v[r->nv++] = (struct seen){
		    node, j, vhash(got->answer.values[i], got->answer.lens[i])};
	}
}

static int had(const struct dmp_eng_repair *r, unsigned node, size_t j,
	       uint64_t h)
{
	for (size_t i = 0; i < r->nv; i++) {
		if (r->v[i].node == node && r->v[i].j == j && r->v[i].h == h) {
			return 1;
		}
	}
	return 0;
}

/* The TTL to copy @p v with, or 0 when it must not be copied. */
static uint32_t repair_ttl(struct dmp_engine *e, const char *v, size_t l)
{
	uint64_t now = (uint64_t)dmp_eng_now(e);
	long long life = e->conf.lifetime < e->conf.max_lifetime
			     ? e->conf.lifetime
			     : e->conf.max_lifetime;

	switch (dmp_record_type_of(v, l)) {
	case DMP_REC_CHUNK: return (uint32_t)life;
	case DMP_REC_MANIFEST: {
		struct dmp_manifest m;
		uint32_t ttl = 0;

		if (dmp_manifest_parse_verify(&m, v, l, now) == 0 &&
		    !dmp_manifest_is_expired(&m, now) && m.exp > now) {
			ttl = m.exp - now < (uint64_t)life
				  ? (uint32_t)(m.exp - now)
				  : (uint32_t)life;
		}
		dmp_manifest_clear(&m);
		return ttl;
	}
	default: return 0;
	}
}

void dmp_eng_repair_run(struct dmp_engine *e, struct dmp_eng_repair *r,
			const char *const *q, const size_t *own,
			const struct dmp_resolver_result *res)
{
	struct dmp_eng_writer *w = NULL;
	int opened = 0;

	for (unsigned node = 0; r && !r->oom && node < e->nodes.n; node++) {
		struct dmp_update_rr ops[REPAIR_MAX];
		size_t k = 0;
		int rc;

		for (size_t j = 0; j < r->n && k < REPAIR_MAX; j++) {
			const struct dmp_resolver_result *d = &res[own[j]];

			if (!r->answered[node * r->n + j] || d->err != 0) {
				continue;
			}
			for (size_t i = 0; i < d->answer.n && k < REPAIR_MAX;
			     i++) {
				const char *v = d->answer.values[i];
				size_t l = d->answer.lens[i];
				uint32_t ttl;

				if (had(r, node, j, vhash(v, l)) ||
				    (ttl = repair_ttl(e, v, l)) == 0) {
					continue;
				}
				ops[k++] = (struct dmp_update_rr){
				    DMP_UPDATE_ADD, q[j], ttl, v, l};
			}
		}
		if (k == 0) {
			continue;
		}
		if (!opened) {
			opened = 1;
			if (dmp_eng_writer_open(e, 1, &w) < 0) {
				w = NULL;
			}
		}
		if (!w) {
			break;
		}
		rc = dmp_eng_writer_send_to(e, w, ops, k, 1u << node);
		if (rc == 0) {
			DMP_LOG_N("read repair: node %s lacked %zu record(s) "
				  "of the mailbox; published them there",
				  e->nodes.addr[node], k);
		} else {
			DMP_LOG_I("read repair: node %s: %s",
				  e->nodes.addr[node], dmp_strerror(rc));
		}
	}
	dmp_eng_writer_close(e, w);
	dmp_eng_repair_free(r);
}
