/*
 * bench/bench_crypto.c - message seal/open throughput for a 1 KiB body
 * (PROTOCOL.md 4.3) against the public-key floor: each seal costs two
 * X25519 operations (ephemeral public key, shared secret) and each open
 * one, so X25519/s bounds both. Also times one Argon2id derivation.
 * Usage: bench_crypto [seconds per figure, default 1]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmp/crypto.h"
#include "dmp/keys.h"
#include "dmp/message.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0, dt;
	uint8_t sk[32], pk[32], shared[32], id[32] = {0}, body[1024];
	uint8_t *m = NULL, *pt = NULL;
	size_t m_len = 0, pt_len = 0;
	struct dmp_header h;
	struct dmp_keys *k = NULL;
	long n;

	if (dmp_init() != 0) {
		return 1;
	}
	dmp_random(sk, sizeof(sk));
	dmp_random(body, sizeof(body));
	dmp_x25519_base(pk, sk);
	dmp_header_init(&h, id, id, id, 1893456000, 300);

	for (n = 0, t0 = now_s(); (dt = now_s() - t0) < secs; n++) {
		if (dmp_x25519(shared, sk, pk) != 0) {
			return 1;
		}
	}
	printf("x25519          %10.0f /s\n", (double)n / dt);

	for (n = 0, t0 = now_s(); (dt = now_s() - t0) < secs; n++) {
		free(m);
		if (dmp_message_seal(&h, pk, 0, body, sizeof(body), &m,
				     &m_len) != 0) {
			return 1;
		}
	}
	printf("seal 1 KiB      %10.0f /s  (floor x25519/2)\n", (double)n / dt);

	for (n = 0, t0 = now_s(); (dt = now_s() - t0) < secs; n++) {
		free(pt);
		if (dmp_message_open_sk(sk, 0, m, m_len, 1893456000, NULL, &pt,
					&pt_len) != 0) {
			return 1;
		}
	}
	printf("open 1 KiB      %10.0f /s  (floor x25519)\n", (double)n / dt);

	t0 = now_s();
	if (dmp_keys_derive(&k, "bench", 5, NULL, 0) != 0) {
		return 1;
	}
	printf("argon2id derive %10.3f s\n", now_s() - t0);
	dmp_keys_free(k);
	free(m);
	free(pt);
	return 0;
}
