/*
 * core/src/node/node_update.c - RFC 2136 UPDATE with RFC 8945 TSIG
 * (hmac-sha256), checked in the reference's order (PROTOCOL.md 7.1):
 * TSIG, zone, owners in zone, caps, scope, apply.
 *
 * TSIG is computed here over libsodium's HMAC rather than libknot's
 * knot_tsig_server_check(), because that one reads time(NULL) and the
 * node's clock must be a parameter (tests replay vectors signed in 2030).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/txt.h"
#include "node/node_i.h"

#define MAX_OPS 128
/* Logged commits kept from sqlite at most (dmp_node_flush()). */
#define PEND_MAX 1024

static const uint8_t hmac_sha256_wire[] = "\x0bhmac-sha256";

struct tsig {
	size_t start; /* offset of the TSIG RR in the request */
	uint8_t key[NAME_WIRE_MAX];
	size_t klen;
	uint8_t alg[NAME_WIRE_MAX];
	size_t alen;
	uint64_t time_signed;
	uint16_t fudge;
	const uint8_t *mac;
	uint16_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
};

struct uctx {
	size_t zone_end; /* end of the zone section */
	uint8_t zone[NAME_WIRE_MAX];
	size_t zlen;
	struct nop ops[MAX_OPS];
	size_t n_ops;
	int have_tsig;
	struct tsig ts;
	const struct nkey *key;
	int too_many;
	int bad_class;
	int bad_owner; /* owner outside zone (NOTZONE) */
	int bad_name;  /* owner with characters DMP never uses */
	int bad_value; /* RDATA does not join, or is not UTF-8 */
};

static void ops_free(struct uctx *u)
{
	for (size_t i = 0; i < u->n_ops; i++) {
		dmp_free(u->ops[i].value);
		u->ops[i].value = NULL;
	}
	u->n_ops = 0;
}

/* The TSIG RDATA (RFC 8945 4.2). */
static int parse_tsig(const uint8_t *q, size_t rd, size_t rdlen,
		      struct tsig *ts)
{
	struct dmp_rbuf b;
	size_t off = rd;

	/* The algorithm name is never compressed (RFC 8945 4.2). */
	if (nw_read_name(q, rd + rdlen, &off, ts->alg, &ts->alen, 0) < 0) {
		return DMP_EMALFORMED;
	}
	dmp_rbuf_init(&b, q + off, rd + rdlen - off);
	ts->time_signed = (uint64_t)dmp_rbuf_u16(&b) << 32;
	ts->time_signed |= dmp_rbuf_u32(&b);
	ts->fudge = dmp_rbuf_u16(&b);
	ts->mac_len = dmp_rbuf_u16(&b);
	ts->mac = dmp_rbuf_take(&b, ts->mac_len);
	ts->orig_id = dmp_rbuf_u16(&b);
	ts->error = dmp_rbuf_u16(&b);
	ts->other_len = dmp_rbuf_u16(&b);
	ts->other = dmp_rbuf_take(&b, ts->other_len);
	return dmp_rbuf_finish(&b);
}

/* One update-section RR (RFC 2136 2.5). */
static void add_op(struct dmp_node *n, struct uctx *u, const uint8_t *owner,
		   size_t olen, uint16_t type, uint16_t cls, uint32_t ttl,
		   const uint8_t *rdata, size_t rdlen)
{
	struct nop *op;
	char *value = NULL;
	size_t vlen = 0;

	/* RFC 2136 3.4.1.3: every owner, whatever its type, in the UPDATE's
	 * zone (and not in a zone we serve below it). */
	if (!nw_in_zone(owner, olen, u->zone, u->zlen) ||
	    (dmp_ni_zone_of(n, owner, olen) &&
	     dmp_ni_zone_of(n, owner, olen)->nlen != u->zlen)) {
		u->bad_owner = 1;
		return;
	}
	if (type != T_TXT) {
		/* PROTOCOL.md 7.1: other types are then ignored. */
		return;
	}
	if (cls != C_IN && cls != C_NONE && cls != C_ANY) {
		u->bad_class = 1;
		return;
	}
	if (cls == C_ANY && rdlen != 0) {
		u->bad_class = 1; /* RFC 2136 2.5.2 */
		return;
	}
	if (!nw_ldh(owner)) {
		u->bad_name = 1;
		return;
	}
	if (u->n_ops == MAX_OPS) {
		u->too_many = 1;
		return;
	}
	if (cls != C_ANY) {
		/* 7.1: strings joined back, valid UTF-8 required. */
		value = dmp_malloc(rdlen + 1);
		if (!value || rdlen == 0 ||
		    dmp_txt_join(value, rdlen + 1, &vlen, rdata, rdlen) < 0 ||
		    !nw_utf8_valid((const uint8_t *)value, vlen)) {
			dmp_free(value);
			u->bad_value = 1;
			return;
		}
	}
	op = &u->ops[u->n_ops];
	memset(op, 0, sizeof(*op));
	op->kind = cls == C_IN	   ? NOP_ADD
		   : cls == C_NONE ? NOP_DEL_ONE
				   : NOP_DEL_ALL;
	memcpy(op->wire, owner, olen);
	op->wlen = olen;
	nw_to_text(owner, op->owner);
	/* As the reference: an add with TTL 0 lives DMP_DNS_TTL seconds. */
	op->ttl = (cls == C_IN && ttl == 0) ? DMP_NODE_DNS_TTL : ttl;
	op->value = value;
	op->vlen = vlen;
	u->n_ops++;
}

/* Parse the whole message; DMP_EMALFORMED means FORMERR. */
static int parse_update(struct dmp_node *n, const uint8_t *q, size_t qlen,
			struct uctx *u)
{
	unsigned zo = rd16(q + 4), pr = rd16(q + 6), up = rd16(q + 8),
		 ad = rd16(q + 10);
	size_t off = HDR_LEN;

