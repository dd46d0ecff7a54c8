/*
 * core/src/node/node_http_relay.c - POST /v1/relay (docs/protocol.md 8.7,
 * DMP-RELAY/1): a bundle of one message's signed records for one zone,
 * checked in the order of 8.7.2 (the first failure decides) and, at a
 * node serving the zone, stored whole or not at all through the UPDATE
 * write path (8.7.3). A bundle for a zone served elsewhere goes to
 * dmp_nhr_forward() (node_relay_fwd.c, 8.7.5); holding is not built.
 *
 * The bundle logic (JSON, id, hops, verification) is dmp/relay.h; here
 * are the limits between requests: the per-source and per-sender rates
 * (node_rl.c), the duplicate cache (node_relay_dup.c) and the ledger of
 * the bytes each sender key has had stored here (mesh.relay_sender_bytes).
 *
 * Threads and locks: called from the HTTP thread (and direct callers);
 * r->mu covers the ledger and is held across the store so that a
 * sender's check and its count go together (lock order: r->mu, then the
 * node's wlock, then ilock); the limiters and the cache lock themselves.
 */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dmp/b64.h"
#include "dmp/claim.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/manifest.h"
#include "dmp/relay.h"
#include "dns/dnswire.h"
#include "node/node_http_i.h"
#include "node/node_i.h"
#include "node/node_relay_i.h"

/* Senders whose stored bytes are remembered; beyond, the one whose
 * values expire first is forgotten (the node-wide budgets still hold). */
#define NHR_SENDERS 4096

/* dmp_relay_received_total{result}: by the reply's status. */
enum nhr_result {
	NHR_STORED,
	NHR_FORWARDED,
	NHR_DUPLICATE,
	NHR_BAD_REQUEST,
	NHR_REFUSED,
	NHR_TOO_LARGE,
	NHR_RATE_LIMITED,
	NHR_NO_ROUTE,
	NHR_FULL,
	NHR_ERROR,
	NHR_HELD,
	NHR_RESULT_MAX
};
static const char *const result_names[NHR_RESULT_MAX] = {
    "stored",  "forwarded", "duplicate",    "bad_request",
    "refused", "too_large", "rate_limited", "no_route",
    "full",    "error",	    "held"};

/* dmp_relay_dropped_total{reason}: the reasons of 8.7.9 that exist. */
enum nhr_drop {
	NHR_D_VERIFY,
	NHR_D_DUPLICATE,
	NHR_D_HOPS,
	NHR_D_LOOP,
	NHR_D_SOURCE_RATE,
	NHR_D_SENDER_RATE,
	NHR_D_QUOTA,
	NHR_D_DISABLED,
	NHR_D_NO_ROUTE,
	NHR_D_NOT_AUTHORISED,
	NHR_D_HOLD_FULL,
	NHR_D_HOLD_EXPIRED,
	NHR_D_HOLD_RETRIES,
	NHR_DROP_MAX
};
static const char *const drop_names[NHR_DROP_MAX] = {
    "verify",	   "duplicate",	   "hops",	  "loop",     "source_rate",
    "sender_rate", "quota",	   "disabled",	  "no_route", "not_authorised",
    "hold_full",   "hold_expired", "hold_retries"};

struct nhr_sender {
	char spk16[DMP_RELAY_FP_CHARS + 1]; /* "" free */
	uint64_t bytes;			    /* values stored for it */
	uint64_t until_s;		    /* when the last of them expires */
};

struct dmp_nhr {
	struct dmp_node_relay_opts o;
	struct rl *src_rl, *snd_rl;
	struct dmp_nrd *dup;
	pthread_mutex_t mu; /* ledger */
	struct nhr_sender *ledger;
	_Atomic uint64_t received[NHR_RESULT_MAX], dropped[NHR_DROP_MAX];
	_Atomic uint64_t stored, bytes_in;
	_Atomic uint64_t forwarded[2]; /* {mode}: path, flood */
};

/* One request's answer in the making. */
struct nhr_req {
	struct dmp_node_http *h;
	char id[DMP_RELAY_ID_CHARS + 1]; /* recomputed, once known */
	unsigned hops;
	char why[DMP_RELAY_WHY_MAX];
	unsigned retry_after;
	struct dmp_nrq_job **defer; /* forward on the forwarder thread */
	char sender[DMP_RELAY_FP_CHARS + 1]; /* 16 hex, once verified */
	int held;			     /* 202 because held here */
};

