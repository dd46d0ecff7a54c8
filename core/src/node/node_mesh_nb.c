/*
 * core/src/node/node_mesh_nb.c - the mesh's neighbours from discovery
 * (docs/protocol.md 8.7.4): besides mesh.neighbours, a relay probes up to
 * mesh.discovered_neighbours of the relay peers discovery verified
 * (heartbeat bit 1), chosen deterministically (dmp_nm_select) and
 * refreshed when discovery's set changes. A configured neighbour always
 * stays; a discovered one keeps its link state while it stays chosen.
 *
 * Threads and locks: the discovery thread hands its peers over with
 * dmp_node_mesh_discovered() under m->mu (held for the copy only); the
 * mesh thread applies them at the start of a round (dmp_nm_refresh, under
 * m->mu). Nothing here does I/O.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_mesh.h"

/* ---- the pure choice ---- */

struct sel_ctx {
	const struct dmp_nm_choice *c;
	size_t i;
};

/* Measured RTT first (lower better), then the lower key, then the URL. */
static int sel_cmp(const void *a, const void *b)
{
	const struct sel_ctx *x = a, *y = b;
	const struct dmp_nm_choice *p = &x->c[x->i], *q = &y->c[y->i];
	int k;

	if ((p->rtt_ms != 0) != (q->rtt_ms != 0)) {
		return p->rtt_ms ? -1 : 1;
	}
	if (p->rtt_ms != q->rtt_ms) {
		return p->rtt_ms < q->rtt_ms ? -1 : 1;
	}
	k = memcmp(p->spk, q->spk, DMP_ED25519_PK_BYTES);
	return k ? k : strcmp(p->url, q->url);
}

static int is_configured(const struct dmp_nm_choice *conf, size_t n_conf,
			 const struct dmp_nm_choice *c)
{
	for (size_t j = 0; j < n_conf; j++) {
		if (strcasecmp(conf[j].url, c->url) == 0 ||
		    (conf[j].spk &&
		     memcmp(conf[j].spk, c->spk, DMP_ED25519_PK_BYTES) == 0)) {
			return 1;
		}
	}
	return 0;
}

size_t dmp_nm_select(const struct dmp_nm_choice *conf, size_t n_conf,
		     const struct dmp_nm_choice *cand, size_t n_cand,
		     const uint8_t self[DMP_ED25519_PK_BYTES], size_t max,
		     size_t *out)
{
	struct sel_ctx *s;
	size_t n = 0, k = 0;

	if (max == 0 || n_cand == 0) {
		return 0;
	}
	s = dmp_calloc(n_cand, sizeof(*s));
	if (!s) {
		return 0;
	}
	for (size_t i = 0; i < n_cand; i++) {
		if (!cand[i].url || !cand[i].spk ||
		    memcmp(cand[i].spk, self, DMP_ED25519_PK_BYTES) == 0 ||
		    is_configured(conf, n_conf, &cand[i])) {
			continue;
		}
		s[n].c = cand;
		s[n++].i = i;
	}
	qsort(s, n, sizeof(*s), sel_cmp);
	for (size_t i = 0; i < n && k < max; i++) {
		int dup = 0;

		/* One node, two endpoints: its best one only. */
		for (size_t j = 0; j < k && !dup; j++) {
			dup = memcmp(cand[out[j]].spk, cand[s[i].i].spk,
				     DMP_ED25519_PK_BYTES) == 0;
		}
		if (!dup) {
			out[k++] = s[i].i;
		}
	}
	dmp_free(s);
	return k;
}

unsigned dmp_nm_auto_timeout(uint32_t interval_s, size_t n_nb)
{
	/* A round of probes takes at most half the interval (with a 200 ms
	 * floor), so our record (DMP_MESH_LIFE_INTERVALS) never lapses between
	 * two rounds; 5 s at most per probe. */
	size_t per = (size_t)interval_s * 500 / (n_nb ? n_nb : 1);

	return per > 5000 ? 5000 : per < 200 ? 200 : (unsigned)per;
}

/* ---- the hand-over from discovery ---- */

static int peer_cmp(const void *a, const void *b)
{
	const struct dmp_node_mesh_peer *x = a, *y = b;
	int k = memcmp(x->spk, y->spk, sizeof(x->spk));

	return k ? k : strcmp(x->endpoint, y->endpoint);
}