	if (zo != 1) {
		return DMP_EMALFORMED; /* RFC 2136 3.1.1 */
	}
	if (nw_read_name(q, qlen, &off, u->zone, &u->zlen, 0) < 0 ||
	    qlen - off < 4 || rd16(q + off) != T_SOA) {
		return DMP_EMALFORMED;
	}
	off += 4;
	u->zone_end = off;
	for (unsigned i = 0; i < pr + up + ad; i++) {
		uint8_t owner[NAME_WIRE_MAX];
		size_t olen, start = off;
		uint16_t type, cls, rdlen;
		uint32_t ttl;

		if (nw_read_name(q, qlen, &off, owner, &olen, 1) < 0 ||
		    qlen - off < RR_FIXED) {
			return DMP_EMALFORMED;
		}
		type = rd16(q + off);
		cls = rd16(q + off + 2);
		ttl = dmp_load_u32(q + off + 4);
		rdlen = rd16(q + off + 8);
		off += RR_FIXED;
		if (qlen - off < rdlen) {
			return DMP_EMALFORMED;
		}
		if (type == T_TSIG) {
			/* RFC 8945 5.1: last in additional, class ANY,
			 * TTL 0. */
			if (i != pr + up + ad - 1 || i < pr + up ||
			    cls != C_ANY || ttl != 0) {
				return DMP_EMALFORMED;
			}
			u->have_tsig = 1;
			u->ts.start = start;
			memcpy(u->ts.key, owner, olen);
			u->ts.klen = olen;
			if (parse_tsig(q, off, rdlen, &u->ts) < 0) {
				return DMP_EMALFORMED;
			}
		} else if (i >= pr && i < pr + up) {
			add_op(n, u, owner, olen, type, cls, ttl, q + off,
			       rdlen);
		}
		off += rdlen;
	}
	return off == qlen ? 0 : DMP_EMALFORMED;
}

/* TSIG variables (RFC 8945 4.3.3) for a digest. */
static void mac_vars(crypto_auth_hmacsha256_state *st, const uint8_t *key,
		     size_t klen, uint64_t time_signed, uint16_t fudge,
		     uint16_t error, const uint8_t *other, uint16_t other_len)
{
	uint8_t v[16];

	crypto_auth_hmacsha256_update(st, key, klen);
	wr16(v, C_ANY);
	dmp_store_u32(v + 2, 0);
	crypto_auth_hmacsha256_update(st, v, 6);
	crypto_auth_hmacsha256_update(st, hmac_sha256_wire,
				      sizeof(hmac_sha256_wire));
	wr16(v, (unsigned)(time_signed >> 32));
	dmp_store_u32(v + 2, (uint32_t)time_signed);
	wr16(v + 6, fudge);
	wr16(v + 8, error);
	wr16(v + 10, other_len);
	crypto_auth_hmacsha256_update(st, v, 12);
	if (other_len) {
		crypto_auth_hmacsha256_update(st, other, other_len);
	}
}

