/*
 * core/src/node/node_sync_http.c - the anti-entropy worker's default
 * HTTP exchange over libcurl (GET, or POST of JSON, with the peer token
 * as Bearer): answers are capped at NS_BODY_MAX, one exchange at
 * DMP_NODE_SYNC_TIMEOUT_MS, only http and https, no redirects.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_sync_i.h"

struct sbuf {
	char *p;
	size_t len, cap;
	int over;
};

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	struct sbuf *b = ud;
	size_t len = sz * n;

	if (len > NS_BODY_MAX - b->len) {
		b->over = 1;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *q = dmp_realloc(b->p, cap);

		if (!q) {
			return 0;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = 0;
	return len;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int dmp_ns_http_curl(void *ud, const char *url, const char *token,
		     const char *body, char **resp, size_t *resp_len,
		     unsigned timeout_ms)
{
	return dmp_ns_http_curl_ra(ud, url, token, body, resp, resp_len,
				   timeout_ms, NULL);
}

int dmp_ns_http_curl_ra(void *ud, const char *url, const char *token,
			const char *body, char **resp, size_t *resp_len,
			unsigned timeout_ms, unsigned *retry_after)
{
	CURL *h;
	struct curl_slist *hdr = NULL;
	struct sbuf b = {0};
	char auth[160] = {0};
	long status = 0;
	CURLcode cc;

	(void)ud;
	*resp = NULL;
	*resp_len = 0;
	pthread_once(&curl_once, curl_init_once);
	h = curl_easy_init();
	if (!h) {
		return DMP_ENOMEM;
	}
	if (token) { /* NULL: no Authorization (the mesh prober) */
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdr = curl_slist_append(NULL, auth);
	}
	if (body && (hdr || !token)) {
		struct curl_slist *t =
		    curl_slist_append(hdr, "Content-Type: application/json");

		hdr = t ? t : hdr;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	}
	if (retry_after) {
		curl_off_t ra = 0;

		*retry_after = 0;
		if (cc == CURLE_OK &&
		    curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) ==
			CURLE_OK &&
		    ra > 0) {
			*retry_after = ra > 86400 ? 86400 : (unsigned)ra;
		}
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	dmp_wipe(auth, sizeof(auth));
	if (b.over || cc != CURLE_OK) {
		dmp_free(b.p);
		if (!b.over) {
			DMP_LOG_D("sync: %s: %s", url, curl_easy_strerror(cc));
		}
		return b.over ? DMP_ETOOBIG : DMP_EUNREACHABLE;
	}
	*resp = b.p;
	*resp_len = b.len;
	return (int)status;
}
