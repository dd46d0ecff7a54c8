/*
 * core/src/client/engine_register.c - TSIG self-registration with a
 * node's HTTP API (PROTOCOL.md 7.2): fetch a challenge, prove both keys,
 * store the minted TSIG key as network.tsig. HTTP through libcurl.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "engine_i.h"

#include <curl/curl.h>
#include <jansson.h>

/* ---- TSIG self-registration (PROTOCOL.md 7.2) ---------------------------- */

static size_t http_sink(char *p, size_t sz, size_t n, void *ud)
{
	struct dmp_eng_http_buf *b = ud;
	size_t len = sz * n;

	if (len > sizeof(b->data) - 1 - b->len) {
		b->over = 1;
		return 0; /* a reply this large is not the node's */
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = 0;
	return len;
}

int dmp_eng_http_call(const char *url, const char *body, long timeout_ms,
		      struct dmp_eng_http_buf *b)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode cc;

	memset(b, 0, sizeof(*b));
	if (!h) {
		return DMP_ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (body) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (b->over) {
		return DMP_EMALFORMED;
	}
	if (cc != CURLE_OK) {
		DMP_LOG_E("http: %s: %s", url, curl_easy_strerror(cc));
		return DMP_EUNREACHABLE;
	}
	return (int)status;
}

static int http_status_code(int st)
{
	switch (st) {
	case 200: return 0;
	case 401: return DMP_ENOTAUTH;
	case 403: return DMP_EACCES;
	case 404: return DMP_ENOENT;
	case 409: return DMP_EEXIST;
	case 429: return DMP_EAGAIN;
	default: return st < 0 ? st : DMP_EIO;
	}
}

static int json_hex(const json_t *o, const char *k, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s || strlen(s) != 2 * n || dmp_hex_decode(out, n, s, 2 * n) < 0) {
		return DMP_EMALFORMED;
	}
	return 0;
}

