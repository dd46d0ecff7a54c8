/*
 * core/src/node/node_index.c - the in-memory view that answers queries: a
 * chained hash table from lower-case wire names to wire-ready TXT RRs.
 * Each name also counts its descendants that hold values, so that a name
 * with children answers NODATA rather than NXDOMAIN (RFC 8020).
 * Callers hold the node's index lock. The totals of what is held (values,
 * bytes, and those at claim-* names) are kept as RRs come and go, so that
 * the storage budgets (node_ubudget.c) never scan.
 */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/txt.h"
#include "node/node_i.h"

static uint32_t name_hash(const struct nidx *x, const uint8_t *name,
			  size_t nlen)
{
	uint32_t h = 2166136261u ^ x->seed;

	for (size_t i = 0; i < nlen; i++) {
		h = (h ^ name[i]) * 16777619u;
	}
	return h ^ (h >> 15);
}

int dmp_nidx_init(struct nidx *x)
{
	memset(x, 0, sizeof(*x));
	x->nb = 1024;
	x->b = dmp_calloc(x->nb, sizeof(*x->b));
	if (!x->b) {
		return DMP_ENOMEM;
	}
	dmp_random(&x->seed, sizeof(x->seed));
	x->min_exp = UINT64_MAX;
	return 0;
}

static void free_rrs(struct nidx_rr **rr, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		dmp_free(rr[i]);
	}
	dmp_free(rr);
}

void dmp_nidx_clear(struct nidx *x)
{
	for (size_t i = 0; x->b && i < x->nb; i++) {
		struct nidx_ent *e = x->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free_rrs(e->rr, e->n_rr);
			dmp_free(e);
		}
	}
	dmp_free(x->b);
	memset(x, 0, sizeof(*x));
}

static struct nidx_ent *find_h(const struct nidx *x, const uint8_t *name,
			       size_t nlen, uint32_t h)
{
	struct nidx_ent *e = x->b[h & (x->nb - 1)];

	for (; e; e = e->next) {
		if (e->hash == h && e->nlen == nlen &&
		    memcmp(e->name, name, nlen) == 0) {
			return e;
		}
	}
	return NULL;
}

struct nidx_ent *dmp_nidx_find(const struct nidx *x, const uint8_t *name,
			       size_t nlen)
{
	return find_h(x, name, nlen, name_hash(x, name, nlen));
}

/* Rehash into @p nb buckets (a power of two); on no memory stay at the old
 * size: slower, still correct. */
