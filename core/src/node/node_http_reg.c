/*
 * core/src/node/node_http_reg.c - TSIG self-registration (PROTOCOL.md
 * 7.2): single-use challenges, the signature and X25519 proof checked on
 * the bytes dmp/registration.h builds (the same the client signs), and
 * the key minted with its 7.1 scopes and bound to the subject.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/registration.h"
#include "node/node_http_i.h"
#include "node/node_i.h"

/* Room for a zone name plus a scope's labels; too long is refused by
 * dmp_node_key_add(). */
#define SC_MAX (DMP_NODE_NAME_MAX + 64)

int dmp_nh_challenge(struct dmp_node_http *h, char **body, size_t *len,
		     const char **ctype)
{
	uint8_t c[32];
	char hex[65], pk[65];
	uint64_t now = dmp_nh_now_ms(h);

	dmp_random(c, sizeof(c));
	dmp_node_http_put_challenge(h, c, now);
	dmp_hex_encode(hex, c, 32);
	dmp_hex_encode(pk, h->x_pk, 32);
	return dmp_nh_reply_json(
	    json_pack("{s:s,s:s,s:I,s:s,s:i}", "challenge", hex, "node",
		      h->zone, "expires_at",
		      (json_int_t)(now / 1000 + DMP_NODE_REG_CHALLENGE_LIFE),
		      "server_x25519_pub", pk, "version", 1),
	    200, body, len, ctype);
}

void dmp_node_http_put_challenge(struct dmp_node_http *h,
				 const uint8_t challenge[32], uint64_t now_ms)
{
	struct chal *c;

	pthread_mutex_lock(&h->mu);
	c = &h->ch[h->ch_next++ % N_CHALLENGES];
	memcpy(c->c, challenge, 32);
	c->exp_ms = now_ms + DMP_NODE_REG_CHALLENGE_LIFE * 1000u;
	c->live = 1;
	pthread_mutex_unlock(&h->mu);
}

/* Single use: found or not, a matching challenge is gone after this. */
static int take_challenge(struct dmp_node_http *h, const uint8_t c[32],
			  uint64_t now)
{
	int ok = 0;

	for (unsigned i = 0; i < N_CHALLENGES; i++) {
		if (h->ch[i].live && sodium_memcmp(h->ch[i].c, c, 32) == 0) {
			ok = h->ch[i].exp_ms > now;
			h->ch[i].live = 0;
		}
	}
	return ok;
}

static int get_hex(json_t *j, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(j, key);

	return json_is_string(v) && dmp_hex_decode(out, n, json_string_value(v),
						   json_string_length(v)) == 0;
}

static int allowed(const struct dmp_node_http *h, const char *subject)
{
	const char *at = strchr(subject, '@');

	if (h->o.n_reg_allow == 0) {
		return 1;
	}
	for (unsigned i = 0; i < h->o.n_reg_allow; i++) {
		const char *a = h->o.reg_allow[i];

		if (strcmp(a, subject) == 0 ||
		    (a[0] == '@' && at && strcmp(a, at) == 0)) {
			return 1;
		}
	}
	return 0;
}

/*
 * Subject "localpart@host", lower-cased (7.2; ASCII only: NFKC of ASCII
 * is the identity, and we refuse the rest). The localpart becomes a DNS
 * label of the key name, so it must be LDH-ish.
 */
static int subject_norm(const char *in, size_t len, char *out, size_t cap,
			size_t *local_len)
{
	const char *at;

	if (len == 0 || len >= cap || memchr(in, 0, len)) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7F) {
			return -1;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	at = strchr(out, '@');
	if (!at || at == out || !at[1] || strchr(at + 1, '@') ||
	    (size_t)(at - out) > 40) {
		return -1;
	}
	for (const char *p = out; p < at; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_')) {
			return -1;
		}
	}
	*local_len = (size_t)(at - out);
	return 0;
}

