/*
 * bench/bench_codec.c - codec throughput (PROTOCOL.md 5.1-5.4):
 *   encode = erasure pack + per chunk (checksum, RS parity, base64, hash)
 *   decode = per chunk unwrap with the manifest hash (hash, base64, RS
 *            check, checksum) for k chunks + erasure decode + unpack;
 *            "best" holds the k data chunks, "worst" lost min(k, n-k) of
 *            them and rebuilds those from parity.
 * Usage: bench_codec [seconds per figure, default 0.5]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmp/chunk.h"
#include "dmp/erasure.h"
#include "dmp/err.h"

#define MAXN 64

struct ctx {
	struct dmp_rs *rs;
	uint8_t msg[4096];
	size_t len;
	uint8_t shares[MAXN * 128];
	char txt[MAXN][DMP_CHUNK_TXT_LEN + 1];
	uint8_t hash[MAXN][32];
	unsigned k, n;
	unsigned use[MAXN]; /* chunk ids the receiver reads */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int encode(struct ctx *c)
{
	if (dmp_erasure_pack(c->msg, c->len, c->shares, sizeof(c->shares),
			     &c->k, &c->n) != 0) {
		return -1;
	}
	for (unsigned i = 0; i < c->n; i++) {
		if (dmp_chunk_encode(c->rs, c->shares + i * 128, c->txt[i],
				     sizeof(c->txt[i]),
				     c->hash[i]) != DMP_CHUNK_TXT_LEN) {
			return -1;
		}
	}
	return 0;
}

static int decode(struct ctx *c)
{
	uint8_t got[MAXN * 128], out[MAXN * 128];
	const uint8_t *ptr[MAXN], *m;
	size_t mlen;

	for (unsigned i = 0; i < c->k; i++) {
		unsigned id = c->use[i];

		if (dmp_chunk_unwrap(c->rs, c->txt[id], DMP_CHUNK_TXT_LEN,
				     c->hash[id], got + i * 128) != 0) {
			return -1;
		}
		ptr[i] = got + i * 128;
	}
	if (dmp_erasure_decode(c->k, c->n, 128, ptr, c->use, c->k, out) != 0 ||
	    dmp_erasure_unpack(out, c->k, &m, &mlen) != 0 || mlen != c->len ||
	    memcmp(m, c->msg, mlen) != 0) {
		return -1;
	}
	return 0;
}

typedef int (*op_fn)(struct ctx *);

static double rate(op_fn fn, struct ctx *c, double secs)
{
	double t0 = now(), t;
	long iters = 0;

	do {
		for (int i = 0; i < 16; i++) {
			if (fn(c) != 0) {
				fprintf(stderr, "bench: operation failed\n");
				exit(1);
			}
		}
		iters += 16;
		t = now() - t0;
	} while (t < secs);
	return (double)iters / t;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {100, 1024, 3584};
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	static struct ctx c;

	if (dmp_rs_new(&c.rs) != 0) {
		return 1;
	}
	printf("%-8s %4s %4s %12s %12s %12s %10s\n", "size", "k", "n",
	       "enc msg/s", "dec best/s", "dec worst/s", "enc MB/s");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double enc, best, worst;
		unsigned lose;

		c.len = sizes[s];
		for (size_t i = 0; i < c.len; i++) {
			c.msg[i] = (uint8_t)(i * 31 + 7);
		}
		enc = rate(encode, &c, secs);
		for (unsigned i = 0; i < c.k; i++) {
			c.use[i] = i;
		}
		best = rate(decode, &c, secs);
		/* Worst case: the first min(k, n-k) data chunks are gone. */
		lose = c.n - c.k < c.k ? c.n - c.k : c.k;
		for (unsigned i = 0; i < c.k; i++) {
			c.use[i] = i + lose;
		}
		worst = rate(decode, &c, secs);
		printf("%-8zu %4u %4u %12.0f %12.0f %12.0f %10.2f\n", c.len,
		       c.k, c.n, enc, best, worst, enc * (double)c.len / 1e6);
	}
	dmp_rs_free(c.rs);
	return 0;
}
