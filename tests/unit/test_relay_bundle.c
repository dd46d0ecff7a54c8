/*
 * tests/unit/test_relay_bundle.c - DMP-RELAY/1 bundles (docs/protocol.md
 * 8.7.1, 8.7.2): the id against vectors computed apart from this code,
 * its stability, the JSON body (round trip and every refusal naming its
 * field), the size limits, the hop checks, and the verification of a real
 * message's records (built by the send pipeline, as the engine does) with
 * one failing case per check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/names.h"
#include "dmp/pipeline.h"
#include "dmp/relay.h"
#include "relaymsg.h"
#include "tap.h"

#define ZONE "relay.example"
#define NOW 1893456000ULL /* 2030-01-01 */
#define CAP 70		  /* records room in a test bundle */

static struct dmp_codec *codec;
static struct dmp_keys *snd, *rcp;
static uint8_t snd_sk[DMP_ED25519_SK_BYTES];
static struct dmp_send_result msg;

static void die(const char *what)
{
	fprintf(stderr, "test_relay_bundle: %s\n", what);
	abort();
}

static char *dup_str(const char *s, size_t len)
{
	char *d = dmp_malloc(len + 1);

	if (!d) {
		die("out of memory");
	}
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

static void add(struct dmp_relay_bundle *b, const char *name, const char *value,
		uint32_t ttl)
{
	struct dmp_relay_record *r;

	if (b->n_records >= CAP) {
		die("bundle full");
	}
	if (strlen(name) >= sizeof(r->name)) {
		die("name too long");
	}
	r = &b->records[b->n_records++];
	memcpy(r->name, name, strlen(name) + 1);
	r->vlen = strlen(value);
	r->value = dup_str(value, r->vlen);
	r->ttl = ttl;
}

static void empty(struct dmp_relay_bundle *b)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->zone, sizeof(b->zone), "%s", ZONE);
	b->max_hops = 5;
	b->records = dmp_calloc(CAP, sizeof(*b->records));
	if (!b->records) {
		die("out of memory");
	}
}

/* The message's records: chunks 0..n-1, then the manifest. */
static void full(struct dmp_relay_bundle *b)
{
	empty(b);
	for (size_t i = 0; i < msg.n_records; i++) {
		add(b, msg.records[i].name, msg.records[i].value,
		    msg.records[i].ttl);
	}
}

static void drop(struct dmp_relay_bundle *b, size_t i)
{
	dmp_free(b->records[i].value);
	memmove(&b->records[i], &b->records[i + 1],
		(b->n_records - i - 1) * sizeof(b->records[0]));
	b->n_records--;
}

/* Another base64 character at @p pos (not the last one: padding bits). */
static void flip(struct dmp_relay_record *r, size_t pos)
{
	r->value[pos] = r->value[pos] == 'A' ? 'B' : 'A';
}

static void claim_value(char *out, size_t cap, const uint8_t *msg_id,
			unsigned slot, const char *domain, uint64_t exp)
{
	struct dmp_claim c;

	memset(&c, 0, sizeof(c));
	memcpy(c.msg_id, msg_id, DMP_MSG_ID_BYTES);
	memcpy(c.sender_spk, dmp_keys_ed25519_pk(snd), DMP_ED25519_PK_BYTES);
	snprintf(c.sender_mailbox_domain, sizeof(c.sender_mailbox_domain), "%s",
		 domain);
	c.domain_len = strlen(domain);
	c.slot = (uint8_t)slot;
	c.ts = NOW;
	c.exp = exp;
	if (dmp_claim_sign_encode(out, cap, &c, snd_sk) < 0) {
		die("claim");
	}
}

static void add_claim(struct dmp_relay_bundle *b, const uint8_t *msg_id,
		      unsigned slot, const char *domain, uint64_t exp)
{
	char value[256], name[DMP_NAME_MAX];

	claim_value(value, sizeof(value), msg_id, slot, domain, exp);
	if (dmp_name_claim(name, sizeof(name), slot, dmp_keys_user_id(rcp),
			   ZONE) < 0) {
		die("claim name");
	}
	add(b, name, value, 3600);
}