int dmp_engine_register_tsig(struct dmp_engine *e, const char *url,
			     char *key_name, size_t cap)
{
	char u[1024], node[DMP_NAME_MAX];
	char chx[65], spk[65], sigx[129], xpx[65], popx[65];
	char key[DMP_CFG_STR_MAX], secret_b64[128], subj[320];
	uint8_t ch[32], spub[32], pop[32], xsk[32], sig[DMP_SIG_BYTES];
	uint8_t payload[32 + 320 + DMP_NAME_MAX + 1], secret[64];
	struct dmp_eng_http_buf *b = NULL;
	struct dmp_tsig_key *tk = NULL;
	json_t *j = NULL, *req = NULL;
	char *body = NULL;
	const char *s, *name;
	size_t plen, ulen, slen;
	int st, rc;

	if (key_name && cap) {
		key_name[0] = 0;
	}
	if (!e || !url || !*url) {
		return DMP_EINVAL;
	}
	/* The node lower-cases the subject and checks both proofs over that
	 * (7.2), so send it lower-cased. */
	for (size_t i = 0; i < sizeof(subj); i++) {
		subj[i] = (char)tolower((unsigned char)e->address[i]);
		if (!subj[i]) {
			break;
		}
	}
	subj[sizeof(subj) - 1] = 0;
	ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/') {
		ulen--; /* tolerate a trailing slash */
	}
	b = dmp_malloc(sizeof(*b));
	if (!b) {
		return DMP_ENOMEM;
	}
	snprintf(u, sizeof(u), "%.*s/v1/registration/challenge", (int)ulen,
		 url);
	st = dmp_eng_http_call(u, NULL, e->conf.timeout_ms, b);
	if ((rc = http_status_code(st)) < 0) {
		goto out;
	}
	j = json_loadb(b->data, b->len, 0, NULL);
	s = json_string_value(json_object_get(j, "node"));
	if (!j || !s || !*s || strlen(s) >= sizeof(node) ||
	    json_hex(j, "challenge", ch, 32) < 0 ||
	    json_hex(j, "server_x25519_pub", spub, 32) < 0) {
		DMP_LOG_E("register: the challenge reply is not a DMP one");
		rc = DMP_EMALFORMED;
		goto out;
	}
	snprintf(node, sizeof(node), "%s", s);
	rc = dmp_registration_payload(payload, sizeof(payload), &plen, ch, subj,
				      node);
	if (rc < 0) {
		goto out;
	}
	dmp_keys_sign(e->keys, sig, payload, plen);
	if ((rc = dmp_keys_export_x25519(e->keys, xsk)) < 0) {
		goto out;
	}
	rc = dmp_registration_pop(pop, xsk, dmp_keys_x25519_pk(e->keys), spub,
				  ch, subj);
	dmp_wipe(xsk, sizeof(xsk));
	if (rc < 0) {
		goto out;
	}
	dmp_hex_encode(chx, ch, 32);
	dmp_hex_encode(spk, dmp_keys_ed25519_pk(e->keys), 32);
	dmp_hex_encode(sigx, sig, sizeof(sig));
	dmp_hex_encode(xpx, dmp_keys_x25519_pk(e->keys), 32);
	dmp_hex_encode(popx, pop, 32);
	req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "subject", subj,
			"ed25519_spk", spk, "challenge", chx, "signature", sigx,
			"x25519_pub", xpx, "x25519_pop", popx);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		rc = DMP_ENOMEM;
		goto out;
	}
	snprintf(u, sizeof(u), "%.*s/v1/registration/tsig-confirm", (int)ulen,
		 url);
	st = dmp_eng_http_call(u, body, e->conf.timeout_ms, b);
	if ((rc = http_status_code(st)) < 0) {
		if (b->len) {
			DMP_LOG_E("register: node said %d: %.200s", st,
				  b->data);
		}
		goto out;
	}
	json_decref(j);
	j = json_loadb(b->data, b->len, 0, NULL);
	name = json_string_value(json_object_get(j, "tsig_key_name"));
	s = json_string_value(json_object_get(j, "tsig_secret_hex"));
	if (!j || !name || !s || strlen(s) % 2 || strlen(s) < 32 ||
	    strlen(s) > 2 * sizeof(secret) ||
	    dmp_hex_decode(secret, strlen(s) / 2, s, strlen(s)) < 0) {
		DMP_LOG_E("register: the confirm reply has no usable key");
		rc = DMP_EMALFORMED;
		goto out;
	}
	slen = strlen(s) / 2;
	if (dmp_b64_encode(secret_b64, sizeof(secret_b64), secret, slen) < 0) {
		rc = DMP_EINTERNAL;
		goto out;
	}
	/* Config form: hmac-sha256:NAME:BASE64, NAME without the root dot. */
	{
		size_t nl = strlen(name);
		while (nl > 0 && name[nl - 1] == '.') {
			nl--;
		}
		if ((size_t)snprintf(key, sizeof(key), "hmac-sha256:%.*s:%s",
				     (int)nl, name,
				     secret_b64) >= sizeof(key) ||
		    dmp_tsig_key_parse(&tk, key) < 0) {
			DMP_LOG_E("register: the minted key does not parse");
			rc = DMP_EMALFORMED;
			goto out;
		}
	}
	snprintf(e->conf.tsig, sizeof(e->conf.tsig), "%s", key);
	if ((rc = dmp_eng_conf_save(e)) < 0) {
		goto out;
	}
	dmp_tsig_key_free(e->tsig);
	e->tsig = tk;
	tk = NULL;
	if (key_name && cap) {
		snprintf(key_name, cap, "%s", name);
	}
	dmp_eng_emit(e, DMP_EV_IDENTITY, NULL, NULL, 0, "TSIG key registered");
	rc = 0;
out:
	dmp_tsig_key_free(tk);
	dmp_wipe(secret, sizeof(secret));
	dmp_wipe(secret_b64, sizeof(secret_b64));
	dmp_wipe(key, sizeof(key));
	dmp_wipe(b, sizeof(*b));
	dmp_free(b);
	if (body) {
		dmp_wipe(body, strlen(body));
		free(body);
	}
	json_decref(req);
	json_decref(j);
	return rc;
}
