/*
 * tests/fuzz/fuzz_node_http.c - dmp_node_http_dispatch() with an in-memory
 * node: byte 0 picks the request (low 3 bits: method and endpoint; bit 3:
 * legacy auth header; bit 4: a non-loopback peer, a trusted proxy; bit
 * 5: the body, up to 200 bytes, is also its X-Forwarded-For), the rest is
 * the body, or for the record API "name\0body". Registration runs with a fixed
 * X25519 key and a challenge put in beforehand, so confirm gets past the
 * challenge check when the fuzzer finds it. Properties: a known status,
 * a NUL-terminated body, and JSON bodies parse.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dmp/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS (1893456000ULL * 1000)

static struct dmp_node *node;
static struct dmp_node_http *http;
static uint8_t chal[32];

static uint64_t fixed_now(void *ud)
{
	(void)ud;
	return NOW_MS;
}

static void setup(void)
{
	struct dmp_node_opts o;
	struct dmp_node_http_opts h;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	strcpy(o.zones[0].name, "mesh.test");
	o.n_zones = 1;
	o.max_values_per_name = 4;
	dmp_node_http_opts_init(&h);
	h.registration_enabled = 1;
	h.have_x25519_sk = 1;
	memset(h.x25519_sk, 0x42, 32);
	h.now_ms = fixed_now;
	h.reg_per_hour = 0;
	h.rate = 0;
	h.auth = DMP_NODE_HTTP_LEGACY;
	strcpy(h.token, "x");
	strcpy(h.trusted_proxies[0], "192.0.2.1");
	h.n_trusted_proxies = 1;
	if (dmp_node_new(&node, &o, NOW_MS) != 0 ||
	    dmp_node_http_new(&http, node, &h) != 0) {
		abort();
	}
	memset(chal, 0xc7, sizeof(chal));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "DELETE", "POST",
					      "GET", "POST", "GET",    "PUT"};
	char path[600], xff[201];
	const char *body;
	size_t blen;
	struct sockaddr_in far;
	struct dmp_node_http_req rq;
	char *out = NULL;
	size_t out_len = 0;
	const char *ctype = NULL;
	int st, which;

	if (!node) {
		setup();
	}
	if (size < 1 || size > 8192) {
		return 0;
	}
	which = data[0] & 7;
	body = (const char *)data + 1;
	blen = size - 1;
	memset(&far, 0, sizeof(far));
	far.sin_family = AF_INET;
	far.sin_addr.s_addr = htonl(0xC0000201);
	if (which <= 2 || which == 7) {
		/* Record API: the path is the bytes before the first NUL. */
		const char *z = memchr(body, 0, blen);
		size_t nl = z ? (size_t)(z - body) : blen;

		if (nl > 500) {
			nl = 500;
		}
		memcpy(path, "/v1/records/", 12);
		memcpy(path + 12, body, nl);
		path[12 + nl] = '\0';
		if (z) {
			body = z + 1;
			blen = size - 1 - nl - 1;
		} else {
			blen = 0;
		}
	} else if (which == 3 || which == 4) {
		strcpy(path, which == 3 ? "/v1/registration/tsig-confirm"
					: "/v1/registration/challenge");
		dmp_node_http_put_challenge(http, chal, NOW_MS);
	} else {
		strcpy(path, which == 5 ? "/health" : "/metrics");
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = methods[which];
	rq.path = path;
	rq.authorization = (data[0] & 8) ? "Bearer x" : NULL;
	rq.peer = (data[0] & 16) ? (struct sockaddr *)&far : NULL;
	if (data[0] & 32) {
		size_t xl =
		    size - 1 < sizeof(xff) - 1 ? size - 1 : sizeof(xff) - 1;

		memcpy(xff, data + 1, xl);
		xff[xl] = '\0';
		rq.forwarded_for = xff;
	}
	rq.body = blen ? body : NULL;
	rq.body_len = blen;
	st = dmp_node_http_dispatch(http, &rq, &out, &out_len, &ctype);
	if (st < 200 || st > 599 || !out || out[out_len] != '\0' || !ctype) {
		abort();
	}
	if (strcmp(ctype, "application/json") == 0 && out_len > 0) {
		json_t *j = json_loadb(out, out_len, 0, NULL);

		if (!j) {
			abort();
		}
		json_decref(j);
	}
	free(out);
	return 0;
}
