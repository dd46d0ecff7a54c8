/*
 * tests/fuzz/fuzz_sync_json.c - the anti-entropy JSON a peer sends
 * (PROTOCOL.md 7.6): each input is parsed as a digest answer, a pull
 * answer, a pull request and a cursor. Properties: every entry marked
 * valid meets step 2 (name, hash, ts, ttl), a cursor that parses formats
 * back to one that parses to the same value, pulled records carry a
 * NUL-terminated value of the stated length, and a pull request's names
 * re-encode to a request that parses to the same names.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "node/node_sync_i.h"

#define NOW_MS (1900000000ULL * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ns_digest d;
	struct ns_pulled *p = NULL;
	struct ns_cursor c, c2;
	char buf[NS_CURSOR_TEXT];
	static char names[NS_PULL_MAX][NS_NAME_MAX + 1];
	static char names2[NS_PULL_MAX][NS_NAME_MAX + 1];
	const char *np[NS_PULL_MAX];
	size_t n = 0;
	int k;

	if (dmp_ns_digest_parse(&d, s, size, NOW_MS) == 0) {
		for (size_t i = 0; i < d.n; i++) {
			const struct ns_entry *e = &d.e[i];

			if (e->valid &&
			    (!dmp_ns_name_ok(e->name, strlen(e->name)) ||
			     !dmp_ns_hash_ok(e->hash, strlen(e->hash)) ||
			     e->ts > NOW_MS + NS_SKEW_MS ||
			     e->ttl > NS_TTL_MAX)) {
				abort();
			}
		}
		dmp_ns_digest_free(&d);
	}
	if (dmp_ns_pull_parse(&p, &n, s, size, NS_PULL_MAX) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (p[i].value[p[i].vlen] != 0 ||
			    !dmp_ns_name_ok(p[i].name, strlen(p[i].name))) {
				abort();
			}
		}
		dmp_ns_pulled_free(p, n);
	}
	k = dmp_ns_pull_request_parse(s, size, names);
	if (k >= 0) {
		char *req;

		for (int i = 0; i < k; i++) {
			np[i] = names[i];
		}
		req = dmp_ns_pull_request(np, (size_t)k);
		if (!req ||
		    dmp_ns_pull_request_parse(req, strlen(req), names2) != k) {
			abort();
		}
		for (int i = 0; i < k; i++) {
			if (strcmp(names[i], names2[i]) != 0) {
				abort();
			}
		}
		free(req);
	}
	if (dmp_ns_cursor_parse(&c, s, size) == 0) {
		dmp_ns_cursor_fmt(&c, buf, sizeof(buf));
		if (dmp_ns_cursor_parse(&c2, buf, strlen(buf)) != 0 ||
		    dmp_ns_cursor_cmp(&c, &c2) != 0) {
			abort();
		}
	}
	return 0;
}