size_t dmp_node_mesh_discovered(struct dmp_node *n,
				const struct dmp_node_mesh_peer *p, size_t np)
{
	struct dmp_node_mesh *m = n ? dmp_nm_of(n) : NULL;
	struct dmp_node_mesh_peer *c;
	size_t k = 0;

	if (!m || m->o.max_discovered == 0) {
		return 0;
	}
	c = dmp_calloc(DMP_ROUTE_NODES_MAX, sizeof(*c));
	if (!c) {
		return 0;
	}
	for (size_t i = 0; i < np && k < DMP_ROUTE_NODES_MAX; i++) {
		size_t l = strnlen(p[i].endpoint, sizeof(p[i].endpoint));

		/* The heartbeat's address rule, and a base URL we can probe. */
		if (l == 0 || l > DMP_LINKS_ENDPOINT_MAX ||
		    dmp_heartbeat_endpoint_check(p[i].endpoint, l, m->flags) <
			0) {
			continue;
		}
		c[k++] = p[i];
	}
	/* A canonical order, so an unchanged set is not a change. */
	qsort(c, k, sizeof(*c), peer_cmp);
	pthread_mutex_lock(&m->mu);
	if (k != m->n_cand || (k && memcmp(c, m->cand, k * sizeof(*c)) != 0)) {
		memcpy(m->cand, c, k * sizeof(*c));
		m->n_cand = k;
		m->cand_gen++;
		m->kick = 1;
		pthread_cond_signal(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	dmp_free(c);
	return k;
}

/* ---- applying them (the mesh thread) ---- */

static struct nm_nb *nb_by_url(struct nm_nb *nb, size_t from, size_t to,
			       const char *url)
{
	for (size_t i = from; i < to; i++) {
		if (strcmp(nb[i].url, url) == 0) {
			return &nb[i];
		}
	}
	return NULL;
}

int dmp_nm_refresh(struct dmp_node_mesh *m)
{
	struct dmp_nm_choice conf[DMP_NODE_MESH_NEIGHBOURS_MAX];
	struct dmp_nm_choice *cand = NULL;
	struct nm_nb *old = NULL;
	size_t *pick = NULL, np = 0, n_old, known = 0;
	int changed = 0;

	if (m->o.max_discovered == 0) {
		return 0;
	}
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n_conf; i++) {
		known += m->nb[i].known != 0;
	}
	if (m->applied_gen == m->cand_gen && m->applied_known == known) {
		pthread_mutex_unlock(&m->mu);
		return 0;
	}
	cand = dmp_calloc(m->n_cand ? m->n_cand : 1, sizeof(*cand));
	pick = dmp_calloc(m->o.max_discovered, sizeof(*pick));
	old = dmp_calloc(m->nb_cap, sizeof(*old));
	if (!cand || !pick || !old) {
		goto out; /* tried again next round */
	}
	for (size_t i = 0; i < m->n_conf; i++) {
		conf[i].url = m->nb[i].url;
		conf[i].spk = m->nb[i].known ? m->nb[i].spk : NULL;
		conf[i].rtt_ms = 0;
	}
	for (size_t i = 0; i < m->n_cand; i++) {
		const struct nm_nb *b =
		    nb_by_url(m->nb, m->n_conf, m->n_nb, m->cand[i].endpoint);

		cand[i].url = m->cand[i].endpoint;
		cand[i].spk = m->cand[i].spk;
		/* What we measured while it was a neighbour (0: none). */
		cand[i].rtt_ms = !b || !b->l.sampled ? 0
				 : b->l.srtt_ms	     ? b->l.srtt_ms
						     : 1;
	}
	np = dmp_nm_select(conf, m->n_conf, cand, m->n_cand, m->pk,
			   m->o.max_discovered, pick);
	n_old = m->n_nb;
	memcpy(old, m->nb, n_old * sizeof(*old));
	m->n_nb = m->n_conf;
	for (size_t i = 0; i < np && m->n_nb < m->nb_cap; i++) {
		const struct dmp_node_mesh_peer *c = &m->cand[pick[i]];
		struct nm_nb *was =
		    nb_by_url(old, m->n_conf, n_old, c->endpoint);
		struct nm_nb *b = &m->nb[m->n_nb++];

		if (was) {
			*b = *was; /* keeps its link state */
			continue;
		}
		memset(b, 0, sizeof(*b));
		memcpy(b->url, c->endpoint, strlen(c->endpoint) + 1);
		b->discovered = 1;
		b->last = DMP_MESH_UNREACHABLE;
		DMP_LOG_I("mesh: neighbour %s from discovery", b->url);
		changed = 1;
	}
	for (size_t i = m->n_conf; i < n_old; i++) {
		if (!nb_by_url(m->nb, m->n_conf, m->n_nb, old[i].url)) {
			DMP_LOG_I("mesh: discovered neighbour %s dropped",
				  old[i].url);
			changed = 1;
		}
	}
	if (m->auto_timeout) {
		m->o.timeout_ms = dmp_nm_auto_timeout(m->o.interval_s, m->n_nb);
	}
	m->applied_gen = m->cand_gen;
	m->applied_known = known;
out:
	pthread_mutex_unlock(&m->mu);
	dmp_free(cand);
	dmp_free(pick);
	dmp_free(old);
	return changed;
}