static void request_mac(uint8_t mac[32], const struct nkey *k, const uint8_t *q,
			const struct tsig *ts)
{
	crypto_auth_hmacsha256_state st;
	uint8_t hdr[HDR_LEN];

	/* RFC 8945 4.3.1-4.3.2: original ID, ARCOUNT without the TSIG. */
	memcpy(hdr, q, HDR_LEN);
	wr16(hdr, ts->orig_id);
	wr16(hdr + 10, rd16(q + 10) - 1u);
	crypto_auth_hmacsha256_init(&st, k->secret, k->slen);
	crypto_auth_hmacsha256_update(&st, hdr, HDR_LEN);
	crypto_auth_hmacsha256_update(&st, q + HDR_LEN, ts->start - HDR_LEN);
	mac_vars(&st, ts->key, ts->klen, ts->time_signed, ts->fudge, ts->error,
		 ts->other, ts->other_len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/*
 * Append a TSIG RR to the reply in resp[0..*len). @p k NULL: unsigned
 * (BADKEY, BADSIG: RFC 8945 5.3.2). BADTIME keeps the request's time and
 * puts ours in Other Data (5.2.3).
 */
static int sign_reply(uint8_t *resp, size_t *len, size_t cap,
		      const struct nkey *k, const struct tsig *ts,
		      uint16_t error, uint64_t now_s)
{
	uint8_t mac[32], other[6];
	uint16_t other_len = 0, mac_len = 0;
	uint64_t t = now_s;
	struct dmp_wbuf w;
	size_t rd;

	if (error == TSIG_BADTIME) {
		t = ts->time_signed;
		wr16(other, (unsigned)(now_s >> 32));
		dmp_store_u32(other + 2, (uint32_t)now_s);
		other_len = 6;
	}
	if (k) {
		crypto_auth_hmacsha256_state st;
		uint8_t l[2];

		/* RFC 8945 4.3.1: request MAC, reply, variables. */
		crypto_auth_hmacsha256_init(&st, k->secret, k->slen);
		wr16(l, ts->mac_len);
		crypto_auth_hmacsha256_update(&st, l, 2);
		crypto_auth_hmacsha256_update(&st, ts->mac, ts->mac_len);
		crypto_auth_hmacsha256_update(&st, resp, *len);
		mac_vars(&st, ts->key, ts->klen, t, DMP_NODE_TSIG_FUDGE, error,
			 other, other_len);
		crypto_auth_hmacsha256_final(&st, mac);
		sodium_memzero(&st, sizeof(st));
		mac_len = 32;
	}
	dmp_wbuf_init(&w, resp, cap);
	w.len = *len;
	dmp_wbuf_put(&w, ts->key, ts->klen);
	dmp_wbuf_u16(&w, T_TSIG);
	dmp_wbuf_u16(&w, C_ANY);
	dmp_wbuf_u32(&w, 0);
	rd = w.len;
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_put(&w, ts->alg, ts->alen);
	dmp_wbuf_u16(&w, (uint16_t)(t >> 32));
	dmp_wbuf_u32(&w, (uint32_t)t);
	dmp_wbuf_u16(&w, DMP_NODE_TSIG_FUDGE);
	dmp_wbuf_u16(&w, mac_len);
	dmp_wbuf_put(&w, mac, mac_len);
	dmp_wbuf_u16(&w, rd16(resp)); /* original ID = the reply's */
	dmp_wbuf_u16(&w, error);
	dmp_wbuf_u16(&w, other_len);
	dmp_wbuf_put(&w, other, other_len);
	sodium_memzero(mac, sizeof(mac));
	if (dmp_wbuf_error(&w) != 0) {
		return DMP_ENOBUFS;
	}
	wr16(resp + rd, (unsigned)(w.len - rd - 2));
	wr16(resp + 10, rd16(resp + 10) + 1u);
	*len = w.len;
	return 0;
}

static const struct nkey *find_key(const struct dmp_node *n,
				   const uint8_t *name, size_t nlen)
{
	for (size_t i = 0; i < n->n_keys; i++) {
		if (n->keys[i].nlen == nlen &&
		    memcmp(n->keys[i].name, name, nlen) == 0) {
			return &n->keys[i];
		}
	}
	return NULL;
}

/* RCODE from the caps (PROTOCOL.md 7.1 step 5). */
static int check_caps(struct dmp_node *n, const struct uctx *u, uint64_t now_s)
{
	for (size_t i = 0; i < u->n_ops; i++) {
		const struct nop *op = &u->ops[i];
		const struct nidx_ent *e;
		uint32_t live = 0, fresh = 0;

		if (op->kind != NOP_ADD) {
			continue;
		}
		if (op->ttl > n->o.max_ttl || op->vlen > n->o.max_value_bytes) {
			return RC_REFUSED;
		}
		/* Count each owner once, at its first add. */
		for (size_t j = 0; j < i; j++) {
			if (u->ops[j].kind == NOP_ADD &&
			    strcmp(u->ops[j].owner, op->owner) == 0) {
				goto next;
			}
		}
		pthread_rwlock_rdlock(&n->ilock);
		e = dmp_nidx_find(&n->idx, op->wire, op->wlen);
		for (uint32_t k = 0; e && k < e->n_rr; k++) {
			live += e->rr[k]->exp_s > now_s;
		}
		for (size_t j = i; j < u->n_ops; j++) {
			const struct nop *o2 = &u->ops[j];
			int dup = 0;

			if (o2->kind != NOP_ADD ||
			    strcmp(o2->owner, op->owner) != 0) {
				continue;
			}
			for (size_t m = i; m < j && !dup; m++) {
				dup = u->ops[m].kind == NOP_ADD &&
				      strcmp(u->ops[m].owner, op->owner) == 0 &&
				      u->ops[m].vlen == o2->vlen &&
				      memcmp(u->ops[m].value, o2->value,
					     o2->vlen) == 0;
			}
			for (uint32_t k = 0; e && k < e->n_rr && !dup; k++) {
				dup = e->rr[k]->exp_s > now_s &&
				      dmp_nidx_rr_value_eq(e->rr[k], o2->value,
							   o2->vlen);
			}
			fresh += !dup;
		}
		pthread_rwlock_unlock(&n->ilock);
		if (live + fresh > n->o.max_values_per_name) {
			return RC_REFUSED;
		}
	next:;
	}
	return RC_NOERROR;
}

static int in_scope(const struct nkey *k, const struct nop *op)
{
	for (unsigned i = 0; i < k->n_scopes; i++) {
		if (op->kind != NOP_ADD && strchr(k->scopes[i], '*')) {
			continue; /* 7.1: DELETE needs a suffix without '*' */
		}
		if (dmp_node_scope_match(k->scopes[i], op->owner)) {
			return 1;
		}
	}
	return 0;
}

/*
 * Is @p owner claim-<digits>.mb-<12 hex>.<zone> with @p zone the UPDATE's
 * zone (PROTOCOL.md 7.3)? Copies the 12 hex digits to @p hash.
 */
static int claim_owner(const uint8_t *owner, size_t olen, const uint8_t *zone,
		       size_t zlen, char hash[13])
{
	const uint8_t *l1 = owner, *l2;
	size_t n1 = l1[0], n2;

	/* Two labels, then exactly the zone. */
	if (olen < 1 + n1 + 1 || n1 < 7 || n1 > 6 + 10 ||
	    memcmp(l1 + 1, "claim-", 6) != 0) {
		return 0;
	}
	for (size_t i = 7; i <= n1; i++) {
		if (l1[i] < '0' || l1[i] > '9') {
			return 0;
		}
	}
	l2 = l1 + 1 + n1;
	n2 = l2[0];
	if (n2 != 15 || memcmp(l2 + 1, "mb-", 3) != 0 ||
	    olen != 1 + n1 + 1 + n2 + zlen ||
	    memcmp(l2 + 1 + n2, zone, zlen) != 0) {
		return 0;
	}
	for (size_t i = 0; i < 12; i++) {
		uint8_t c = l2[4 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
		hash[i] = (char)c;
	}
	hash[12] = '\0';
	return 1;
}

/* Receiver-only mode: a recipient is ours when some key (from
 * registration's X25519 proof) holds exactly mb-<hash>.<zone>. */
static int hash_registered(const struct dmp_node *n, const char *hash,
			   const uint8_t *zone)
{
	char want[DMP_NODE_NAME_MAX + 16], ztext[DMP_NODE_NAME_MAX];

	nw_to_text(zone, ztext);
	snprintf(want, sizeof(want), "mb-%s.%s", hash, ztext);
	for (size_t i = 0; i < n->n_keys; i++) {
		for (unsigned k = 0; k < n->keys[i].n_scopes; k++) {
			if (strcmp(n->keys[i].scopes[k], want) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

/*
 * PROTOCOL.md 7.3, the one UPDATE taken without TSIG: adds of verified
 * claims only. Shape problems are REFUSED, an empty bucket SERVFAIL.
 */
static int claim_check(struct dmp_node *n, struct uctx *u, uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	const struct nzone *z = dmp_ni_zone_of(n, u->zone, u->zlen);
	uint32_t ttl_cap = n->o.max_ttl < DMP_NODE_CLAIM_MAX_LIFE
			       ? n->o.max_ttl
			       : DMP_NODE_CLAIM_MAX_LIFE;
	char hash[13];
	int rc;

	if (n->o.claim_mode == DMP_NODE_CLAIM_OFF || !n->o.update_enabled ||
	    !z || z->nlen != u->zlen || u->bad_owner || u->bad_class ||
	    u->too_many || u->bad_name || u->bad_value || u->n_ops == 0) {
		return RC_REFUSED;
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		struct nop *op = &u->ops[i];
		struct dmp_claim c;

		if (op->kind != NOP_ADD ||
		    !claim_owner(op->wire, op->wlen, u->zone, u->zlen, hash)) {
			DMP_LOG_D("node: unsigned UPDATE of %s refused",
				  op->owner);
			return RC_REFUSED;
		}
		if (dmp_claim_parse_verify(&c, op->value, op->vlen, now_s) <
			0 ||
		    c.exp - now_s > DMP_NODE_CLAIM_MAX_LIFE) {
			DMP_LOG_D("node: claim at %s does not verify",
				  op->owner);
			return RC_REFUSED;
		}
		if (n->o.claim_mode == DMP_NODE_CLAIM_RECEIVER &&
		    !hash_registered(n, hash, u->zone)) {
			return RC_REFUSED;
		}
		if (op->ttl > ttl_cap) {
			op->ttl = ttl_cap;
		}
	}
	rc = check_caps(n, u, now_s);
	if (rc != RC_NOERROR) {
		return rc;
	}
	/* Last, so that refused shapes spend no tokens. */
	for (size_t i = 0; i < u->n_ops; i++) {
		uint8_t key[17] = {'c'};

		(void)claim_owner(u->ops[i].wire, u->ops[i].wlen, u->zone,
				  u->zlen, hash);
		memcpy(key + 1, hash, 12);
		if (!dmp_rl_allow_key(n->claim_rl, key, now_ms)) {
			DMP_LOG_I("node: claim rate limit for mb-%s", hash);
			return RC_SERVFAIL;
		}
	}
	return RC_NOERROR;
}

/* One UPDATE on its way through the batch. */
struct job {
	struct dmp_node_msg *m;
	struct uctx *u;
	int rcode;
	int tsig_err;
	int sign;
	int pending; /* accepted, waiting for its commit */
	int why;     /* enum dmp_node_reject when rcode != NOERROR */
};

/* PROTOCOL.md 7.1 steps 2-6 for one UPDATE (wlock held). */
static void prepare(struct dmp_node *n, struct job *j, uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct uctx *u = j->u;
	const uint8_t *q = j->m->q;
	uint8_t mac[32];

	/* 7.1 step 2: TSIG. */
	if (!u->have_tsig) {
		/* Nothing but the claim exception (7.3); unsigned reply. */
		j->rcode = claim_check(n, u, now_ms);
		j->why = j->rcode == RC_SERVFAIL ? DMP_NODE_REJ_CLAIM_RATE
			 : n->o.claim_mode == DMP_NODE_CLAIM_OFF
			     ? DMP_NODE_REJ_UNSIGNED
			     : DMP_NODE_REJ_CAPS;
		j->pending = j->rcode == RC_NOERROR;
		return;
	}
	u->key = find_key(n, u->ts.key, u->ts.klen);
	j->why = DMP_NODE_REJ_TSIG;
	if (!u->key || u->ts.alen != sizeof(hmac_sha256_wire) ||
	    memcmp(u->ts.alg, hmac_sha256_wire, u->ts.alen) != 0) {
		j->rcode = RC_NOTAUTH;
		j->tsig_err = TSIG_BADKEY;
		return;
	}
	if (u->ts.mac_len > 32 || u->ts.mac_len < 10) {
		/* RFC 8945 5.2.2.1: shorter than 10 or longer than the
		 * hash is FORMERR. */
		j->rcode = RC_FORMERR;
		return;
	}
	request_mac(mac, u->key, q, &u->ts);
	if (sodium_memcmp(mac, u->ts.mac, u->ts.mac_len) != 0) {
		sodium_memzero(mac, sizeof(mac));
		j->rcode = RC_NOTAUTH;
		j->tsig_err = TSIG_BADSIG;
		return;
	}
	sodium_memzero(mac, sizeof(mac));
	if (u->ts.mac_len < 32) {
		/* We accept no truncated MACs (RFC 8945 5.2.2.1 policy). */
		j->rcode = RC_NOTAUTH;
		j->tsig_err = TSIG_BADTRUNC;
		return;
	}
	j->sign = 1;
	if ((now_s > u->ts.time_signed &&
	     now_s - u->ts.time_signed > u->ts.fudge) ||
	    (u->ts.time_signed > now_s &&
	     u->ts.time_signed - now_s > u->ts.fudge)) {
		j->rcode = RC_NOTAUTH;
		j->tsig_err = TSIG_BADTIME; /* RFC 8945 5.2.3 */
		return;
	}
	if (!n->o.update_enabled) {
		j->rcode = RC_REFUSED;
		j->why = DMP_NODE_REJ_DISABLED;
		return;
	}
	j->why = DMP_NODE_REJ_ZONE;
	/* Step 3: a zone we serve. */
	if (!dmp_ni_zone_of(n, u->zone, u->zlen) ||
	    dmp_ni_zone_of(n, u->zone, u->zlen)->nlen != u->zlen) {
		j->rcode = RC_NOTAUTH;
		return;
	}
	/* Step 4: owners in the zone. */
	if (u->bad_owner) {
		j->rcode = RC_NOTZONE;
		return;
	}
	if (u->bad_class) {
		j->rcode = RC_FORMERR;
		j->why = DMP_NODE_REJ_FORMERR;
		return;
	}
	j->why = DMP_NODE_REJ_CAPS;
	/* Step 5: caps (and values a DMP node cannot hold). */
	if (u->too_many || u->bad_name || u->bad_value) {
		j->rcode = RC_REFUSED;
		return;
	}
	j->rcode = check_caps(n, u, now_s);
	if (j->rcode != RC_NOERROR) {
		return;
	}
	/* Step 6: scope; one miss refuses everything. */
	j->why = DMP_NODE_REJ_SCOPE;
	for (size_t i = 0; i < u->n_ops; i++) {
		if (!in_scope(u->key, &u->ops[i])) {
			DMP_LOG_I("node: UPDATE %s outside the key's scope",
				  u->ops[i].owner);
			j->rcode = RC_REFUSED;
			return;
		}
	}
	/* Quota of live values per key (abuse resistance); the batch loop
	 * commits a key's earlier UPDATE first, so the count is exact. */
	if (n->o.key_quota > 0) {
		uint64_t need = 0;

		/* The count reads sqlite: logged commits first. */
		if (dmp_ni_flush(n) < 0 ||
		    dmp_st_quota_need(n->db, u->key->text, u->ops, u->n_ops,
				      now_s, &need) < 0) {
			j->rcode = RC_SERVFAIL;
			j->why = DMP_NODE_REJ_STORE;
			return;
		}
		if (need > n->o.key_quota) {
			DMP_LOG_I("node: key %s over its quota of %u values",
				  u->key->text, (unsigned)n->o.key_quota);
			j->rcode = RC_REFUSED;
			j->why = DMP_NODE_REJ_QUOTA;
			return;
		}
	}
	/* Last, so that refused UPDATEs spend none of the key's tokens. */
	if (n->key_rl) {
		uint8_t h[32], key[17] = {'k'};

		dmp_sha256(h, u->key->name, u->key->nlen);
		memcpy(key + 1, h, 16);
		if (!dmp_rl_allow_key(n->key_rl, key, now_ms)) {
			DMP_LOG_I("node: write rate limit for a TSIG key");
			j->rcode = RC_REFUSED;
			j->why = DMP_NODE_REJ_KEY_RATE;
			return;
		}
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		memcpy(u->ops[i].key, u->key->text, sizeof(u->ops[i].key));
	}
	j->pending = u->n_ops > 0;
}

/* Do two jobs write a common owner? */
static int overlaps(const struct uctx *a, const struct uctx *b)
{
	for (size_t i = 0; i < a->n_ops; i++) {
		for (size_t k = 0; k < b->n_ops; k++) {
			if (a->ops[i].wlen == b->ops[k].wlen &&
			    memcmp(a->ops[i].wire, b->ops[k].wire,
				   a->ops[i].wlen) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

/* With quotas on, a second UPDATE by the same key waits for the first's
 * commit so that its count sees those values. */
static int same_quota_key(const struct dmp_node *n, const struct uctx *a,
			  const struct uctx *b)
{
	return n->o.key_quota > 0 && a->key && b->have_tsig &&
	       a->key == find_key(n, b->ts.key, b->ts.klen);
}

/* ---- commit ---- */

/* A copy of @p rr (the index frees what it replaces). */
static struct nidx_rr *rr_dup(const struct nidx_rr *rr)
{
	struct nidx_rr *c = dmp_malloc(sizeof(*c) + rr->len);

	if (c) {
		memcpy(c, rr, sizeof(*c) + rr->len);
	}
	return c;
}

/*
 * The index after @p ops without reading sqlite: what dmp_st_apply() does to
 * the rows and dmp_st_name_rows() would read back (live rows, oldest write
 * first; an add of a value already there refreshes it and moves it last).
 */
static int index_apply(struct dmp_node *n, const struct nop *const *ops,
		       size_t n_ops, uint64_t now_s)
{
	int rc = 0;

	for (size_t i = 0; i < n_ops; i++) {
		const struct nop *op = ops[i];
		const struct nidx_ent *e;
		struct nidx_rr **rr = NULL;
		uint32_t cnt = 0, cap;
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++) {
			seen = ops[k]->wlen == op->wlen &&
			       memcmp(ops[k]->wire, op->wire, op->wlen) == 0;
		}
		if (seen) {
			continue; /* done with its first op */
		}
		pthread_rwlock_rdlock(&n->ilock);
		e = dmp_nidx_find(&n->idx, op->wire, op->wlen);
		cap = (e ? e->n_rr : 0) + (uint32_t)(n_ops - i);
		rr = dmp_calloc(cap ? cap : 1, sizeof(*rr));
		for (uint32_t k = 0; rr && e && k < e->n_rr; k++) {
			if (e->rr[k]->exp_s <= now_s) {
				continue;
			}
			rr[cnt] = rr_dup(e->rr[k]);
			if (!rr[cnt]) {
				rc = DMP_ENOMEM;
				break;
			}
			cnt++;
		}
		pthread_rwlock_unlock(&n->ilock);
		for (size_t k = i; rr && k < n_ops; k++) {
			const struct nop *o2 = ops[k];
			uint32_t m = 0;

			if (o2->wlen != op->wlen ||
			    memcmp(o2->wire, op->wire, op->wlen) != 0) {
				continue;
			}
			for (uint32_t j = 0; j < cnt; j++) {
				if (o2->kind == NOP_DEL_ALL ||
				    dmp_nidx_rr_value_eq(rr[j], o2->value,
							 o2->vlen)) {
					dmp_free(rr[j]);
				} else {
					rr[m++] = rr[j];
				}
			}
			cnt = m;
			if (o2->kind == NOP_ADD && now_s + o2->ttl > now_s) {
				rr[cnt] = dmp_nidx_rr_new(o2->value, o2->vlen,
							  n->o.answer_ttl,
							  now_s + o2->ttl);
				if (!rr[cnt]) {
					rc = DMP_ENOMEM;
					break;
				}
				cnt++;
			}
		}
		if (!rr) {
			rc = DMP_ENOMEM;
			continue;
		}
		pthread_rwlock_wrlock(&n->ilock);
		if (dmp_nidx_set(&n->idx, op->wire, op->wlen, rr, cnt) < 0) {
			rc = DMP_ENOMEM;
		}
		pthread_rwlock_unlock(&n->ilock);
	}
	return rc;
}

/* All pending commits in one transaction: the pages they share (index
 * leaves, the serial) are written once, not once per UPDATE. */
void dmp_ni_pending_free(struct dmp_node *n)
{
	while (n->pend) {
		struct npend *p = n->pend;

		n->pend = p->next;
		for (size_t i = 0; i < p->n; i++) {
			dmp_free(p->ops[i].value);
		}
		dmp_free(p);
	}
	n->pend_tail = &n->pend;
}

int dmp_ni_flush(struct dmp_node *n)
{
	size_t total = 0, k = 0;
	const struct nop **ops;
	uint32_t serial;
	int rc;

	if (!n->pend) {
		return 0;
	}
	for (struct npend *p = n->pend; p; p = p->next) {
		total += p->n;
	}
	ops = dmp_malloc(total * sizeof(*ops));
	rc = ops ? dmp_st_set_full(n->db, &n->stm, 0) : DMP_ENOMEM;
	if (rc == 0) {
		rc = dmp_st_begin(n->db);
	}
	for (struct npend *p = n->pend; rc == 0 && p; p = p->next) {
		for (size_t i = 0; i < p->n; i++) {
			ops[k + i] = &p->ops[i];
		}
		rc = dmp_st_apply(n->db, &n->stm, ops + k, p->n, p->now_ms,
				  p->serial, &serial);
		k += p->n;
	}
	if (rc == 0) {
		rc = dmp_st_commit(n->db);
	}
	if (rc < 0) {
		dmp_st_rollback(n->db);
	}
	(void)dmp_st_set_full(n->db, &n->stm, 1);
	dmp_free(ops);
	n->flush_failed = rc < 0;
	if (rc < 0) {
		DMP_LOG_E("node: store write of logged UPDATEs failed; kept "
			  "in the update log, retried");
		return DMP_ESTORE;
	}
	dmp_ni_pending_free(n);
	atomic_store(&n->n_pend, 0);
	return 0;
}

int dmp_node_flush(struct dmp_node *n, unsigned min, uint64_t idle_ns)
{
	unsigned cnt = atomic_load(&n->n_pend);
	int rc;

	if (cnt == 0 ||
	    (min && cnt < min &&
	     dmp_ni_mono_ns() - atomic_load(&n->last_commit_ns) < idle_ns)) {
		return 0;
	}
	pthread_mutex_lock(&n->wlock);
	rc = dmp_ni_flush(n);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

unsigned dmp_node_pending(struct dmp_node *n)
{
	return (unsigned)atomic_load(&n->n_pend);
}

/*
 * Append the ops of one commit to the update log (durable on return:
 * @p logged 1). A full log is emptied first (pending commits written and
 * the store synced). A record that can never fit, or a failing log, leave
 * *logged 0: the caller then commits to sqlite with its fsync instead, so
 * durability never rests on the log alone failing.
 */
static int log_ops(struct dmp_node *n, const struct nop *const *ops,
		   size_t n_ops, uint64_t now_ms, int *logged)
{
	struct dmp_wbuf w;
	int rc;

	*logged = 0;
	dmp_wbuf_init_dyn(&w);
	rc = dmp_nj_ops_encode(&w, ops, n_ops, now_ms);
	if (rc == 0) {
		rc = dmp_nj_append(n->jr, w.p, w.len);
		if (rc == DMP_ENOSPC) {
			rc = dmp_ni_log_checkpoint(n);
			if (rc == 0) {
				rc = dmp_nj_append(n->jr, w.p, w.len);
			}
		}
	}
	dmp_wbuf_clear(&w);
	if (rc == 0) {
		*logged = 1;
		return 0;
	}
	if (rc != DMP_ENOBUFS) {
		DMP_LOG_W("node: update log append failed (%s); fsyncing the "
			  "store instead",
			  dmp_strerror(rc));
	}
	return rc == DMP_ENOMEM ? rc : 0;
}

/*
 * The logged path: log record (the durable point), index, then the ops
 * queued for sqlite (dmp_ni_flush, after the replies). @return 0 done,
 * 1 not logged (use the sqlite path), or an error (SERVFAIL).
 */
static int commit_logged(struct dmp_node *n, struct job *jobs, size_t cnt,
			 const struct nop *const *ops, size_t n_ops,
			 uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct npend *p;
	uint32_t serial;
	int rc, logged;

	/* A store that failed to take earlier commits must take them before
	 * we answer NOERROR again (a full disk: SERVFAIL, not a log that
	 * only grows); and the backlog stays bounded without a server. */
	if (n->flush_failed || atomic_load(&n->n_pend) >= PEND_MAX) {
		rc = dmp_ni_flush(n);
		if (rc < 0) {
			return rc;
		}
	}
	rc = log_ops(n, ops, n_ops, now_ms, &logged);
	if (rc < 0 || !logged) {
		return rc < 0 ? rc : 1;
	}
	/* The serial dmp_st_apply() will store (nothing else writes it). */
	serial = dmp_st_next_serial(n->serial, now_s);
	if (index_apply(n, ops, n_ops, now_s) < 0) {
		DMP_LOG_E("node: index update failed; it heals at the next "
			  "restart");
	}
	pthread_rwlock_wrlock(&n->ilock);
	n->serial = serial;
	pthread_rwlock_unlock(&n->ilock);
	p = dmp_malloc(sizeof(*p) + n_ops * sizeof(p->ops[0]));
	if (!p) {
		/* Write it now instead. */
		uint32_t s2;

		rc = dmp_st_begin(n->db);
		if (rc == 0) {
			rc = dmp_st_apply(n->db, &n->stm, ops, n_ops, now_ms,
					  serial, &s2);
		}
		rc = rc == 0 ? dmp_st_commit(n->db) : rc;
		if (rc < 0) {
			dmp_st_rollback(n->db);
			DMP_LOG_E("node: store write failed; the UPDATE is in "
				  "the update log and applied at the next "
				  "start");
		}
		return 0;
	}
	p->next = NULL;
	p->now_ms = now_ms;
	p->serial = serial;
	p->n = 0;
	for (size_t i = 0; i < cnt; i++) {
		for (size_t k = 0; jobs[i].pending && k < jobs[i].u->n_ops;
		     k++) {
			p->ops[p->n] = jobs[i].u->ops[k];
			jobs[i].u->ops[k].value = NULL; /* now p's */
			p->n++;
		}
	}
	*n->pend_tail = p;
	n->pend_tail = &p->next;
	atomic_store(&n->last_commit_ns, dmp_ni_mono_ns());
	atomic_fetch_add(&n->n_pend, 1);
	return 0;
}

/* Step 7 for jobs[0..cnt) that are pending: durable (update log, or one
 * sqlite transaction), then the index. A store failure fails them all
 * with SERVFAIL. */
static void commit(struct dmp_node *n, struct job *jobs, size_t cnt,
		   uint64_t now_ms)
{
	const struct nop **ops;
	size_t n_ops = 0;
	uint32_t serial = 0;
	int rc;

	for (size_t i = 0; i < cnt; i++) {
		n_ops += jobs[i].pending ? jobs[i].u->n_ops : 0;
	}
	if (n_ops == 0) {
		return;
	}
	ops = dmp_malloc(n_ops * sizeof(*ops));
	rc = ops ? 0 : DMP_ENOMEM;
	n_ops = 0;
	for (size_t i = 0; ops && i < cnt; i++) {
		for (size_t k = 0; jobs[i].pending && k < jobs[i].u->n_ops;
		     k++) {
			ops[n_ops++] = &jobs[i].u->ops[k];
		}
	}
	if (rc == 0 && n->jr) {
		rc = commit_logged(n, jobs, cnt, ops, n_ops, now_ms);
		if (rc == 0) {
			goto done;
		}
		rc = rc == 1 ? dmp_ni_flush(n) : rc;
	}
	if (rc == 0) {
		rc = dmp_st_begin(n->db);
	}
	if (rc == 0) {
		rc = dmp_st_apply(n->db, &n->stm, ops, n_ops, now_ms, 0,
				  &serial);
	}
	if (rc == 0) {
		rc = dmp_st_commit(n->db);
	}
	if (rc < 0) {
		dmp_st_rollback(n->db);
	}
	if (rc < 0) {
		for (size_t i = 0; i < cnt; i++) {
			if (jobs[i].pending) {
				jobs[i].rcode = RC_SERVFAIL;
				jobs[i].why = DMP_NODE_REJ_STORE;
				jobs[i].pending = 0;
			}
		}
		dmp_free(ops);
		return;
	}
	pthread_rwlock_wrlock(&n->ilock);
	n->serial = serial;
	pthread_rwlock_unlock(&n->ilock);
	for (size_t i = 0; i < n_ops; i++) {
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++) {
			seen = ops[k]->wlen == ops[i]->wlen &&
			       memcmp(ops[k]->wire, ops[i]->wire,
				      ops[i]->wlen) == 0;
		}
		if (!seen &&
		    dmp_ni_refresh_name(n, ops[i]->owner, ops[i]->wire,
					ops[i]->wlen, now_ms / 1000) < 0) {
			/* Committed, but the index lags: it heals at the next
			 * restart; say so loudly. */
			DMP_LOG_E("node: index refresh failed for %s",
				  ops[i]->owner);
		}
	}
done:
	for (size_t i = 0; i < cnt; i++) {
		jobs[i].pending = 0;
	}
	dmp_free(ops);
}

static void finish(struct dmp_node *n, struct job *j, uint64_t now_s)
{
	struct dmp_node_msg *m = j->m;
	size_t len;

	cnt_add(&n->c_updates, 1);
	if (j->rcode == RC_NOERROR) {
		cnt_add(&n->c_updates_ok, 1);
	} else {
		cnt_add(&n->c_reject[j->why], 1);
	}
	len = (size_t)dmp_ni_error_reply(m->q, m->qlen, j->u->zone_end,
					 j->rcode, m->resp, m->cap);
	if (j->u->have_tsig && (j->tsig_err || j->sign)) {
		if (sign_reply(m->resp, &len, m->cap,
			       j->sign ? j->u->key : NULL, &j->u->ts,
			       (uint16_t)j->tsig_err, now_s) < 0) {
			len = (size_t)dmp_ni_error_reply(
			    m->q, m->qlen, 0, RC_SERVFAIL, m->resp, m->cap);
		}
	}
	m->resp_len = (int)len;
}

void dmp_ni_update_batch(struct dmp_node *n, struct dmp_node_msg *m,
			 size_t count, uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct job *jobs = dmp_calloc(count ? count : 1, sizeof(*jobs));
	size_t start = 0;

	if (!jobs) {
		for (size_t i = 0; i < count; i++) {
			m[i].resp_len = dmp_ni_error_reply(m[i].q, m[i].qlen, 0,
							   RC_SERVFAIL,
							   m[i].resp, m[i].cap);
		}
		return;
	}
	/* Parse outside the lock. */
	for (size_t i = 0; i < count; i++) {
		jobs[i].m = &m[i];
		jobs[i].u = dmp_calloc(1, sizeof(struct uctx));
		if (!jobs[i].u) {
			m[i].resp_len = dmp_ni_error_reply(m[i].q, m[i].qlen, 0,
							   RC_SERVFAIL,
							   m[i].resp, m[i].cap);
		} else if (parse_update(n, m[i].q, m[i].qlen, jobs[i].u) < 0) {
			cnt_add(&n->c_updates, 1);
			cnt_add(&n->c_reject[DMP_NODE_REJ_FORMERR], 1);
			m[i].resp_len =
			    dmp_ni_error_reply(m[i].q, m[i].qlen, 0, RC_FORMERR,
					       m[i].resp, m[i].cap);
			ops_free(jobs[i].u);
			dmp_free(jobs[i].u);
			jobs[i].u = NULL;
		}
	}
	pthread_mutex_lock(&n->wlock);
	for (size_t i = 0; i < count; i++) {
		if (!jobs[i].u) {
			continue;
		}
		/* Checks read the index, so a job touching an owner that a
		 * pending one writes waits for that commit. */
		for (size_t k = start; k < i; k++) {
			if (jobs[k].pending &&
			    (overlaps(jobs[k].u, jobs[i].u) ||
			     same_quota_key(n, jobs[k].u, jobs[i].u))) {
				commit(n, jobs + start, i - start, now_ms);
				start = i;
				break;
			}
		}
		prepare(n, &jobs[i], now_ms);
	}
	commit(n, jobs + start, count - start, now_ms);
	for (size_t i = 0; i < count; i++) {
		if (jobs[i].u) {
			finish(n, &jobs[i], now_s);
		}
	}
	pthread_mutex_unlock(&n->wlock);
	for (size_t i = 0; i < count; i++) {
		if (jobs[i].u) {
			ops_free(jobs[i].u);
			dmp_free(jobs[i].u);
		}
	}
	dmp_free(jobs);
}

int dmp_ni_write_op(struct dmp_node *n, struct nop *ops, size_t cnt,
		    uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct uctx *u = cnt <= MAX_OPS ? dmp_calloc(1, sizeof(*u)) : NULL;
	struct job j;
	int has_add = 0;

	if (!u) {
		for (size_t i = 0; i < cnt; i++) {
			dmp_free(ops[i].value);
			ops[i].value = NULL;
		}
		return RC_SERVFAIL;
	}
	for (size_t i = 0; i < cnt; i++) {
		u->ops[i] = ops[i];
		ops[i].value = NULL;
		has_add |= u->ops[i].kind == NOP_ADD;
	}
	u->n_ops = cnt;
	memset(&j, 0, sizeof(j));
	j.u = u;
	pthread_mutex_lock(&n->wlock);
	if (has_add) {
		j.rcode = check_caps(n, u, now_s);
	} else if (cnt == 1) {
		const struct nidx_ent *e;
		int found = 0;

		pthread_rwlock_rdlock(&n->ilock);
		e = dmp_nidx_find(&n->idx, u->ops[0].wire, u->ops[0].wlen);
		for (uint32_t k = 0; e && k < e->n_rr && !found; k++) {
			found = e->rr[k]->exp_s > now_s &&
				(u->ops[0].kind == NOP_DEL_ALL ||
				 dmp_nidx_rr_value_eq(e->rr[k], u->ops[0].value,
						      u->ops[0].vlen));
		}
		pthread_rwlock_unlock(&n->ilock);
		j.rcode = found ? RC_NOERROR : RC_NXDOMAIN;
	}
	if (j.rcode == RC_NOERROR && cnt > 0) {
		j.pending = 1;
		commit(n, &j, 1, now_ms);
	}
	pthread_mutex_unlock(&n->wlock);
	ops_free(u);
	dmp_free(u);
	return j.rcode;
}

/* ---- TSIG on zone transfers (RFC 8945 5.3.1) ---- */

struct xfr_tsig {
	struct nkey key; /* a copy: the key table may be reloaded meanwhile */
	struct tsig ts;	 /* the request's; ts.mac points into the request */
	uint8_t prior[32];
	int n_signed;
};

/* Is @p k one of opts.xfr_keys? */
static int xfr_key_ok(const struct dmp_node *n, const struct nkey *k)
{
	for (unsigned i = 0; i < n->o.n_xfr_keys; i++) {
		uint8_t w[NAME_WIRE_MAX];
		size_t wl;

		if (nw_from_text(n->o.xfr_keys[i], w, &wl) == 0 &&
		    wl == k->nlen && memcmp(w, k->name, wl) == 0) {
			return 1;
		}
	}
	return 0;
}

int dmp_ni_xfr_tsig_check(struct dmp_node *n, const uint8_t *q, size_t qlen,
			  size_t qd_end, int for_xfr, uint64_t now_s,
			  struct xfr_tsig **out, uint8_t *resp, size_t cap,
			  size_t *resp_len)
{
	unsigned cnt = (unsigned)rd16(q + 6) + rd16(q + 8) + rd16(q + 10);
	size_t off = qd_end;
	struct tsig ts;
	struct xfr_tsig *x;
	const struct nkey *k;
	uint8_t mac[32];
	int err = 0, rcode = RC_NOTAUTH, found = 0;

	*out = NULL;
	*resp_len = 0;
	memset(&ts, 0, sizeof(ts));
	for (unsigned i = 0; i < cnt && !found; i++) {
		uint8_t owner[NAME_WIRE_MAX];
		size_t olen, start = off;
		uint16_t rdlen;

		if (nw_read_name(q, qlen, &off, owner, &olen, 1) < 0 ||
		    qlen - off < RR_FIXED) {
			return 0;
		}
		rdlen = rd16(q + off + 8);
		if (qlen - off - RR_FIXED < rdlen) {
			return 0;
		}
		if (rd16(q + off) == T_TSIG && i == cnt - 1 &&
		    rd16(q + 10) > 0) {
			ts.start = start;
			memcpy(ts.key, owner, olen);
			ts.klen = olen;
			if (parse_tsig(q, off + RR_FIXED, rdlen, &ts) < 0) {
				return 0;
			}
			found = 1;
		}
		off += RR_FIXED + rdlen;
	}
	if (!found) {
		return 0;
	}
	x = dmp_calloc(1, sizeof(*x));
	if (!x) {
		return DMP_ENOMEM;
	}
	x->ts = ts;
	pthread_mutex_lock(&n->wlock);
	k = find_key(n, x->ts.key, x->ts.klen);
	if (k) {
		x->key = *k;
	}
	pthread_mutex_unlock(&n->wlock);
	if (!k || x->ts.alen != sizeof(hmac_sha256_wire) ||
	    memcmp(x->ts.alg, hmac_sha256_wire, x->ts.alen) != 0) {
		err = TSIG_BADKEY;
	} else if (x->ts.mac_len != 32) {
		err = TSIG_BADTRUNC; /* no truncated MACs, as for UPDATE */
	} else {
		request_mac(mac, &x->key, q, &x->ts);
		if (sodium_memcmp(mac, x->ts.mac, 32) != 0) {
			err = TSIG_BADSIG;
		} else if ((now_s > x->ts.time_signed &&
			    now_s - x->ts.time_signed > x->ts.fudge) ||
			   (x->ts.time_signed > now_s &&
			    x->ts.time_signed - now_s > x->ts.fudge)) {
			err = TSIG_BADTIME;
		} else if (for_xfr && !xfr_key_ok(n, &x->key)) {
			rcode = RC_REFUSED; /* a good key, not for this */
		} else {
			sodium_memzero(mac, sizeof(mac));
			*out = x;
			return 1;
		}
		sodium_memzero(mac, sizeof(mac));
	}
	/* The error reply: unsigned for BADKEY/BADSIG (RFC 8945 5.3.2). */
	*resp_len =
	    (size_t)dmp_ni_error_reply(q, qlen, qd_end, rcode, resp, cap);
	if (sign_reply(resp, resp_len, cap,
		       err == 0 || err == TSIG_BADTIME ? &x->key : NULL, &x->ts,
		       (uint16_t)err, now_s) < 0) {
		*resp_len = (size_t)dmp_ni_error_reply(q, qlen, 0, RC_SERVFAIL,
						       resp, cap);
	}
	sodium_memzero(x, sizeof(*x));
	dmp_free(x);
	return -1;
}

int dmp_ni_xfr_tsig_sign(struct xfr_tsig *x, uint8_t *msg, size_t *len,
			 size_t cap, uint64_t now_s)
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[32], l[2], v[8];
	size_t start = *len;
	int rc;

	if (x->n_signed == 0) {
		/* First message: request MAC, message, all variables. */
		rc = sign_reply(msg, len, cap, &x->key, &x->ts, 0, now_s);
		if (rc == 0) {
			/* Remember our MAC: it is at a fixed place in the
			 * TSIG RDATA after alg, time (6), fudge, mac size. */
			memcpy(x->prior,
			       msg + start + x->ts.klen + RR_FIXED +
				   x->ts.alen + 10,
			       32);
			x->n_signed++;
		}
		return rc;
	}
	/* Later messages (RFC 8945 5.3.1): prior MAC, message, timers. */
	crypto_auth_hmacsha256_init(&st, x->key.secret, x->key.slen);
	wr16(l, 32);
	crypto_auth_hmacsha256_update(&st, l, 2);
	crypto_auth_hmacsha256_update(&st, x->prior, 32);
	crypto_auth_hmacsha256_update(&st, msg, *len);
	wr16(v, (unsigned)(now_s >> 32));
	dmp_store_u32(v + 2, (uint32_t)now_s);
	wr16(v + 6, DMP_NODE_TSIG_FUDGE);
	crypto_auth_hmacsha256_update(&st, v, 8);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	{
		struct dmp_wbuf w;
		size_t rd;

		dmp_wbuf_init(&w, msg, cap);
		w.len = *len;
		dmp_wbuf_put(&w, x->ts.key, x->ts.klen);
		dmp_wbuf_u16(&w, T_TSIG);
		dmp_wbuf_u16(&w, C_ANY);
		dmp_wbuf_u32(&w, 0);
		rd = w.len;
		dmp_wbuf_u16(&w, 0);
		dmp_wbuf_put(&w, x->ts.alg, x->ts.alen);
		dmp_wbuf_put(&w, v, 8);
		dmp_wbuf_u16(&w, 32);
		dmp_wbuf_put(&w, mac, 32);
		dmp_wbuf_u16(&w, rd16(msg));
		dmp_wbuf_u16(&w, 0);
		dmp_wbuf_u16(&w, 0);
		if (dmp_wbuf_error(&w) != 0) {
			sodium_memzero(mac, sizeof(mac));
			return DMP_ENOBUFS;
		}
		wr16(msg + rd, (unsigned)(w.len - rd - 2));
		wr16(msg + 10, rd16(msg + 10) + 1u);
		*len = w.len;
	}
	memcpy(x->prior, mac, 32);
	sodium_memzero(mac, sizeof(mac));
	x->n_signed++;
	return 0;
}

void dmp_ni_xfr_tsig_free(struct xfr_tsig *x)
{
	if (x) {
		sodium_memzero(x, sizeof(*x));
		dmp_free(x);
	}
}