static size_t manifest_at(const struct dmp_relay_bundle *b)
{
	for (size_t i = 0; i < b->n_records; i++) {
		if (strncmp(b->records[i].name, "slot-", 5) == 0) {
			return i;
		}
	}
	die("no manifest");
	return 0;
}

/* verify @p b: the code, and the reason naming @p needle. */
static void expect(struct dmp_relay_bundle *b, int want, const char *needle,
		   const char *what)
{
	char why[DMP_RELAY_WHY_MAX];
	int rc = dmp_relay_bundle_verify(b, NOW, why, sizeof(why));

	is_int(rc, want, "%s: %s", what, rc ? why : "verifies");
	if (needle) {
		ok(strstr(why, needle) != NULL, "%s: reason names %s", what,
		   needle);
	}
	dmp_relay_bundle_clear(b);
}

static void test_id_vectors(void)
{
	struct dmp_relay_bundle b;
	char id[DMP_RELAY_ID_CHARS + 1];

	/*
	 * Computed with Python's hashlib, not with this code:
	 *   def bid(recs):
	 *       h = b"DMP-RELAY/1\n"
	 *       for n, v in sorted((n.encode(), v.encode()) for n, v in recs):
	 *           h += struct.pack(">H", len(n)) + n
	 *           h += struct.pack(">H", len(v)) + v
	 *       return hashlib.sha256(h).hexdigest()[:32]
	 */
	static const struct {
		const char *rec[3][2]; /* (name, value), NULL name: none */
		const char *id;
		const char *what;
	} v[] = {
	    {{{"b.z", "v2"}, {"a.z", "v1"}},
	     "034a3c3a98ebf9b5ef94cb63f57a1d1b",
	     "[(b.z, v2), (a.z, v1)] sorted by name"},
	    {{{"a.z", "v1"}, {"a.z", "v0"}, {"a.zz", ""}},
	     "56e7f11fa5840c279fb5fad1d761f07e",
	     "same name sorted by value, a prefix first, empty value"},
	    {{{"a.z", "v1"}}, "9b036b4cc3e6a9508d5d749c5bcb2531", "one record"},
	};

	for (size_t i = 0; i < DMP_ARRAY_LEN(v); i++) {
		empty(&b);
		for (size_t r = 0; r < 3 && v[i].rec[r][0]; r++) {
			add(&b, v[i].rec[r][0], v[i].rec[r][1], (uint32_t)r);
		}
		is_int(dmp_relay_bundle_id(&b, id), 0, "id: computed, %s",
		       v[i].what);
		is_str(id, v[i].id, "id: %s", v[i].what);
		dmp_relay_bundle_clear(&b);
	}
}

static void test_id_stable(void)
{
	struct dmp_relay_bundle a, b;
	char ia[DMP_RELAY_ID_CHARS + 1], ib[DMP_RELAY_ID_CHARS + 1];
	struct dmp_relay_record t;

	full(&a);
	full(&b);
	/* Reversed order, other ttls, hops and path. */
	for (size_t i = 0; i < b.n_records / 2; i++) {
		t = b.records[i];
		b.records[i] = b.records[b.n_records - 1 - i];
		b.records[b.n_records - 1 - i] = t;
	}
	for (size_t i = 0; i < b.n_records; i++) {
		b.records[i].ttl = 17 + (uint32_t)i;
	}
	b.hops = 1;
	b.n_path = 1;
	memcpy(b.path[0], "0123456789abcdef", 17);
	if (dmp_relay_bundle_id(&a, ia) || dmp_relay_bundle_id(&b, ib)) {
		die("id");
	}
	is_str(ib, ia, "id: the same under reordering, ttls, hops and path");
	b.records[0].value[30] ^= 1;
	if (dmp_relay_bundle_id(&b, ib)) {
		die("id");
	}
	ok(strcmp(ia, ib) != 0, "id: one value byte changed, another id");
	b.records[0].value[30] ^= 1;
	b.records[1].name[0] = 'C';
	if (dmp_relay_bundle_id(&b, ib)) {
		die("id");
	}
	ok(strcmp(ia, ib) != 0, "id: one name byte changed, another id");
	b.records[1].name[0] = 'c';
	drop(&b, 0);
	if (dmp_relay_bundle_id(&b, ib)) {
		die("id");
	}
	ok(strcmp(ia, ib) != 0, "id: one record fewer, another id");
	memcpy(a.id, ia, sizeof(ia));
	is_int(dmp_relay_bundle_check_id(&a, NULL, 0), 0,
	       "id: check_id takes the right id");
	a.id[0] = a.id[0] == '0' ? '1' : '0';
	is_int(dmp_relay_bundle_check_id(&a, NULL, 0), DMP_EMISMATCH,
	       "id: check_id refuses a renamed bundle");
	dmp_relay_bundle_clear(&a);
	dmp_relay_bundle_clear(&b);
}

