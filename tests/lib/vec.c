/* tests/lib/vec.c - JSON vector loading for the unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "vec.h"

static void die(const char *what, const char *key)
{
	fprintf(stderr, "vector error: %s '%s'\n", what, key);
	abort();
}

json_t *vec_load(const char *file)
{
	const char *dir = getenv("DMP_VECTOR_DIR");
	char path[4096];
	json_error_t err;
	json_t *root;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/vectors",
		 file);
	root = json_load_file(path, 0, &err);
	if (!root) {
		fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
		abort();
	}
	return root;
}

int vec_has(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return v && !json_is_null(v);
}

const char *vec_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_string(v)) {
		die("missing string", key);
	}
	return json_string_value(v);
}

long long vec_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v)) {
		return json_integer_value(v);
	}
	if (json_is_string(v)) {
		return strtoll(json_string_value(v), NULL, 10);
	}
	die("missing integer", key);
	return 0;
}

uint8_t *vec_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out;

	if (n % 2) {
		die("odd-length hex", hex);
	}
	out = malloc(n / 2 + 1);
	if (!out) {
		abort();
	}
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
			die("bad hex", hex);
		}
		out[i] = (uint8_t)b;
	}
	*len = n / 2;
	return out;
}

uint8_t *vec_hex(const json_t *obj, const char *key, size_t *len)
{
	return vec_unhex(vec_str(obj, key), len);
}

void vec_hex_fixed(const json_t *obj, const char *key, uint8_t *out,
		   size_t want)
{
	size_t n;
	uint8_t *b = vec_hex(obj, key, &n);

	if (n != want) {
		die("wrong-length hex", key);
	}
	memcpy(out, b, n);
	free(b);
}

char *vec_hex_str(const json_t *obj, const char *key)
{
	size_t n;
	uint8_t *w = vec_hex(obj, key, &n);
	char *s = realloc(w, n + 1);

	if (!s) {
		die("out of memory for", key);
	}
	s[n] = '\0';
	return s;
}

void vec_key_from_seed_hex(uint8_t pk[32], uint8_t sk[64], const char *hex)
{
	uint8_t seed[32];

	if (dmp_hex_decode(seed, 32, hex, strlen(hex)) != 0) {
		die("bad seed hex", hex);
	}
	dmp_ed25519_from_x25519(pk, sk, seed);
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

uint32_t vec_rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

void vec_rng_seed(uint64_t seed)
{
	rng_state = seed;
}
