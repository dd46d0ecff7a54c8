/*
 * core/src/dns/tsig.c - RFC 8945 TSIG (hmac-sha256) signing and checking
 * with an explicit clock. Why not libknot's: see tsig.h.
 */
#include <string.h>

#include <sodium.h>

#include "dmp/err.h"

#include "dns/tsig.h"

const uint8_t dmp_tsig_alg_hmac_sha256[13] = {11,  'h', 'm', 'a', 'c', '-', 's',
					      'h', 'a', '2', '5', '6', 0};

typedef crypto_auth_hmacsha256_state hmac_t;

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put48(uint8_t *p, uint64_t v)
{
	put16(p, (unsigned)(v >> 32) & 0xffff);
	dmp_store_u32(p + 2, (uint32_t)v);
}

/* A length-prefixed MAC that a digest starts from (RFC 8945 4.3.1). */
static void mac_prefix(hmac_t *st, const uint8_t *mac, size_t len)
{
	uint8_t l[2];

	put16(l, (unsigned)len);
	crypto_auth_hmacsha256_update(st, l, 2);
	crypto_auth_hmacsha256_update(st, mac, len);
}

/* The TSIG variables (RFC 8945 4.3.3) after the message. */
static void mac_vars(hmac_t *st, const uint8_t *key, size_t klen,
		     const uint8_t *alg, size_t alen, uint64_t time_signed,
		     uint16_t fudge, uint16_t error, const uint8_t *other,
		     uint16_t other_len)
{
	uint8_t v[12];

	crypto_auth_hmacsha256_update(st, key, klen);
	put16(v, DMP_DNS_CLASS_ANY);
	dmp_store_u32(v + 2, 0);
	crypto_auth_hmacsha256_update(st, v, 6);
	crypto_auth_hmacsha256_update(st, alg, alen);
	put48(v, time_signed);
	put16(v + 6, fudge);
	put16(v + 8, error);
	put16(v + 10, other_len);
	crypto_auth_hmacsha256_update(st, v, 12);
	if (other_len) {
		crypto_auth_hmacsha256_update(st, other, other_len);
	}
}

int dmp_tsig_parse(const uint8_t *msg, size_t rd, size_t rdlen,
		   struct dmp_tsig_rr *ts)
{
	struct dmp_rbuf b;
	int n;