static void test_verify_ok(void)
{
	struct dmp_relay_bundle b;
	uint8_t other[DMP_MSG_ID_BYTES];
	char claim[256], name[DMP_NAME_MAX];

	full(&b);
	add_claim(&b, msg.msg_id, msg.slot, ZONE, NOW + 3600);
	expect(&b, 0, NULL, "a message with its claim");

	full(&b);
	for (size_t n = msg.n - msg.k; n > 0; n--) {
		drop(&b, 0);
	}
	expect(&b, 0, NULL, "the manifest with exactly k chunks");

	/* Claims only: a first-contact notification, up to four. */
	empty(&b);
	for (int i = 0; i < DMP_RELAY_CLAIMS_MAX; i++) {
		add_claim(&b, msg.msg_id, msg.slot, "home.example",
			  NOW + 600 + (uint64_t)i);
	}
	expect(&b, 0, NULL, "four claims only");

	empty(&b);
	for (int i = 0; i <= DMP_RELAY_CLAIMS_MAX; i++) {
		add_claim(&b, msg.msg_id, msg.slot, "home.example",
			  NOW + 600 + (uint64_t)i);
	}
	expect(&b, DMP_ETOOBIG, "records[4] (claim)", "five claims");

	empty(&b);
	memcpy(other, msg.msg_id, sizeof(other));
	other[15] ^= 1;
	add_claim(&b, msg.msg_id, msg.slot, "home.example", NOW + 600);
	add_claim(&b, other, dmp_slot_of(other), "home.example", NOW + 600);
	expect(&b, DMP_EMISMATCH, "records[1] (claim)",
	       "claims only, of two messages");

	empty(&b);
	add_claim(&b, msg.msg_id, msg.slot, "home.example", NOW + 86401);
	expect(&b, DMP_EFUTURE, "records[0] (claim)", "a claim over a day");

	/* The claim's own slot is in its owner name. */
	empty(&b);
	claim_value(claim, sizeof(claim), msg.msg_id, msg.slot, ZONE,
		    NOW + 600);
	if (dmp_name_claim(name, sizeof(name), (msg.slot + 1) % 10,
			   dmp_keys_user_id(rcp), ZONE) < 0) {
		die("claim name");
	}
	add(&b, name, claim, 60);
	expect(&b, DMP_EBADNAME, "records[0] (claim)",
	       "a claim at another slot's name");
}