static int valid_rate(double rate, double burst)
{
	return isfinite(rate) && rate >= 0 && rate <= 1e6 &&
	       (rate == 0 || (isfinite(burst) && burst >= 1 && burst <= 1e6));
}

int dmp_nhr_new(struct dmp_node_http *h)
{
	const struct dmp_node_relay_opts *o = &h->o.relay;
	struct dmp_nhr *r;
	int rc;

	if (o->max_hops < 1 || o->max_hops > DMP_RELAY_HOPS_MAX ||
	    o->bundle_bytes < DMP_RELAY_BYTES_MIN ||
	    o->bundle_bytes > DMP_RELAY_BYTES_MAX ||
	    o->accept < DMP_NODE_RELAY_OWN || o->accept > DMP_NODE_RELAY_OFF ||
	    !valid_rate(o->source_rate, o->source_burst) ||
	    !valid_rate(o->sender_rate, o->sender_burst) || o->hold_bytes < 1 ||
	    o->hold_bytes > (1ull << 40) || o->hold_bundles < 1 ||
	    o->hold_bundles > DMP_NODE_RELAY_HOLD_BUNDLES_MAX ||
	    o->hold_sender_bytes < 1 || o->hold_sender_bytes > (1ull << 40) ||
	    o->hold_max < 60 || o->hold_max > 2592000 || o->retries < 1 ||
	    o->retries > 64) {
		DMP_LOG_E("node: relay options out of range (mesh.max_hops "
			  "1..%d, mesh.relay_bundle_bytes %d..%d, rates "
			  "0..1000000 with bursts 1..1000000, relay_hold_bytes "
			  "and relay_hold_sender_bytes 1..2^40, "
			  "relay_hold_bundles 1..%d, relay_hold_max "
			  "60..2592000, relay_retries 1..64)",
			  DMP_RELAY_HOPS_MAX, DMP_RELAY_BYTES_MIN,
			  DMP_RELAY_BYTES_MAX, DMP_NODE_RELAY_HOLD_BUNDLES_MAX);
		return DMP_EINVAL;
	}
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return DMP_ENOMEM;
	}
	r->o = *o;
	pthread_mutex_init(&r->mu, NULL);
	h->relay = r;
	if (!o->enabled) {
		return 0; /* every request: 403, nothing else needed */
	}
	r->ledger = dmp_calloc(NHR_SENDERS, sizeof(*r->ledger));
	rc = r->ledger ? 0 : DMP_ENOMEM;
	if (rc == 0) {
		rc = dmp_nrd_new(&r->dup, DMP_NODE_RELAY_DUP_MAX);
	}
	if (rc == 0) {
		rc = dmp_rl_new_f(&r->src_rl, o->source_rate, o->source_burst);
	}
	if (rc == 0) {
		/* The previous hop's address cut as a claim's source. */
		rc = dmp_rl_set_prefix(r->src_rl, h->n->o.claim_source_prefix4,
				       h->n->o.claim_source_prefix6);
	}
	if (rc == 0) {
		rc = dmp_rl_new_f(&r->snd_rl, o->sender_rate, o->sender_burst);
	}
	return rc;
}

void dmp_nhr_free(struct dmp_node_http *h)
{
	struct dmp_nhr *r = h->relay;

	if (!r) {
		return;
	}
	dmp_rl_free(r->src_rl);
	dmp_rl_free(r->snd_rl);
	dmp_nrd_free(r->dup);
	dmp_free(r->ledger);
	pthread_mutex_destroy(&r->mu);
	dmp_free(r);
	h->relay = NULL;
}

size_t dmp_nhr_body_max(const struct dmp_node_http *h)
{
	return dmp_relay_body_max(h->o.relay.bundle_bytes);
}

static void drop(struct dmp_nhr *r, enum nhr_drop d)
{
	atomic_fetch_add(&r->dropped[d], 1);
}