int dmp_nh_confirm(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype)
{
	json_t *j, *sv, *res = NULL, *suffixes = NULL;
	json_error_t je;
	uint8_t ch[32], spk[32], sig[64], xpub[32], pop[32], mac[32],
	    secret[32], hsub[32];
	char subject[DMP_NODE_NAME_MAX], key[SC_MAX + 8], spk_hex[65],
	    old_spk[65], old_key[DMP_NODE_NAME_MAX], sec_hex[65],
	    sc[DMP_NODE_MAX_SCOPES][SC_MAX], hx[65], loc[48];
	const char *scp[DMP_NODE_MAX_SCOPES];
	size_t sl, ll, n_sc = 0, msg_len;
	uint8_t *msg = NULL;
	uint64_t now = dmp_nh_now_ms(h), exp_s;
	int status = 500, rc;

	j = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, &je);
	sv = json_object_get(j, "subject");
	if (!json_is_object(j) || !json_is_string(sv) ||
	    subject_norm(json_string_value(sv), json_string_length(sv), subject,
			 sizeof(subject), &ll) < 0 ||
	    !get_hex(j, "ed25519_spk", spk, 32) ||
	    !get_hex(j, "challenge", ch, 32) ||
	    !get_hex(j, "signature", sig, 64) ||
	    !get_hex(j, "x25519_pub", xpub, 32) ||
	    !get_hex(j, "x25519_pop", pop, 32)) {
		json_decref(j);
		return dmp_nh_reply_err(400, "bad request", body, len, ctype);
	}
	json_decref(j);
	sl = strlen(subject);
	pthread_mutex_lock(&h->mu);
	if (!take_challenge(h, ch, now)) {
		status = dmp_nh_reply_err(401, "unknown or expired challenge",
					  body, len, ctype);
		goto out;
	}
	/* The same bytes the client signed and proved (dmp/registration.h). */
	msg_len = 32 + sl + strlen(h->zone) + 1;
	msg = dmp_malloc(msg_len);
	if (!msg) {
		status =
		    dmp_nh_reply_err(500, "out of memory", body, len, ctype);
		goto out;
	}
	if (dmp_registration_payload(msg, msg_len, &msg_len, ch, subject,
				     h->zone) != 0 ||
	    dmp_verify(sig, msg, msg_len, spk) != 0) {
		status =
		    dmp_nh_reply_err(401, "bad signature", body, len, ctype);
		goto out;
	}
	/* proof: HMAC(X25519(server_sk, x25519_pub), ch || subject || pub) */
	if (dmp_registration_pop(mac, h->x_sk, xpub, xpub, ch, subject) != 0) {
		status =
		    dmp_nh_reply_err(401, "bad x25519 key", body, len, ctype);
		goto out;
	}
	if (sodium_memcmp(mac, pop, 32) != 0) {
		status =
		    dmp_nh_reply_err(401, "bad x25519 proof", body, len, ctype);
		goto out;
	}
	if (!allowed(h, subject)) {
		status = dmp_nh_reply_err(403, "subject not allowed", body, len,
					  ctype);
		goto out;
	}
	dmp_hex_encode(spk_hex, spk, 32);
	pthread_mutex_lock(&h->n->wlock);
	rc = dmp_st_reg_get(h->n->db, subject, now / 1000, old_spk, old_key);
	pthread_mutex_unlock(&h->n->wlock);
	if (rc < 0) {
		status = dmp_nh_reply_err(500, "store", body, len, ctype);
		goto out;
	}
	if (rc == 1 && strcmp(old_spk, spk_hex) != 0) {
		status = dmp_nh_reply_err(409, "subject bound to another key",
					  body, len, ctype);
		goto out;
	}
	/* 7.1: <localpart>-<spk_hex[0:8]>-<hex(H(subject))[0:6]>.<zone>. */
	memcpy(loc, subject, ll);
	loc[ll] = '\0';
	dmp_sha256(hsub, subject, sl);
	dmp_hex_encode(hx, hsub, 32);
	snprintf(key, sizeof(key), "%s-%.8s-%.6s.%s.", loc, spk_hex, hx,
		 h->zone);
	/* 7.1 scopes. */
	if (h->o.loose_scope) {
		snprintf(sc[n_sc++], SC_MAX, "%s", h->zone);
	} else {
		char h16[17], h12[13], mb[13];
		uint8_t rid[32];

		dmp_sha256_hex_prefix(h16, 16, loc, ll);
		dmp_sha256_hex_prefix(h12, 12, loc, ll);
		snprintf(sc[n_sc++], SC_MAX, "id-%s.%s", h16, h->zone);
		snprintf(sc[n_sc++], SC_MAX, "id-%s.%s", h12, h->zone);
		snprintf(sc[n_sc++], SC_MAX, "_dnsmesh-claim-%.16s.%s", spk_hex,
			 h->zone);
		if (!h->o.tight_scope) {
			snprintf(sc[n_sc++], SC_MAX, "slot-*.mb-*.%s", h->zone);
			snprintf(sc[n_sc++], SC_MAX, "chunk-*-*.%s", h->zone);
			snprintf(sc[n_sc++], SC_MAX, "claim-*.mb-*.%s",
				 h->zone);
			snprintf(sc[n_sc++], SC_MAX, "_dnsmesh-claim-*.%s",
				 h->zone);
		}
		/* recipient_id = H(x25519_pub); label h12(recipient_id). */
		dmp_sha256(rid, xpub, 32);
		dmp_sha256_hex_prefix(mb, 12, rid, 32);
		snprintf(sc[n_sc++], SC_MAX, "mb-%s.%s", mb, h->zone);
	}
	for (size_t i = 0; i < n_sc; i++) {
		scp[i] = sc[i];
	}
	dmp_random(secret, sizeof(secret));
	exp_s = now / 1000 + DMP_NODE_REG_KEY_LIFE;
	rc = dmp_node_key_add(h->n, key, secret, 32, scp, n_sc, now);
	if (rc == 0) {
		char plain[SC_MAX];

		snprintf(plain, sizeof(plain), "%.*s", (int)strlen(key) - 1,
			 key);
		pthread_mutex_lock(&h->n->wlock);
		rc = dmp_st_reg_put(h->n->db, subject, spk_hex, plain, exp_s);
		pthread_mutex_unlock(&h->n->wlock);
	}
	if (rc < 0) {
		status = dmp_nh_reply_err(500, "store", body, len, ctype);
		goto out;
	}
	suffixes = json_array();
	for (size_t i = 0; suffixes && i < n_sc; i++) {
		json_array_append_new(suffixes, json_string(sc[i]));
	}
	dmp_hex_encode(sec_hex, secret, 32);
	res = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:I}", "tsig_key_name", key,
			"tsig_secret_hex", sec_hex, "tsig_algorithm",
			"hmac-sha256", "allowed_suffixes", suffixes, "subject",
			subject, "zone", h->zone, "expires_at",
			(json_int_t)exp_s);
	dmp_wipe(sec_hex, sizeof(sec_hex));
	DMP_LOG_N("node: registered %s as %s", subject, key);
	status = dmp_nh_reply_json(res, 200, body, len, ctype);
out:
	pthread_mutex_unlock(&h->mu);
	dmp_free(msg);
	dmp_wipe(secret, sizeof(secret));
	dmp_wipe(mac, sizeof(mac));
	return status;
}