static void test_verify_refusals(void)
{
	struct dmp_relay_bundle b;
	size_t mi;
	char name[DMP_NAME_MAX], *p;

	full(&b);
	flip(&b.records[1], 100);
	expect(&b, DMP_ECHUNKHASH, "records[1] (chunk)",
	       "one chunk byte flipped");

	/* Chunks 0 and 1 swap names: each at the wrong index. */
	full(&b);
	snprintf(name, sizeof(name), "%s", b.records[0].name);
	memcpy(b.records[0].name, b.records[1].name, sizeof(name));
	memcpy(b.records[1].name, name, sizeof(name));
	expect(&b, DMP_ECHUNKHASH, "chunk_hashes[1]",
	       "a chunk at the wrong index's name");

	full(&b);
	p = strrchr(b.records[2].name, '-');
	p[1] = p[1] == 'a' ? 'b' : 'a'; /* msg_key changed */
	expect(&b, DMP_EBADNAME, "records[2] (chunk)",
	       "a chunk name with another msg_key");

	full(&b);
	p = b.records[0].name + strlen("chunk-");
	memcpy(p, "9999", 4);
	expect(&b, DMP_EBADNAME, "below the manifest's n",
	       "a chunk index beyond n");

	full(&b);
	mi = manifest_at(&b);
	flip(&b.records[mi], b.records[mi].vlen - 20);
	expect(&b, DMP_EBADSIG, "records[", "manifest signature broken");

	full(&b);
	mi = manifest_at(&b);
	b.records[mi].name[5] = b.records[mi].name[5] == '9' ? '0' : '9';
	expect(&b, DMP_EBADNAME, "(manifest): owner is not slot-",
	       "manifest at another slot");

	full(&b);
	snprintf(name, sizeof(name), "%.*s.other.example",
		 (int)(strlen(b.records[0].name) - strlen(ZONE) - 1),
		 b.records[0].name);
	snprintf(b.records[0].name, sizeof(b.records[0].name), "%s", name);
	expect(&b, DMP_EBADNAME, "not inside zone", "owner outside zone");

	full(&b);
	add_claim(&b, msg.msg_id, msg.slot, "elsewhere.example", NOW + 600);
	expect(&b, DMP_EMISMATCH, "not at zone",
	       "a claim pointing at another zone");

	full(&b);
	{
		uint8_t other[DMP_MSG_ID_BYTES];

		memcpy(other, msg.msg_id, sizeof(other));
		other[15] ^= 1;
		add_claim(&b, other, msg.slot, ZONE, NOW + 600);
	}
	expect(&b, DMP_EMISMATCH, "differs from the manifest",
	       "a claim of another message");

	/* The same chunk index twice: a second value at chunk 0's name. */
	full(&b);
	add(&b, b.records[0].name, b.records[0].value, 60);
	flip(&b.records[b.n_records - 1], 100);
	expect(&b, DMP_EEXIST, "chunk index 0 twice", "duplicate chunk index");

	full(&b);
	add(&b, b.records[0].name, b.records[0].value, 60);
	expect(&b, DMP_EEXIST, "same name and value", "a record twice");

	full(&b);
	for (size_t n = msg.n - msg.k + 1; n > 0; n--) {
		drop(&b, 0);
	}
	expect(&b, DMP_ESHARES, "(manifest)", "fewer than k chunks");

	full(&b);
	drop(&b, manifest_at(&b));
	expect(&b, DMP_ESHARES, "without its manifest",
	       "chunks without a manifest");

	full(&b);
	add(&b, "hello." ZONE, "not a dmp record", 60);
	expect(&b, DMP_EPREFIX, "not relayed", "an unknown record type");

	full(&b);
	mi = manifest_at(&b);
	add(&b, b.records[mi].name, b.records[mi].value, 60);
	b.records[b.n_records - 1].name[5] ^= 1;
	expect(&b, DMP_ETOOBIG, "a second manifest", "two manifests");

	full(&b);
	{
		char why[DMP_RELAY_WHY_MAX];

		is_int(
		    dmp_relay_bundle_verify(&b, msg.exp + 1, why, sizeof(why)),
		    DMP_EEXPIRED, "an expired manifest: %s", why);
	}
	dmp_relay_bundle_clear(&b);
}