static void resize(struct nidx *x, size_t nb)
{
	struct nidx_ent **b = dmp_calloc(nb, sizeof(*b));

	if (!b) {
		return;
	}
	for (size_t i = 0; i < x->nb; i++) {
		struct nidx_ent *e = x->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	dmp_free(x->b);
	x->b = b;
	x->nb = nb;
}

void dmp_nidx_reserve(struct nidx *x, uint64_t names)
{
	size_t nb = x->nb;

	if (names > NIDX_RESERVE_MAX) {
		names = NIDX_RESERVE_MAX;
	}
	while (nb < names) {
		nb *= 2;
	}
	if (nb != x->nb) {
		resize(x, nb);
	}
}

/* Does the first label begin with "claim-" (PROTOCOL.md 7.3)? */
static int claim_name(const uint8_t *name)
{
	return name[0] >= 6 && memcmp(name + 1, "claim-", 6) == 0;
}

/* Count @p e's RRs in (@p sign 1) or out (-1) of the totals. */
static void account(struct nidx *x, const struct nidx_ent *e, int sign)
{
	uint64_t v = e->n_rr, b = e->bytes;

	if (sign < 0) {
		x->values -= v;
		x->bytes -= b;
	} else {
		x->values += v;
		x->bytes += b;
	}
	if (e->claim) {
		x->claim_values =
		    sign < 0 ? x->claim_values - v : x->claim_values + v;
		x->claim_bytes =
		    sign < 0 ? x->claim_bytes - b : x->claim_bytes + b;
	}
}

/* A new entry for @p name (hash @p h), which is not in @p x. */
static struct nidx_ent *add(struct nidx *x, const uint8_t *name, size_t nlen,
			    uint32_t h)
{
	struct nidx_ent *e = dmp_calloc(1, sizeof(*e) + nlen);

	if (!e) {
		return NULL;
	}
	e->hash = h;
	e->nlen = (uint8_t)nlen;
	e->claim = (uint8_t)claim_name(name);
	memcpy(e->name, name, nlen);
	e->next = x->b[h & (x->nb - 1)];
	x->b[h & (x->nb - 1)] = e;
	if (++x->count > x->nb) {
		resize(x, x->nb * 2);
	}
	return e;
}

static struct nidx_ent *get_or_add(struct nidx *x, const uint8_t *name,
				   size_t nlen)
{
	uint32_t h = name_hash(x, name, nlen);
	struct nidx_ent *e = find_h(x, name, nlen, h);

	return e ? e : add(x, name, nlen, h);
}

static void unlink_ent(struct nidx *x, struct nidx_ent *e)
{
	struct nidx_ent **pp = &x->b[e->hash & (x->nb - 1)];

	while (*pp != e) {
		pp = &(*pp)->next;
	}
	*pp = e->next;
	x->count--;
	free_rrs(e->rr, e->n_rr);
	dmp_free(e);
}

/* Adjust every proper ancestor (root excluded) by @p delta. */
static int walk_ancestors(struct nidx *x, const uint8_t *name, size_t nlen,
			  int delta, uint64_t max_exp)
{
	size_t off = dmp_dnswire_parent(name);

	while (off < nlen - 1) {
		struct nidx_ent *a;

		if (delta > 0) {
			a = get_or_add(x, name + off, nlen - off);
			if (!a) {
				return DMP_ENOMEM;
			}
			a->desc_count++;
		} else {
			a = dmp_nidx_find(x, name + off, nlen - off);
			if (!a) {
				return DMP_EINTERNAL;
			}
			if (delta < 0) {
				a->desc_count--;
			}
		}
		if (max_exp > a->desc_max_exp) {
			a->desc_max_exp = max_exp;
		}
		if (a->desc_count == 0 && a->n_rr == 0) {
			unlink_ent(x, a);
		}
		off += dmp_dnswire_parent(name + off);
	}
	return 0;
}

int dmp_nidx_set(struct nidx *x, const uint8_t *name, size_t nlen,
		 struct nidx_rr **rr, uint32_t n_rr)
{
	/* One hash and one bucket walk for a new name (at load, most). */
	uint32_t h = name_hash(x, name, nlen);
	struct nidx_ent *e = find_h(x, name, nlen, h);
	uint64_t max_exp = 0;
	int had, rc;

	for (uint32_t i = 0; i < n_rr; i++) {
		if (rr[i]->exp_s > max_exp) {
			max_exp = rr[i]->exp_s;
		}
	}
	if (!e && n_rr == 0) {
		dmp_free(rr);
		return 0;
	}
	if (!e) {
		e = add(x, name, nlen, h);
		if (!e) {
			free_rrs(rr, n_rr);
			return DMP_ENOMEM;
		}
	}
	had = e->n_rr > 0;
	account(x, e, -1);
	free_rrs(e->rr, e->n_rr);
	e->rr = rr;
	e->n_rr = n_rr;
	e->max_exp = max_exp;
	e->bytes = 0;
	for (uint32_t i = 0; i < n_rr; i++) {
		e->bytes += rr[i]->len;
		if (rr[i]->exp_s < x->min_exp) {
			x->min_exp = rr[i]->exp_s;
		}
	}
	account(x, e, 1);
	if (n_rr == 0 && e->desc_count == 0) {
		unlink_ent(x, e);
	}
	rc = walk_ancestors(x, name, nlen, (n_rr > 0) - had, max_exp);
	return rc;
}

int dmp_nidx_append(struct nidx *x, const uint8_t *name, size_t nlen,
		    struct nidx_rr *rr)
{
	uint32_t h = name_hash(x, name, nlen), n;
	struct nidx_ent *e = find_h(x, name, nlen, h);
	uint64_t old_max;

	if (!e) {
		e = add(x, name, nlen, h);
		if (!e) {
			dmp_free(rr);
			return DMP_ENOMEM;
		}
	}
	n = e->n_rr;
	/* Room for a power of two: full at 0, 1, 2, 4, ... (one pointer
	 * for the many names that hold one value). */
	if ((n & (n - 1)) == 0) {
		struct nidx_rr **p =
		    dmp_realloc(e->rr, (n ? 2 * (size_t)n : 1) * sizeof(*p));

		if (!p) {
			if (n == 0 && e->desc_count == 0) {
				unlink_ent(x, e);
			}
			dmp_free(rr);
			return DMP_ENOMEM;
		}
		e->rr = p;
	}
	account(x, e, -1);
	e->rr[n] = rr;
	e->n_rr = n + 1;
	e->bytes += rr->len;
	account(x, e, 1);
	old_max = e->max_exp;
	if (rr->exp_s > e->max_exp) {
		e->max_exp = rr->exp_s;
	}
	if (rr->exp_s < x->min_exp) {
		x->min_exp = rr->exp_s;
	}
	if (n > 0 && e->max_exp == old_max) {
		return 0; /* the ancestors know already */
	}
	return walk_ancestors(x, name, nlen, n == 0, e->max_exp);
}

void dmp_nidx_expire(struct nidx *x, uint64_t now_s)
{
	/* Pass 1: drop expired RRs, forget the descendant facts. */
	x->min_exp = UINT64_MAX;
	for (size_t i = 0; i < x->nb; i++) {
		for (struct nidx_ent *e = x->b[i]; e; e = e->next) {
			uint32_t k = 0;

			account(x, e, -1);
			e->bytes = 0;
			for (uint32_t j = 0; j < e->n_rr; j++) {
				if (e->rr[j]->exp_s > now_s) {
					if (e->rr[j]->exp_s < x->min_exp) {
						x->min_exp = e->rr[j]->exp_s;
					}
					e->bytes += e->rr[j]->len;
					e->rr[k++] = e->rr[j];
				} else {
					dmp_free(e->rr[j]);
				}
			}
			e->n_rr = k;
			account(x, e, 1);
			e->max_exp = 0;
			for (uint32_t j = 0; j < k; j++) {
				if (e->rr[j]->exp_s > e->max_exp) {
					e->max_exp = e->rr[j]->exp_s;
				}
			}
			e->desc_count = 0;
			e->desc_max_exp = 0;
		}
	}
	/* Pass 2: recount descendants from the names that hold values. */
	for (size_t i = 0; i < x->nb; i++) {
		for (struct nidx_ent *e = x->b[i]; e; e = e->next) {
			size_t off;

			if (e->n_rr == 0) {
				continue;
			}
			off = dmp_dnswire_parent(e->name);
			while (off < (size_t)e->nlen - 1) {
				struct nidx_ent *a = dmp_nidx_find(
				    x, e->name + off, e->nlen - off);

				if (a) {
					a->desc_count++;
					if (e->max_exp > a->desc_max_exp) {
						a->desc_max_exp = e->max_exp;
					}
				}
				off += dmp_dnswire_parent(e->name + off);
			}
		}
	}
	/* Pass 3: drop names left with nothing. */
	for (size_t i = 0; i < x->nb; i++) {
		struct nidx_ent **pp = &x->b[i];

		while (*pp) {
			struct nidx_ent *e = *pp;

			if (e->n_rr == 0 && e->desc_count == 0) {
				*pp = e->next;
				x->count--;
				dmp_free(e->rr);
				dmp_free(e);
			} else {
				pp = &e->next;
			}
		}
	}
}

uint64_t dmp_nidx_kid(const char *key)
{
	uint8_t h[DMP_SHA256_BYTES];
	uint64_t id;

	if (!key || !key[0]) {
		return 0;
	}
	dmp_sha256(h, key, strlen(key));
	id = (uint64_t)dmp_load_u32(h) << 32 | dmp_load_u32(h + 4);
	return id ? id : 1;
}

struct nidx_rr *dmp_nidx_rr_new(const char *value, size_t vlen, uint32_t ttl,
				uint64_t exp_s, uint64_t kid)
{
	size_t rdlen = dmp_txt_rdata_len(vlen);
	struct nidx_rr *rr;
	uint8_t *w;

	if (rdlen + 12 > 65535) {
		return NULL;
	}
	rr = dmp_malloc(sizeof(*rr) + 12 + rdlen);
	if (!rr) {
		return NULL;
	}
	rr->exp_s = exp_s;
	rr->kid = kid;
	rr->len = (uint16_t)(12 + rdlen);
	w = rr->wire;
	/* RFC 1035 4.1.3; owner is a pointer to the question name at 12. */
	w[0] = 0xC0;
	w[1] = DMP_DNS_HDR_LEN;
	wr16(w + 2, DMP_DNS_TYPE_TXT);
	wr16(w + 4, DMP_DNS_CLASS_IN);
	dmp_store_u32(w + 6, ttl);
	wr16(w + 10, (unsigned)rdlen);
	if (dmp_txt_split(w + 12, rdlen, value, vlen) < 0) {
		dmp_free(rr);
		return NULL;
	}
	return rr;
}

int dmp_nidx_rr_value_eq(const struct nidx_rr *rr, const char *value,
			 size_t vlen)
{
	size_t rdlen, off = 0, pos = 0;
	const uint8_t *rd = dmp_nidx_rdata(rr, &rdlen);

	/* Stored RDATA is the canonical split, so compare piece by piece. */
	if (rdlen != dmp_txt_rdata_len(vlen)) {
		return 0;
	}
	while (off < rdlen) {
		size_t piece = rd[off++];

		if (piece > rdlen - off || piece > vlen - pos ||
		    memcmp(rd + off, value + pos, piece) != 0) {
			return 0;
		}
		off += piece;
		pos += piece;
	}
	return pos == vlen;
}