	dmp_rbuf_init(&b, msg, rd + rdlen);
	b.off = rd;
	n = dmp_dnswire_read(&b, ts->alg, 0);
	if (n < 0) {
		return DMP_EMALFORMED;
	}
	ts->alen = (size_t)n;
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

int dmp_tsig_find(const uint8_t *msg, size_t len, struct dmp_tsig_rr *ts)
{
	struct dmp_rbuf b;
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	unsigned qd, cnt, ar;

	dmp_rbuf_init(&b, msg, len);
	(void)dmp_rbuf_u32(&b); /* ID, flags */
	qd = dmp_rbuf_u16(&b);
	cnt = dmp_rbuf_u16(&b);
	cnt += dmp_rbuf_u16(&b);
	ar = dmp_rbuf_u16(&b);
	cnt += ar;
	for (unsigned i = 0; i < qd && !b.err; i++) {
		(void)dmp_dnswire_read(&b, name, 1);
		(void)dmp_rbuf_take(&b, 4);
	}
	for (unsigned i = 0; i < cnt && !b.err; i++) {
		size_t start = b.off, rd;
		int nl = dmp_dnswire_read(&b, name, 1);
		uint16_t type = dmp_rbuf_u16(&b), rdlen;

		(void)dmp_rbuf_take(&b, 6);
		rdlen = dmp_rbuf_u16(&b);
		rd = b.off;
		if (!dmp_rbuf_take(&b, rdlen) || nl < 0) {
			return 0;
		}
		if (type == DMP_DNS_TYPE_TSIG && i == cnt - 1 && ar > 0) {
			memset(ts, 0, sizeof(*ts));
			ts->start = start;
			memcpy(ts->key, name, (size_t)nl);
			ts->klen = (size_t)nl;
			return dmp_tsig_parse(msg, rd, rdlen, ts) == 0;
		}
	}
	return 0;
}

int dmp_tsig_alg_ok(const struct dmp_tsig_rr *ts)
{
	return ts->alen == sizeof(dmp_tsig_alg_hmac_sha256) &&
	       memcmp(ts->alg, dmp_tsig_alg_hmac_sha256, ts->alen) == 0;
}

int dmp_tsig_verify(const uint8_t *msg, const struct dmp_tsig_rr *ts,
		    const uint8_t *secret, size_t secret_len,
		    const uint8_t *req_mac, size_t req_mac_len, uint64_t now)
{
	uint8_t hdr[DMP_DNS_HDR_LEN], mac[DMP_TSIG_MAC_BYTES];
	hmac_t st;
	int bad;

	if (ts->mac_len > DMP_TSIG_MAC_BYTES ||
	    ts->mac_len < DMP_TSIG_MAC_MIN || ts->start < DMP_DNS_HDR_LEN) {
		return DMP_EMALFORMED;
	}
	/* RFC 8945 4.3.1-4.3.2: original ID, ARCOUNT without the TSIG. */
	memcpy(hdr, msg, DMP_DNS_HDR_LEN);
	put16(hdr, ts->orig_id);
	put16(hdr + 10, ((unsigned)msg[10] << 8 | msg[11]) - 1u);
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	if (req_mac) {
		mac_prefix(&st, req_mac, req_mac_len);
	}
	crypto_auth_hmacsha256_update(&st, hdr, DMP_DNS_HDR_LEN);
	crypto_auth_hmacsha256_update(&st, msg + DMP_DNS_HDR_LEN,
				      ts->start - DMP_DNS_HDR_LEN);
	mac_vars(&st, ts->key, ts->klen, dmp_tsig_alg_hmac_sha256,
		 sizeof(dmp_tsig_alg_hmac_sha256), ts->time_signed, ts->fudge,
		 ts->error, ts->other, ts->other_len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	bad = sodium_memcmp(mac, ts->mac, ts->mac_len) != 0;
	sodium_memzero(mac, sizeof(mac));
	if (bad) {
		return DMP_DNS_RCODE_BADSIG;
	}
	if (ts->mac_len < DMP_TSIG_MAC_BYTES) {
		/* We accept no truncated MACs (RFC 8945 5.2.2.1 policy). */
		return DMP_DNS_RCODE_BADTRUNC;
	}
	if ((now > ts->time_signed && now - ts->time_signed > ts->fudge) ||
	    (ts->time_signed > now && ts->time_signed - now > ts->fudge)) {
		return DMP_DNS_RCODE_BADTIME; /* RFC 8945 5.2.3 */
	}
	return 0;
}

/* The TSIG RR (RFC 8945 4.2); ARCOUNT + 1. */
static int put_rr(struct dmp_wbuf *w, struct dmp_dnswire_ctab *ct,
		  const uint8_t *key, const uint8_t *alg, uint64_t time_signed,
		  uint16_t fudge, const uint8_t *mac, uint16_t mac_len,
		  uint16_t error, const uint8_t *other, uint16_t other_len)
{
	uint16_t id;
	size_t rd;

	if (w->len < DMP_DNS_HDR_LEN) {
		return DMP_EINVAL;
	}
	id = (uint16_t)(w->p[0] << 8 | w->p[1]);
	dmp_dnswire_put_name(w, ct, key);
	dmp_wbuf_u16(w, DMP_DNS_TYPE_TSIG);
	dmp_wbuf_u16(w, DMP_DNS_CLASS_ANY);
	dmp_wbuf_u32(w, 0);
	rd = w->len;
	dmp_wbuf_u16(w, 0);
	dmp_wbuf_put(w, alg, dmp_dnswire_name_len(alg));
	dmp_wbuf_u16(w, (uint16_t)(time_signed >> 32));
	dmp_wbuf_u32(w, (uint32_t)time_signed);
	dmp_wbuf_u16(w, fudge);
	dmp_wbuf_u16(w, mac_len);
	dmp_wbuf_put(w, mac, mac_len);
	dmp_wbuf_u16(w, id); /* original ID: ours */
	dmp_wbuf_u16(w, error);
	dmp_wbuf_u16(w, other_len);
	dmp_wbuf_put(w, other, other_len);
	if (dmp_wbuf_error(w)) {
		return w->dyn ? DMP_ENOMEM : DMP_ENOBUFS;
	}
	put16(w->p + rd, (unsigned)(w->len - rd - 2));
	put16(w->p + 10, ((unsigned)w->p[10] << 8 | w->p[11]) + 1u);
	return 0;
}

int dmp_tsig_sign(struct dmp_wbuf *w, struct dmp_dnswire_ctab *ct,
		  const struct dmp_tsig_sign_args *a,
		  uint8_t mac[DMP_TSIG_MAC_BYTES])
{
	const uint8_t *alg = a->alg ? a->alg : dmp_tsig_alg_hmac_sha256;
	uint8_t m[DMP_TSIG_MAC_BYTES];
	uint16_t mac_len = 0;
	int rc;

	if (dmp_wbuf_error(w)) {
		return w->dyn ? DMP_ENOMEM : DMP_ENOBUFS;
	}
	if (a->secret) {
		hmac_t st;

		/* RFC 8945 4.3: request MAC, message, variables. */
		crypto_auth_hmacsha256_init(&st, a->secret, a->secret_len);
		if (a->req_mac) {
			mac_prefix(&st, a->req_mac, a->req_mac_len);
		}
		crypto_auth_hmacsha256_update(&st, w->p, w->len);
		mac_vars(&st, a->key, dmp_dnswire_name_len(a->key), alg,
			 dmp_dnswire_name_len(alg), a->time_signed, a->fudge,
			 a->error, a->other, a->other_len);
		crypto_auth_hmacsha256_final(&st, m);
		sodium_memzero(&st, sizeof(st));
		mac_len = DMP_TSIG_MAC_BYTES;
	}
	rc = put_rr(w, ct, a->key, alg, a->time_signed, a->fudge, m, mac_len,
		    a->error, a->other, a->other_len);
	if (rc == 0 && mac && mac_len) {
		memcpy(mac, m, sizeof(m));
	}
	sodium_memzero(m, sizeof(m));
	return rc;
}

int dmp_tsig_sign_reply(struct dmp_wbuf *w, const struct dmp_tsig_rr *req,
			const uint8_t *secret, size_t secret_len,
			uint16_t error, uint64_t now,
			uint8_t mac[DMP_TSIG_MAC_BYTES])
{
	struct dmp_tsig_sign_args a = {
	    .key = req->key,
	    .alg = req->alg,
	    .secret = secret,
	    .secret_len = secret_len,
	    .req_mac = req->mac,
	    .req_mac_len = req->mac_len,
	    .time_signed = now,
	    .fudge = DMP_TSIG_FUDGE,
	    .error = error,
	};
	uint8_t other[6];

	if (error == DMP_DNS_RCODE_BADTIME) {
		a.time_signed = req->time_signed;
		put48(other, now);
		a.other = other;
		a.other_len = sizeof(other);
	}
	return dmp_tsig_sign(w, NULL, &a, mac);
}

int dmp_tsig_sign_next(struct dmp_wbuf *w, const uint8_t *key,
		       const uint8_t *secret, size_t secret_len,
		       uint8_t prior[DMP_TSIG_MAC_BYTES], uint64_t now,
		       uint16_t fudge)
{
	uint8_t mac[DMP_TSIG_MAC_BYTES], v[8];
	hmac_t st;
	int rc;

	if (dmp_wbuf_error(w)) {
		return w->dyn ? DMP_ENOMEM : DMP_ENOBUFS;
	}
	/* RFC 8945 5.3.1: prior MAC, message, timers only. */
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	mac_prefix(&st, prior, DMP_TSIG_MAC_BYTES);
	crypto_auth_hmacsha256_update(&st, w->p, w->len);
	put48(v, now);
	put16(v + 6, fudge);
	crypto_auth_hmacsha256_update(&st, v, 8);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	rc = put_rr(w, NULL, key, dmp_tsig_alg_hmac_sha256, now, fudge, mac,
		    DMP_TSIG_MAC_BYTES, 0, NULL, 0);
	if (rc == 0) {
		memcpy(prior, mac, sizeof(mac));
	}
	sodium_memzero(mac, sizeof(mac));
	return rc;
}