static void test_limits(void)
{
	struct dmp_relay_bundle b;
	char why[DMP_RELAY_WHY_MAX], big[4100];

	empty(&b);
	for (int i = 0; i < 65; i++) {
		add(&b, "a.z", "v", 1);
	}
	is_int(dmp_relay_bundle_limits(&b, DMP_RELAY_BYTES_DEFAULT, why,
				       sizeof(why)),
	       DMP_ETOOBIG, "limits: 65 records (%s)", why);
	b.n_records = 64;
	is_int(dmp_relay_bundle_limits(&b, DMP_RELAY_BYTES_DEFAULT, why,
				       sizeof(why)),
	       0, "limits: 64 records");
	b.n_records = 65;
	dmp_relay_bundle_clear(&b);

	full(&b);
	is_int(
	    dmp_relay_bundle_limits(&b, DMP_RELAY_BYTES_MIN, why, sizeof(why)),
	    DMP_ETOOBIG, "limits: over 4096 value bytes (%s)", why);
	ok(strstr(why, "mesh.relay_bundle_bytes") != NULL,
	   "limits: the reason names the setting");
	is_int(dmp_relay_bundle_limits(&b, DMP_RELAY_BYTES_DEFAULT, NULL, 0), 0,
	       "limits: the message fits the default");
	is_int(dmp_relay_bundle_limits(&b, 4095, NULL, 0), DMP_EINVAL,
	       "limits: 4095 is no limit");
	is_int(dmp_relay_bundle_limits(&b, 65537, NULL, 0), DMP_EINVAL,
	       "limits: 65537 is no limit");
	dmp_relay_bundle_clear(&b);

	empty(&b);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	add(&b, "a.z", big, 1);
	is_int(dmp_relay_bundle_limits(&b, DMP_RELAY_BYTES_MIN, NULL, 0),
	       DMP_ETOOBIG, "limits: one value of 4099 bytes over 4096");
	b.n_records = 0;
	is_int(dmp_relay_bundle_limits(&b, DMP_RELAY_BYTES_MIN, NULL, 0),
	       DMP_EMALFORMED, "limits: no records");
	b.n_records = 1;
	dmp_relay_bundle_clear(&b);
}

static void test_hops(void)
{
	struct dmp_relay_bundle b;
	char why[DMP_RELAY_WHY_MAX];
	const char *own = "ffffffffffffffff";

	empty(&b);
	b.hops = 2;
	b.n_path = 2;
	memcpy(b.path[0], "0000000000000001", 17);
	memcpy(b.path[1], "0000000000000002", 17);
	is_int(dmp_relay_hops_check(&b, 5, own, why, sizeof(why)), 0,
	       "hops: 2 of 5, own fingerprint not in path");
	b.hops = 3;
	is_int(dmp_relay_hops_check(&b, 5, own, why, sizeof(why)),
	       DMP_EMALFORMED, "hops: 3 with a path of 2 (%s)", why);
	b.hops = 2;
	b.max_hops = 1;
	is_int(dmp_relay_hops_check(&b, 5, own, why, sizeof(why)), DMP_ERANGE,
	       "hops: 2 over max_hops 1 (%s)", why);
	b.max_hops = 5;
	is_int(dmp_relay_hops_check(&b, 1, own, why, sizeof(why)), DMP_ERANGE,
	       "hops: 2 over this node's limit 1 (%s)", why);
	is_int(dmp_relay_hops_check(&b, 2, own, why, sizeof(why)), 0,
	       "hops: 2 at this node's limit 2");
	memcpy(b.path[1], own, 17);
	is_int(dmp_relay_hops_check(&b, 5, own, why, sizeof(why)), DMP_EEXIST,
	       "hops: own fingerprint in path (%s)", why);
	memcpy(b.path[1], b.path[0], 17);
	is_int(dmp_relay_hops_check(&b, 5, own, why, sizeof(why)), DMP_EEXIST,
	       "hops: a fingerprint twice in path (%s)", why);
	dmp_relay_bundle_clear(&b);
}

/* parse @p body: the code and, on failure, the reason naming @p needle. */
static void parse_fails(const char *body, int want, const char *needle)
{
	struct dmp_relay_bundle b;
	char why[DMP_RELAY_WHY_MAX];
	int rc = dmp_relay_bundle_parse_json(
	    &b, body, strlen(body), DMP_RELAY_BYTES_DEFAULT, why, sizeof(why));

	is_int(rc, want, "json: refused (%s)", why);
	ok(strncmp(why, needle, strlen(needle)) == 0, "json: reason is %s...",
	   needle);
	ok(b.records == NULL && b.n_records == 0, "json: nothing to free");
}

