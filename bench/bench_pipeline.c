/*
 * bench/bench_pipeline.c - the full codec pipeline against its public-key
 * floor, side by side in one run (figures are ratios, so a noisy shared
 * machine moves both sides alike).
 *
 *   encode = seal (X25519 keygen + X25519 + HKDF + AEAD) + erasure + RS +
 *            chunk hashes + base64 + signed manifest  (dmp_pipeline_send)
 *   decode = manifest verify + chunk checks + erasure decode + open
 *            (accept_manifest + assemble + open)
 *   floor  = encode: X25519 keygen + X25519 + Ed25519 sign;
 *            decode: X25519 + Ed25519 verify
 *
 * Usage: bench_pipeline [SECONDS_PER_MEASUREMENT]   (default 1)
 * Target (issue 3): pipeline / floor <= 1.5 at 1 KiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmp/crypto.h"
#include "dmp/keys.h"
#include "dmp/names.h"
#include "dmp/pipeline.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct env {
	struct dmp_codec *codec;
	struct dmp_keys *alice, *bob;
	uint8_t body[4096];
	size_t len;
	struct dmp_send_result sent;
	uint8_t ed_pk[32], ed_sk[64], x_sk[32], x_pk[32], sig[64], scratch[64];
};

static void encode_once(struct env *e)
{
	struct dmp_send_params p = {0};
	struct dmp_send_result r;

	p.sender = e->alice;
	p.recipient_x25519_pk = dmp_keys_x25519_pk(e->bob);
	p.ts = 1893456000;
	p.ttl = 300;
	p.zone = "mesh.example";
	p.plaintext = e->body;
	p.len = e->len;
	if (dmp_pipeline_send(e->codec, &p, &r) != 0) {
		abort();
	}
	dmp_send_result_clear(&r);
}

static void decode_once(struct env *e)
{
	const struct dmp_send_result *s = &e->sent;
	const struct dmp_txt_record *man = &s->records[s->n_records - 1];
	struct dmp_chunk_values cv[64];
	size_t lens[64];
	struct dmp_manifest m;
	uint8_t *msg, *pt;
	size_t msg_len, pt_len;

	if (dmp_pipeline_accept_manifest(&m, man->value, strlen(man->value),
					 dmp_keys_user_id(e->bob),
					 1893456000) != 0) {
		abort();
	}
	for (unsigned i = 0; i < s->n; i++) {
		lens[i] = strlen(s->records[i].value);
		cv[i].values = (const char *const *)&s->records[i].value;
		cv[i].lens = &lens[i];
		cv[i].count = 1;
	}
	if (dmp_pipeline_assemble(e->codec, &m, cv, &msg, &msg_len, NULL) !=
		0 ||
	    dmp_pipeline_open(&m, msg, msg_len, e->bob, NULL, 1893456000, &pt,
			      &pt_len) != 0 ||
	    pt_len != e->len) {
		abort();
	}
	dmp_free(pt);
	dmp_free(msg);
	dmp_manifest_clear(&m);
}

static void floor_encode_once(struct env *e)
{
	uint8_t eph[32], eph_pk[32], shared[32];

	dmp_random(eph, sizeof(eph));
	dmp_x25519_base(eph_pk, eph);
	if (dmp_x25519(shared, eph, e->x_pk) != 0) {
		abort();
	}
	dmp_sign(e->scratch, shared, sizeof(shared), e->ed_sk);
}

static void floor_decode_once(struct env *e)
{
	uint8_t shared[32];

	if (dmp_x25519(shared, e->x_sk, e->x_pk) != 0 ||
	    dmp_verify(e->sig, e->body, 64, e->ed_pk) != 0) {
		abort();
	}
}

/* Run @p fn for about @p secs; add the ops and seconds to the totals. */
static void window(void (*fn)(struct env *), struct env *e, double secs,
		   long *ops, double *spent)
{
	double start = now_s(), t;

	do {
		for (int i = 0; i < 4; i++) {
			fn(e);
		}
		*ops += 4;
		t = now_s() - start;
	} while (t < secs);
	*spent += t;
}

/*
 * Alternate 20 ms windows of the pipeline and of its floor for @p secs in
 * all, so that load from other processes falls on both alike; returns
 * ops/s of each through @p rate_fn and @p rate_floor.
 */
static void compare(void (*fn)(struct env *), void (*floor_fn)(struct env *),
		    struct env *e, double secs, double *rate_fn,
		    double *rate_floor)
{
	long ops = 0, fops = 0;
	double spent = 0, fspent = 0;

	while (spent + fspent < secs) {
		window(floor_fn, e, 0.02, &fops, &fspent);
		window(fn, e, 0.02, &ops, &spent);
	}
	*rate_fn = (double)ops / spent;
	*rate_floor = (double)fops / fspent;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {100, 1024, 3584};
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	struct env e;
	uint8_t a[32], b[32];

	memset(&e, 0, sizeof(e));
	memset(a, 1, 32);
	memset(b, 2, 32);
	if (dmp_init() != 0 || dmp_codec_new(&e.codec) != 0 ||
	    dmp_keys_from_x25519(&e.alice, a) != 0 ||
	    dmp_keys_from_x25519(&e.bob, b) != 0) {
		return 1;
	}
	dmp_random(e.body, sizeof(e.body));
	dmp_random(e.x_sk, 32);
	dmp_x25519_base(e.x_pk, e.x_sk);
	dmp_ed25519_from_seed(e.ed_pk, e.ed_sk, a);
	dmp_sign(e.sig, e.body, 64, e.ed_sk);

	printf("%-8s %6s %12s %12s %8s %12s %12s %8s\n", "size", "n",
	       "encode/s", "floor/s", "ratio", "decode/s", "floor/s", "ratio");
	for (size_t i = 0; i < DMP_ARRAY_LEN(sizes); i++) {
		struct dmp_send_params p = {0};
		double enc, fenc, dec, fdec;

		e.len = sizes[i];
		p.sender = e.alice;
		p.recipient_x25519_pk = dmp_keys_x25519_pk(e.bob);
		p.ts = 1893456000;
		p.ttl = 300;
		p.zone = "mesh.example";
		p.plaintext = e.body;
		p.len = e.len;
		if (dmp_pipeline_send(e.codec, &p, &e.sent) != 0) {
			return 1;
		}
		compare(encode_once, floor_encode_once, &e, secs, &enc, &fenc);
		compare(decode_once, floor_decode_once, &e, secs, &dec, &fdec);
		printf("%-8zu %6u %12.0f %12.0f %7.2fx %12.0f %12.0f %7.2fx\n",
		       e.len, e.sent.n, enc, fenc, fenc / enc, dec, fdec,
		       fdec / dec);
		dmp_send_result_clear(&e.sent);
	}
	printf("ratio = pipeline time / public-key floor time "
	       "(target <= 1.50 at 1024 bytes)\n");
	dmp_keys_free(e.alice);
	dmp_keys_free(e.bob);
	dmp_codec_free(e.codec);
	return 0;
}