static int say(struct nhr_req *q, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(struct nhr_req *q, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	return status;
}

/* The JSON reply {"status","reason","id","hops"}, counted by result. */
static int reply(struct nhr_req *q, int status, char **body, size_t *len,
		 const char **ctype)
{
	enum nhr_result res;

	switch (status) {
	case 200: res = NHR_STORED; break;
	case 202: res = NHR_FORWARDED; break;
	case 208: res = NHR_DUPLICATE; break;
	case 403: res = NHR_REFUSED; break;
	case 413: res = NHR_TOO_LARGE; break;
	case 429: res = NHR_RATE_LIMITED; break;
	case 503: res = NHR_NO_ROUTE; break;
	case 507: res = NHR_FULL; break;
	default: res = status >= 500 ? NHR_ERROR : NHR_BAD_REQUEST;
	}
	if (q->held) {
		res = NHR_HELD;
	}
	atomic_fetch_add(&q->h->relay->received[res], 1);
	return dmp_nh_reply_json(
	    q->held ? json_pack("{s:i,s:s,s:s,s:i,s:b}", "status", status,
				"reason", q->why, "id", q->id, "hops",
				(int)q->hops, "held", 1)
		    : json_pack("{s:i,s:s,s:s,s:i}", "status", status, "reason",
				q->why, "id", q->id, "hops", (int)q->hops),
	    status, body, len, ctype);
}

/* Seconds until a bucket of @p rate per second has a token again. */
static unsigned retry_secs(double rate)
{
	double s = rate > 0 ? ceil(1.0 / rate) : 1.0;

	return s < 1 ? 1 : s > 86400 ? 86400 : (unsigned)s;
}

/* The sender key (the manifest's, else the first claim's) and the
 * mailbox label's 12 hex digits of a verified bundle. */
static int sender_of(const struct dmp_relay_bundle *b, uint64_t now_s,
		     uint8_t spk[32], char mb12[13])
{
	const struct dmp_relay_record *m = NULL, *c = NULL;
	const char *p;
	int rc;

	for (size_t i = 0; i < b->n_records; i++) {
		const char *nm = b->records[i].name;

		if (!m && strncmp(nm, "slot-", 5) == 0) {
			m = &b->records[i];
		} else if (!c && strncmp(nm, "claim-", 6) == 0) {
			c = &b->records[i];
		}
	}
	if (m) {
		struct dmp_manifest man;

		rc = dmp_manifest_parse_verify(&man, m->value, m->vlen, now_s);
		if (rc == 0) {
			memcpy(spk, man.sender_spk, 32);
			dmp_manifest_clear(&man);
		}
	} else if (c) {
		struct dmp_claim cl;

		rc = dmp_claim_parse_verify(&cl, c->value, c->vlen, now_s);
		if (rc == 0) {
			memcpy(spk, cl.sender_spk, 32);
		}
	} else {
		rc = DMP_EMALFORMED;
	}
	p = rc == 0 ? strstr((m ? m : c)->name, ".mb-") : NULL;
	if (!p || strlen(p) < 4 + 12) {
		return rc < 0 ? rc : DMP_EMALFORMED;
	}
	memcpy(mb12, p + 4, 12);
	mb12[12] = '\0';
	return 0;
}

/* The ledger entry of @p spk16 (r->mu held): its own, else a free or
 * expired one, else the one that expires first. */
static struct nhr_sender *ledger_at(struct dmp_nhr *r, const char *spk16,
				    uint64_t now_s)
{
	struct nhr_sender *free_e = NULL, *old = NULL, *pick;

	for (size_t i = 0; i < NHR_SENDERS; i++) {
		struct nhr_sender *e = &r->ledger[i];

		if (e->spk16[0] && strcmp(e->spk16, spk16) == 0) {
			if (e->until_s <= now_s) {
				e->bytes = 0;
			}
			return e;
		}
		if (!e->spk16[0] || e->until_s <= now_s) {
			free_e = free_e ? free_e : e;
		} else if (!old || e->until_s < old->until_s) {
			old = e;
		}
	}
	pick = free_e ? free_e : old;
	if (pick->spk16[0] && pick->until_s > now_s) {
		DMP_LOG_D("node: relay ledger full; forgetting sender %s",
			  pick->spk16);
	}
	memset(pick, 0, sizeof(*pick));
	memcpy(pick->spk16, spk16, DMP_RELAY_FP_CHARS + 1);
	return pick;
}

/* ops[] for the records of @p b; values copied. */
static int build_ops(struct nhr_req *q, const struct dmp_relay_bundle *b,
		     struct nop *ops, uint64_t *bytes, uint32_t *max_ttl)
{
	*bytes = 0;
	*max_ttl = 0;
	for (size_t i = 0; i < b->n_records; i++) {
		const struct dmp_relay_record *rec = &b->records[i];
		uint32_t ttl = rec->ttl;

		if (ttl == 0) {
			return say(q, 403,
				   "records[%zu].ttl: 0, expired on the way",
				   i);
		}
		/* A relayed claim lives a day at most, as an un-TSIG'd
		 * one (7.3). */
		if (strncmp(rec->name, "claim-", 6) == 0 &&
		    ttl > DMP_NODE_CLAIM_MAX_LIFE) {
			ttl = DMP_NODE_CLAIM_MAX_LIFE;
		}
		if (dmp_ni_op_init(q->h->n, &ops[i], NOP_ADD, rec->name, ttl) <
		    0) {
			return say(q, 403,
				   "records[%zu].name: %s is not in a zone "
				   "served here",
				   i, rec->name);
		}
		ops[i].value = dmp_malloc(rec->vlen + 1);
		if (!ops[i].value) {
			return say(q, 500, "out of memory");
		}
		memcpy(ops[i].value, rec->value, rec->vlen + 1);
		ops[i].vlen = rec->vlen;
		*bytes += rec->vlen;
		*max_ttl = ttl > *max_ttl ? ttl : *max_ttl;
	}
	return 0;
}

/* Why the write path refused (a DMP_NODE_REJ_*): status and reason. */
static int refused(struct nhr_req *q, int why, const char *tag)
{
	struct dmp_nhr *r = q->h->relay;

	switch (why) {
	case DMP_NODE_REJ_STORE_FULL:
	case DMP_NODE_REJ_CLAIMS_FULL:
		return say(q, 507,
			   "this node's storage budget is full (limits."
			   "store_* or claim_*); try again later");
	case DMP_NODE_REJ_FOREIGN:
		drop(r, NHR_D_QUOTA);
		return say(q, 507,
			   "%s holds its share of a name here (limits."
			   "foreign_values, foreign_bytes)",
			   tag);
	case DMP_NODE_REJ_NAME_BYTES:
		return say(q, 413,
			   "a name would hold more than limits.name_bytes");
	default:
		return say(q, 413,
			   "a record is over node.max_ttl, "
			   "node.max_value_bytes or node.max_values_per_name");
	}
}

/* The destination (8.7.3): authorised, within the sender's quota, stored
 * in one commit. Returns the status, the reason in q->why. */
static int store(struct nhr_req *q, const struct dmp_relay_bundle *b,
		 const uint8_t spk[32], const char *mb12, uint64_t now_ms)
{
	struct dmp_node_http *h = q->h;
	struct dmp_nhr *r = h->relay;
	const uint64_t now_s = now_ms / 1000;
	struct dmp_ni_live live;
	char spk16[DMP_RELAY_FP_CHARS + 1], tag[DMP_NODE_NAME_MAX], hex[65];
	struct nhr_sender *e;
	struct nop *ops = NULL;
	uint64_t bytes = 0;
	uint32_t max_ttl = 0;
	int status, rc, why = -1;

	dmp_hex_encode(hex, spk, 32);
	memcpy(spk16, hex, DMP_RELAY_FP_CHARS);
	spk16[DMP_RELAY_FP_CHARS] = '\0';
	snprintf(tag, sizeof(tag), "relay:%s", spk16);
	dmp_ni_live_get(h->n, &live);
	if (r->o.accept == DMP_NODE_RELAY_OFF) {
		drop(r, NHR_D_NOT_AUTHORISED);
		return say(q, 403,
			   "this node takes no relayed bundles for its zones "
			   "(mesh.relay_accept off)");
	}
	if (!live.update_enabled) {
		drop(r, NHR_D_NOT_AUTHORISED);
		return say(q, 403,
			   "this node takes no writes (security."
			   "update_enabled or mesh.storage_enabled false)");
	}
	if (r->o.accept == DMP_NODE_RELAY_OWN &&
	    !dmp_nu_relay_owned(h->n, b->zone, mb12, spk16)) {
		drop(r, NHR_D_NOT_AUTHORISED);
		return say(q, 403,
			   "not authorised: neither mailbox mb-%s nor sender "
			   "%s is a user registered here (mesh.relay_accept "
			   "own)",
			   mb12, spk16);
	}
	ops = dmp_calloc(b->n_records, sizeof(*ops));
	if (!ops) {
		return say(q, 500, "out of memory");
	}
	status = build_ops(q, b, ops, &bytes, &max_ttl);
	if (status != 0) {
		goto out;
	}
	pthread_mutex_lock(&r->mu);
	e = ledger_at(r, spk16, now_s);
	if (r->o.sender_bytes && e->bytes + bytes > r->o.sender_bytes) {
		pthread_mutex_unlock(&r->mu);
		drop(r, NHR_D_QUOTA);
		status = say(q, 507,
			     "sender %s has %llu bytes of relayed values "
			     "here; %llu more is over mesh.relay_sender_bytes "
			     "%llu",
			     spk16, (unsigned long long)e->bytes,
			     (unsigned long long)bytes,
			     (unsigned long long)r->o.sender_bytes);
		goto out;
	}
	/* Takes the values, whatever the outcome. */
	rc = dmp_nu_write_as(h->n, ops, b->n_records, tag, now_ms, &why);
	if (rc == DMP_DNS_RCODE_NOERROR) {
		e->bytes += bytes;
		if (now_s + max_ttl > e->until_s) {
			e->until_s = now_s + max_ttl;
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (rc == DMP_DNS_RCODE_NOERROR) {
		(void)dmp_nrd_add(r->dup, q->id, now_s + max_ttl, now_s);
		atomic_fetch_add(&r->stored, 1);
		status = say(q, 200, "stored");
	} else if (rc == DMP_DNS_RCODE_REFUSED) {
		status = refused(q, why, tag);
	} else {
		status = say(q, 500, "store failed (see the node's log)");
	}
out:
	for (size_t i = 0; i < b->n_records; i++) {
		dmp_free(ops[i].value);
	}
	dmp_free(ops);
	return status;
}

/* Not served here: forward (8.7.5), count, and remember a bundle the
 * next hop took so that a second copy is 208 here already. */
int dmp_nhr_fwd_bundle(struct dmp_node_http *h, const char *id,
		       const struct dmp_relay_bundle *b, uint64_t t0_ms,
		       struct dmp_nhr_fwd *f, char *why, size_t cap)
{
	struct dmp_nhr *r = h->relay;
	const uint64_t now_s = dmp_nh_now_ms(h) / 1000;
	uint32_t max_ttl = 0;
	int status;

	status = dmp_nhr_forward(h, b, t0_ms, f, why, cap);
	atomic_fetch_add(&r->forwarded[f->flood ? 1 : 0], f->sent);
	if (status == 202) {
		for (size_t i = 0; i < b->n_records; i++) {
			if (b->records[i].ttl > max_ttl) {
				max_ttl = b->records[i].ttl;
			}
		}
		(void)dmp_nrd_add(r->dup, id, now_s + max_ttl, now_s);
	}
	return status;
}

static int forward_now(struct nhr_req *q, const struct dmp_relay_bundle *b,
		       uint64_t now_ms)
{
	struct dmp_nhr_fwd f;
	int status = dmp_nhr_fwd_bundle(q->h, q->id, b, now_ms, &f, q->why,
					sizeof(q->why));

	q->hops = f.hops;
	q->retry_after = f.retry_after;
	if (f.no_route) {
		drop(q->h->relay, NHR_D_NO_ROUTE); /* never held on this path */
	}
	return status;
}

void dmp_nhr_count_drop(struct dmp_node_http *h, enum dmp_nhr_drop d)
{
	static const enum nhr_drop map[] = {NHR_D_NO_ROUTE, NHR_D_HOLD_FULL,
					    NHR_D_HOLD_EXPIRED,
					    NHR_D_HOLD_RETRIES};

	drop(h->relay, map[d]);
}

void dmp_nhr_dup_add(struct dmp_node_http *h, const char *id, uint64_t exp_s)
{
	uint64_t now_s = dmp_nh_now_ms(h) / 1000;

	(void)dmp_nrd_add(h->relay->dup, id, exp_s, now_s);
}

/* Forward now, or (q->defer) move @p b into a job for the forwarder
 * thread and return 0. */
static int forward(struct nhr_req *q, struct dmp_relay_bundle *b,
		   uint64_t now_ms)
{
	struct dmp_nrq_job *j;
	int rc;

	if (!q->defer || !q->h->nrq) {
		return forward_now(q, b, now_ms);
	}
	rc = dmp_nrq_job_new(q->h->nrq, &j);
	if (rc == DMP_EAGAIN) {
		q->retry_after = 1;
		return say(q, 503,
			   "relay queue full (%d bundles waiting for a next "
			   "hop), retry later",
			   DMP_NRQ_MAX);
	}
	if (rc < 0) {
		return say(q, 500, "out of memory");
	}
	j->b = *b; /* the records move into the job */
	memset(b, 0, sizeof(*b));
	memcpy(j->id, q->id, sizeof(j->id));
	memcpy(j->sender, q->sender, sizeof(j->sender));
	j->t0_ms = now_ms;
	*q->defer = j;
	return 0;
}

void dmp_nhr_answer(struct dmp_node_http *h, struct dmp_nrq_job *j, int status,
		    unsigned hops, const char *why, int held)
{
	struct nhr_req q;

	memset(&q, 0, sizeof(q));
	q.h = h;
	q.hops = hops;
	q.held = held;
	memcpy(q.id, j->id, sizeof(q.id));
	snprintf(q.why, sizeof(q.why), "%s", why);
	if (status != 200 && status != 208) {
		DMP_LOG_D("node: relay bundle %s: %d %s", q.id, status, q.why);
	}
	dmp_relay_bundle_clear(&j->b);
	j->retry_after = j->retry_after ? j->retry_after : q.retry_after;
	j->status = reply(&q, status, &j->body, &j->len, &j->ctype);
}

/* 8.7.2's order after the body is parsed: hops, id and duplicates,
 * verification, the sender's rate, then store or forward. */
static int bundle(struct nhr_req *q, struct dmp_relay_bundle *b,
		  uint64_t now_ms)
{
	struct dmp_nhr *r = q->h->relay;
	const uint64_t now_s = now_ms / 1000;
	uint8_t spk[32], wire[DMP_DNS_NAME_WIRE_MAX], key[17] = {'s'};
	char mb12[13];
	size_t wlen;
	int rc;

	q->hops = b->hops;
	rc = dmp_relay_hops_check(b, r->o.max_hops, r->o.fp[0] ? r->o.fp : NULL,
				  q->why, sizeof(q->why));
	if (rc < 0) {
		drop(r, rc == DMP_EEXIST ? NHR_D_LOOP : NHR_D_HOPS);
		return rc == DMP_EMALFORMED ? 400 : 403;
	}
	rc = dmp_relay_bundle_check_id(b, q->why, sizeof(q->why));
	if (rc < 0) {
		return rc == DMP_ENOMEM ? 500 : rc == DMP_ETOOBIG ? 413 : 400;
	}
	memcpy(q->id, b->id, sizeof(q->id));
	if (dmp_nrd_seen(r->dup, q->id, now_s)) {
		drop(r, NHR_D_DUPLICATE);
		return say(q, 208, "already seen");
	}
	rc = dmp_relay_bundle_verify(b, now_s, q->why, sizeof(q->why));
	if (rc < 0) {
		if (rc == DMP_ENOMEM) {
			return say(q, 500, "out of memory");
		}
		drop(r, NHR_D_VERIFY);
		return 403;
	}
	if (sender_of(b, now_s, spk, mb12) < 0) {
		drop(r, NHR_D_VERIFY);
		return say(q, 403, "no manifest or claim names the sender");
	}
	memcpy(key + 1, spk, 16);
	dmp_hex_encode(q->why, spk, 8); /* scratch: the sender's 16 hex */
	memcpy(q->sender, q->why, DMP_RELAY_FP_CHARS);
	q->sender[DMP_RELAY_FP_CHARS] = '\0';
	q->why[0] = '\0';
	if (!dmp_rl_allow_key(r->snd_rl, key, now_ms)) {
		drop(r, NHR_D_SENDER_RATE);
		q->retry_after = retry_secs(r->o.sender_rate);
		return say(q, 429,
			   "over mesh.relay_sender_rate %g/s for this sender; "
			   "retry after %u s",
			   r->o.sender_rate, q->retry_after);
	}
	if (dmp_dnswire_from_text(b->zone, wire, &wlen) < 0 ||
	    !dmp_ni_zone_of(q->h->n, wire, wlen)) {
		return forward(q, b, now_ms);
	}
	return store(q, b, spk, mb12, now_ms);
}

int dmp_nh_relay(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		 const struct sockaddr *client, char **body, size_t *len,
		 const char **ctype, unsigned *retry_after,
		 struct dmp_nrq_job **defer)
{
	struct dmp_nhr *r = h->relay;
	const uint64_t now_ms = dmp_nh_now_ms(h);
	struct nhr_req q;
	struct dmp_relay_bundle b;
	size_t max = dmp_relay_body_max(r->o.bundle_bytes);
	int status, rc;

	memset(&q, 0, sizeof(q));
	q.h = h;
	q.defer = defer;
	if (defer) {
		*defer = NULL;
	}
	if (strcmp(rq->method, "POST") != 0) {
		return reply(&q,
			     say(&q, 405,
				 "method not allowed: POST a DMP-RELAY/1 "
				 "bundle"),
			     body, len, ctype);
	}
	atomic_fetch_add(&r->bytes_in, rq->body_len);
	if (!r->o.enabled) {
		drop(r, NHR_D_DISABLED);
		return reply(&q, say(&q, 403, "relay disabled"), body, len,
			     ctype);
	}
	if (!dmp_rl_allow(r->src_rl, client, now_ms)) {
		drop(r, NHR_D_SOURCE_RATE);
		q.retry_after = retry_secs(r->o.source_rate);
		*retry_after = q.retry_after;
		return reply(&q,
			     say(&q, 429,
				 "over mesh.relay_source_rate %g/s from this "
				 "source; retry after %u s",
				 r->o.source_rate, q.retry_after),
			     body, len, ctype);
	}
	if (rq->body_len > max) {
		return reply(&q,
			     say(&q, 413,
				 "body of %zu bytes, over %zu (mesh."
				 "relay_bundle_bytes %zu)",
				 rq->body_len, max, r->o.bundle_bytes),
			     body, len, ctype);
	}
	rc = dmp_relay_bundle_parse_json(&b, rq->body ? rq->body : "",
					 rq->body_len, r->o.bundle_bytes, q.why,
					 sizeof(q.why));
	if (rc < 0) {
		status = rc == DMP_ETOOBIG ? 413 : rc == DMP_ENOMEM ? 500 : 400;
		return reply(&q, status, body, len, ctype);
	}
	status = bundle(&q, &b, now_ms);
	dmp_relay_bundle_clear(&b);
	*retry_after = q.retry_after;
	if (status == 0) {
		return 0; /* *defer: answered by the forwarder thread */
	}
	if (status != 200 && status != 208) {
		DMP_LOG_D("node: relay bundle %s: %d %s", q.id[0] ? q.id : "-",
			  status, q.why);
	}
	return reply(&q, status, body, len, ctype);
}

void dmp_nhr_metrics(struct dmp_node_http *h, FILE *f)
{
	struct dmp_nhr *r = h->relay;

	if (!r) {
		return;
	}
	fprintf(f, "# HELP dmp_relay_received_total POST /v1/relay requests "
		   "by result.\n"
		   "# TYPE dmp_relay_received_total counter\n");
	dmp_nh_by_label(f, "dmp_relay_received_total", "result", result_names,
			r->received, NHR_RESULT_MAX);
	fprintf(f, "# HELP dmp_relay_dropped_total Relayed bundles refused, "
		   "by reason.\n"
		   "# TYPE dmp_relay_dropped_total counter\n");
	dmp_nh_by_label(f, "dmp_relay_dropped_total", "reason", drop_names,
			r->dropped, NHR_DROP_MAX);
	fprintf(f,
		"# HELP dmp_relay_stored_total Relayed bundles stored here "
		"(this node serves their zone).\n"
		"# TYPE dmp_relay_stored_total counter\n"
		"dmp_relay_stored_total %llu\n"
		"# HELP dmp_relay_forwarded_total Relayed bundles a next hop "
		"took, by mode.\n"
		"# TYPE dmp_relay_forwarded_total counter\n"
		"dmp_relay_forwarded_total{mode=\"path\"} %llu\n"
		"dmp_relay_forwarded_total{mode=\"flood\"} %llu\n"
		"# HELP dmp_relay_bytes_total Bytes of relay request bodies.\n"
		"# TYPE dmp_relay_bytes_total counter\n"
		"dmp_relay_bytes_total{dir=\"in\"} %llu\n",
		(unsigned long long)atomic_load(&r->stored),
		(unsigned long long)atomic_load(&r->forwarded[0]),
		(unsigned long long)atomic_load(&r->forwarded[1]),
		(unsigned long long)atomic_load(&r->bytes_in));
	dmp_nrq_metrics(h->nrq, f);
}