#define HEAD                                                                   \
	"{\"v\":\"DMP-RELAY/1\",\"id\":\"0123456789abcdef0123456789abcdef\","  \
	"\"zone\":\"relay.example\","

static void test_json(void)
{
	struct dmp_relay_bundle a, b;
	char why[DMP_RELAY_WHY_MAX], ia[DMP_RELAY_ID_CHARS + 1], *js;
	char ib[DMP_RELAY_ID_CHARS + 1];
	size_t len;
	static char body[200000];
	size_t off;

	full(&a);
	a.hops = 1;
	a.n_path = 1;
	memcpy(a.path[0], "0123456789abcdef", 17);
	is_int(dmp_relay_bundle_to_json(&a, &js, &len), 0, "json: written");
	is_int(dmp_relay_bundle_parse_json(&b, js, len, DMP_RELAY_BYTES_DEFAULT,
					   why, sizeof(why)),
	       0, "json: read back (%s)", why);
	if (dmp_relay_bundle_id(&a, ia) || dmp_relay_bundle_id(&b, ib)) {
		die("id");
	}
	is_str(b.id, ia, "json: carries the recomputed id");
	is_str(ib, ia, "json: the same records");
	ok(b.n_records == a.n_records && b.hops == 1 && b.n_path == 1 &&
	       strcmp(b.path[0], a.path[0]) == 0 && b.max_hops == 5 &&
	       b.mode == DMP_RELAY_MODE_PATH && strcmp(b.zone, ZONE) == 0 &&
	       b.records[0].ttl == a.records[0].ttl,
	   "json: hops, path, max_hops, mode, zone, ttl kept");
	is_int(dmp_relay_bundle_check_id(&b, NULL, 0), 0,
	       "json: its id checks");
	is_int(dmp_relay_bundle_verify(&b, NOW, why, sizeof(why)), 0,
	       "json: the records read back verify (%s)", why);
	dmp_relay_bundle_clear(&b);
	is_int(dmp_relay_bundle_parse_json(&b, js, len, DMP_RELAY_BYTES_MIN,
					   why, sizeof(why)),
	       DMP_ETOOBIG, "json: over a 4096-byte limit (%s)", why);
	dmp_free(js);
	dmp_relay_bundle_clear(&a);

	parse_fails("{\"v\":\"DMP-RELAY/2\"}", DMP_EUNSUPPORTED, "v:");
	parse_fails("[]", DMP_EMALFORMED, "body:");
	parse_fails("{\"v\":\"DMP-RELAY/1\",", DMP_EMALFORMED, "body:");
	parse_fails(HEAD "\"x\":1}", DMP_EMALFORMED, "x:");
	parse_fails("{\"v\":\"DMP-RELAY/1\",\"id\":\"0123\"}", DMP_EMALFORMED,
		    "id:");
	parse_fails("{\"v\":\"DMP-RELAY/1\",\"id\":"
		    "\"0123456789ABCDEF0123456789abcdef\"}",
		    DMP_EMALFORMED, "id:");
	parse_fails("{\"v\":\"DMP-RELAY/1\",\"id\":"
		    "\"0123456789abcdef0123456789abcdef\",\"zone\":\"Relay."
		    "example\"}",
		    DMP_EMALFORMED, "zone:");
	parse_fails("{\"v\":\"DMP-RELAY/1\",\"id\":"
		    "\"0123456789abcdef0123456789abcdef\",\"zone\":\"relay."
		    "example.\"}",
		    DMP_EMALFORMED, "zone:");
	parse_fails(HEAD "\"mode\":\"jump\"}", DMP_EMALFORMED, "mode:");
	parse_fails(HEAD "\"mode\":\"path\",\"hops\":17,\"max_hops\":5,"
			 "\"budget\":0}",
		    DMP_EMALFORMED, "hops:");
	parse_fails(HEAD "\"mode\":\"path\",\"hops\":0,\"max_hops\":0,"
			 "\"budget\":0}",
		    DMP_EMALFORMED, "max_hops:");
	parse_fails(HEAD "\"mode\":\"path\",\"hops\":0,\"max_hops\":5,"
			 "\"budget\":2}",
		    DMP_EMALFORMED, "budget:");
	parse_fails(HEAD "\"mode\":\"flood\",\"hops\":0,\"max_hops\":5,"
			 "\"budget\":2,\"path\":[\"0123\"]}",
		    DMP_EMALFORMED, "path[0]:");
	parse_fails(HEAD "\"mode\":\"flood\",\"hops\":0,\"max_hops\":5,"
			 "\"budget\":2,\"path\":[],\"records\":[{\"name\":"
			 "\"a.relay.example\",\"value\":\"x\",\"ttl\":-1}]}",
		    DMP_EMALFORMED, "records[0].ttl:");
	parse_fails(HEAD "\"mode\":\"flood\",\"hops\":0,\"max_hops\":5,"
			 "\"budget\":2,\"path\":[],\"records\":[{\"name\":"
			 "\"a b\",\"value\":\"x\",\"ttl\":1}]}",
		    DMP_EMALFORMED, "records[0].name:");
	parse_fails(HEAD "\"mode\":\"flood\",\"hops\":0,\"max_hops\":5,"
			 "\"budget\":2,\"path\":[],\"records\":[]}",
		    DMP_EMALFORMED, "records:");
	parse_fails(HEAD "\"mode\":\"flood\",\"hops\":0,\"max_hops\":5,"
			 "\"budget\":2,\"path\":[],\"records\":{}}",
		    DMP_EMALFORMED, "records:");

	/* 65 records; and a body over what the limit reads. */
	off = (size_t)snprintf(body, sizeof(body),
			       HEAD "\"mode\":\"path\",\"hops\":0,"
				    "\"max_hops\":5,\"budget\":0,\"path\":[],"
				    "\"records\":[");
	for (int i = 0; i < 65; i++) {
		off += (size_t)snprintf(body + off, sizeof(body) - off,
					"%s{\"name\":\"a%d.relay.example\","
					"\"value\":\"x\",\"ttl\":1}",
					i ? "," : "", i);
	}
	snprintf(body + off, sizeof(body) - off, "]}");
	parse_fails(body, DMP_ETOOBIG, "records:");
	memset(body, ' ', dmp_relay_body_max(DMP_RELAY_BYTES_MIN) + 1);
	body[dmp_relay_body_max(DMP_RELAY_BYTES_MIN) + 1] = 0;
	is_int(dmp_relay_bundle_parse_json(&b, body, strlen(body),
					   DMP_RELAY_BYTES_MIN, why,
					   sizeof(why)),
	       DMP_ETOOBIG, "json: a body over the limit (%s)", why);
	is_int(dmp_relay_bundle_parse_json(&b, "{}", 2, 100, why, sizeof(why)),
	       DMP_EINVAL, "json: a limit of 100 bytes is refused (%s)", why);
}

int main(void)
{
	static struct dmp_test_msg tm;

	dmp_test_msg_make(&tm, "test_relay_bundle", 0x11, 0x22, ZONE, NOW, 7,
			  1500, 'm');
	codec = tm.codec;
	snd = tm.snd;
	rcp = tm.rcp;
	memcpy(snd_sk, tm.snd_sk, sizeof(snd_sk));
	msg = tm.msg;
	if (msg.k < 2 || msg.n <= msg.k || msg.n_records + 5 > CAP) {
		die("send pipeline");
	}
	plan(134);
	diag("message: k = %u, n = %u, slot %u", msg.k, msg.n, msg.slot);
	test_id_vectors();
	test_id_stable();
	test_verify_ok();
	test_verify_refusals();
	test_limits();
	test_hops();
	test_json();
	dmp_test_msg_free(&tm);
	dmp_wipe(snd_sk, sizeof(snd_sk));
	return done_testing();
}
