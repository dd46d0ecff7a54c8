/* tests/unit/test_chunk.c - chunk wrap/unwrap (PROTOCOL.md 2.1, 5.4)
 * against rs_chunk.json and chunk_records.json, tamper and repair loops,
 * and an end-to-end pack -> TXT -> loss -> unwrap -> decode round trip. */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/chunk.h"
#include "dmp/crypto.h"
#include "dmp/erasure.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"

#define W DMP_CHUNK_WIRE_BYTES

/* TXT value of an arbitrary wire (possibly corrupted or of any size). */
static int wire_txt(char *txt, size_t cap, const uint8_t *wire, size_t len)
{
	return dmp_record_encode(txt, cap, DMP_PREFIX_CHUNK, wire, len, 0);
}

static void test_encode_cases(struct dmp_rs *rs, const json_t *cases)
{
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *d = vec_str(c, "description");
		uint8_t data[128], wire[W], want[W], cks[8], hash[32], blk[128];
		char txt[300], want_txt[300];
		int fixed = -1;

		vec_hex_fixed(c, "data_hex", data, sizeof(data));
		vec_hex_fixed(c, "wrapped_hex", want, sizeof(want));
		vec_hex_fixed(c, "checksum_hex", cks, sizeof(cks));
		dmp_chunk_wrap(rs, data, wire);
		is_mem(wire, W, want, W, "%s: wrapped", d);
		is_mem(wire, 8, cks, 8, "%s: checksum", d);
		snprintf(want_txt, sizeof(want_txt), "%s%s", DMP_PREFIX_CHUNK,
			 vec_str(c, "wrapped_b64"));
		is_int(dmp_chunk_encode(rs, data, txt, sizeof(txt), hash),
		       DMP_CHUNK_TXT_LEN, "%s: TXT length 241", d);
		is_str(txt, want_txt, "%s: TXT value", d);
		is_int(dmp_chunk_unwrap(rs, txt, strlen(txt), hash, blk), 0,
		       "%s: unwrap", d);
		is_mem(blk, 128, data, 128, "%s: unwrapped block", d);
		is_int(dmp_chunk_unwrap_wire(rs, want, W, NULL, blk, &fixed), 0,
		       "%s: unwrap wire without hash", d);
		is_int(fixed, 0, "%s: nothing repaired", d);
	}
}

static void test_decode_cases(struct dmp_rs *rs, const json_t *cases)
{
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *d = vec_str(c, "description");
		int want_ok = strcmp(vec_str(c, "expect"), "ok") == 0;
		uint8_t wire[W], good[W], blk[128], hash[32];
		char txt[300];
		int fixed = -1;

		vec_hex_fixed(c, "corrupted_wrapped_hex", wire, W);
		if (want_ok) {
			uint8_t data[128];

			vec_hex_fixed(c, "expected_data_hex", data, 128);
			is_int(dmp_chunk_unwrap_wire(rs, wire, W, NULL, blk,
						     &fixed),
			       0, "%s: unwrap repairs", d);
			is_int(fixed, (int)vec_int(c, "n_errors"),
			       "%s: symbols repaired", d);
			is_mem(blk, 128, data, 128, "%s: block", d);
			/* The manifest hash is of the sender's wire: the
			 * corrupted one is refused before RS (10.5). */
			dmp_chunk_wrap(rs, data, good);
			dmp_sha256(hash, good, W);
			is_int(
			    dmp_chunk_unwrap_wire(rs, wire, W, hash, blk, NULL),
			    DMP_ECHUNKHASH, "%s: hash refuses first", d);
			/* And through the TXT value. */
			wire_txt(txt, sizeof(txt), wire, W);
			is_int(dmp_chunk_unwrap_repair(rs, txt, strlen(txt),
						       blk, &fixed),
			       0, "%s: TXT repair path", d);
			is_mem(blk, 128, data, 128, "%s: TXT block", d);
			is_int(
			    dmp_chunk_unwrap(rs, txt, strlen(txt), hash, blk),
			    DMP_ECHUNKHASH, "%s: TXT hash path refuses", d);
		} else {
			is_int(dmp_chunk_unwrap_wire(rs, wire, W, NULL, blk,
						     &fixed),
			       DMP_ERSFAIL, "%s: unwrap refuses", d);
			is_int(fixed, 0, "%s: no count", d);
			wire_txt(txt, sizeof(txt), wire, W);
			is_int(dmp_chunk_unwrap_repair(rs, txt, strlen(txt),
						       blk, NULL),
			       DMP_ERSFAIL, "%s: TXT repair path refuses", d);
		}
	}
}

static void test_unwrap_cases(struct dmp_rs *rs, const json_t *cases)
{
	static const int want[] = {DMP_ECHECKSUM, DMP_EMALFORMED};

	is_int((long long)json_array_size(cases), 2, "two unwrap cases");
	for (size_t i = 0; i < json_array_size(cases) && i < 2; i++) {
		const json_t *c = json_array_get(cases, i);
		const char *d = vec_str(c, "description");
		size_t len;
		uint8_t *wire = vec_hex(c, "wrapped_hex", &len), blk[128];
		uint8_t hash[32];
		char txt[300];

		is_str(vec_str(c, "expect"), "fail", "%s: expected fail", d);
		is_int(dmp_chunk_unwrap_wire(rs, wire, len, NULL, blk, NULL),
		       want[i], "%s: refused", d);
		wire_txt(txt, sizeof(txt), wire, len);
		is_int(dmp_chunk_unwrap_repair(rs, txt, strlen(txt), blk, NULL),
		       want[i], "%s: refused from TXT", d);
		/* With the manifest hash of exactly this wire, the hash step
		 * passes and the later steps still refuse it. */
		dmp_sha256(hash, wire, len);
		is_int(dmp_chunk_unwrap(rs, txt, strlen(txt), hash, blk),
		       want[i], "%s: refused even with a matching hash", d);
		free(wire);
	}
}

static void test_records(struct dmp_rs *rs, const json_t *cases)
{
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *d = vec_str(c, "description");
		const json_t *recs = json_object_get(c, "records");
		size_t blen;
		uint8_t *blob =
		    vec_hex(json_object_get(c, "inputs"), "blob_hex", &blen);
		uint8_t shares[DMP_ERASURE_MAX_N * 128];
		uint8_t got[DMP_ERASURE_MAX_N * 128],
		    out[DMP_ERASURE_MAX_N * 128];
		const uint8_t *ptr[DMP_ERASURE_MAX_N], *msg;
		unsigned ids[DMP_ERASURE_MAX_N], k, n, held = 0;
		size_t mlen;

		is_int(dmp_erasure_pack(blob, blen, shares, sizeof(shares), &k,
					&n),
		       0, "%s: pack", d);
		is_int(k, (int)vec_int(c, "k"), "%s: k", d);
		is_int(n, (int)vec_int(c, "n"), "%s: n", d);
		is_int((long long)json_array_size(recs), n, "%s: n records", d);
		for (size_t r = 0; r < json_array_size(recs) && r < n; r++) {
			const json_t *rec = json_array_get(recs, r);
			uint8_t wire[W], want[W], hash[32], want_hash[32];
			char txt[300];

			is_int(vec_int(rec, "chunk_number"), (long long)r,
			       "%s: record %zu order", d, r);
			vec_hex_fixed(rec, "wrapped_hex", want, W);
			vec_hex_fixed(rec, "sha256_of_wrapped_hex", want_hash,
				      32);
			dmp_chunk_wrap(rs, shares + r * 128, wire);
			is_mem(wire, W, want, W, "%s: wire %zu", d, r);
			is_int(dmp_chunk_encode(rs, shares + r * 128, txt,
						sizeof(txt), hash),
			       (int)vec_int(rec, "txt_len"), "%s: txt_len %zu",
			       d, r);
			is_str(txt, vec_str(rec, "txt"), "%s: txt %zu", d, r);
			is_mem(hash, 32, want_hash, 32, "%s: hash %zu", d, r);
			/* Receive: unwrap the reference's TXT with its hash,
			 * keeping every other share from the top. */
			if (r % 2 == 1 || r >= n - k) {
				const char *t = vec_str(rec, "txt");

				if (dmp_chunk_unwrap(rs, t, strlen(t),
						     want_hash,
						     got + held * 128) == 0) {
					ids[held] = (unsigned)r;
					ptr[held] = got + held * 128;
					held++;
				}
			}
		}
		is_int(dmp_erasure_decode(k, n, 128, ptr, ids, held, out), 0,
		       "%s: decode from %u received shares", d, held);
		is_int(dmp_erasure_unpack(out, k, &msg, &mlen), 0, "%s: unpack",
		       d);
		is_mem(msg, mlen, blob, blen, "%s: blob round trip", d);
		free(blob);
	}
}

/* PROTOCOL.md 5.3 vector: 00..7f, H(wire). */
static void test_inline(struct dmp_rs *rs)
{
	uint8_t block[128], wire[W], h[32], want[32];

	for (size_t i = 0; i < sizeof(block); i++) {
		block[i] = (uint8_t)i;
	}
	if (dmp_hex_decode(want, 32,
			   "9e3e6fc1aa8725340fb0f3ab34fd77c839e2654377393e43"
			   "f033d9f604f8abf4",
			   64) != 0) {
		abort();
	}
	dmp_chunk_wrap(rs, block, wire);
	dmp_sha256(h, wire, W);
	is_mem(h, 32, want, 32, "5.3 vector: H(wire)");
}

/* Flip every bit of the wire: the hash check refuses each one first. */
static void test_bitflips(struct dmp_rs *rs)
{
	uint8_t block[128], wire[W], hash[32], blk[128];
	char txt[300];
	int bad = 0, repaired = 0, other = 0;

	for (size_t i = 0; i < sizeof(block); i++) {
		block[i] = (uint8_t)(i * 13 + 5);
	}
	dmp_chunk_wrap(rs, block, wire);
	dmp_sha256(hash, wire, W);
	for (size_t bit = 0; bit < W * 8; bit++) {
		int rc;

		wire[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		wire_txt(txt, sizeof(txt), wire, W);
		if (dmp_chunk_unwrap(rs, txt, strlen(txt), hash, blk) !=
		    DMP_ECHUNKHASH) {
			bad++;
		}
		/* Without the hash: RS repairs flips in block and parity,
		 * the checksum catches flips in its own 8 bytes. */
		rc = dmp_chunk_unwrap_repair(rs, txt, strlen(txt), blk, NULL);
		if (bit / 8 < 8) {
			other += rc != DMP_ECHECKSUM;
		} else {
			repaired += rc == 0 && memcmp(blk, block, 128) == 0;
		}
		wire[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "all %d bit flips refused with DMP_ECHUNKHASH", W * 8);
	is_int(repaired, (W - 8) * 8,
	       "no-hash path repairs every flip in "
	       "block or parity");
	is_int(other, 0, "flips in the checksum give DMP_ECHECKSUM");
}

/* Random corruption of bytes 8..167 on the no-hash path, many seeds. */
static void test_random_repair(struct dmp_rs *rs)
{
	int fix_bad = 0, fail_bad = 0, wrong = 0, runs = 0;

	for (uint64_t seed = 1; seed <= 2000; seed++) {
		uint8_t block[128], wire[W], bad[W], blk[128], hit[W];
		char txt[300];
		int nerr, rc, fixed;

		vec_rng_seed(seed * 0x9E3779B97F4A7C15ULL);
		for (size_t i = 0; i < sizeof(block); i++) {
			block[i] = (uint8_t)vec_rng();
		}
		dmp_chunk_wrap(rs, block, wire);
		for (int pass = 0; pass < 2; pass++) {
			memcpy(bad, wire, W);
			memset(hit, 0, W);
			nerr = pass == 0 ? 1 + (int)(seed % 16)
					 : 17 + (int)(seed % 30);
			for (int e = 0; e < nerr;) {
				size_t pos = 8 + vec_rng() % (W - 8);

				if (!hit[pos]) {
					hit[pos] = 1;
					bad[pos] ^=
					    (uint8_t)(1 + vec_rng() % 255);
					e++;
				}
			}
			wire_txt(txt, sizeof(txt), bad, W);
			rc = dmp_chunk_unwrap_repair(rs, txt, strlen(txt), blk,
						     &fixed);
			if (rc == 0 && memcmp(blk, block, 128) != 0) {
				wrong++; /* the one thing that must not happen
					  */
			}
			if (pass == 0 && (rc != 0 || fixed != nerr)) {
				fix_bad++;
			}
			if (pass == 1 && rc != DMP_ERSFAIL) {
				fail_bad++;
			}
		}
		runs++;
	}
	is_int(wrong, 0, "%d seeds: never a wrong block", runs);
	is_int(fix_bad, 0, "%d seeds: 1..16 corrupted bytes repaired", runs);
	is_int(fail_bad, 0, "%d seeds: 17..46 corrupted bytes -> DMP_ERSFAIL",
	       runs);
}

static void test_malformed(struct dmp_rs *rs)
{
	uint8_t block[128] = {0}, hash[32], blk[128], wire[W + 4];
	char txt[300], bad[3000];
	size_t len;

	is_int(dmp_chunk_encode(rs, block, txt, sizeof(txt), hash),
	       DMP_CHUNK_TXT_LEN, "encode");
	is_int(dmp_chunk_encode(rs, block, txt, DMP_CHUNK_TXT_LEN, hash),
	       DMP_ENOBUFS, "encode needs 242 bytes");
	dmp_chunk_encode(rs, block, txt, sizeof(txt), hash);
	len = strlen(txt);

	memcpy(bad, txt, len + 1);
	bad[9] = 'C'; /* v=dmp1;t=Chunk */
	is_int(dmp_chunk_unwrap(rs, bad, len, hash, blk), DMP_EPREFIX,
	       "wrong type");
	is_int(dmp_chunk_unwrap(rs, "v=dmp1;t=manifest;d=AAAA", 24, hash, blk),
	       DMP_EPREFIX, "manifest prefix");
	is_int(dmp_chunk_unwrap(rs, "v=dmp1;t=chunk", 14, hash, blk),
	       DMP_EPREFIX, "truncated prefix");
	memcpy(bad, txt, len + 1);
	bad[len - 10] = '*';
	is_int(dmp_chunk_unwrap(rs, bad, len, hash, blk), DMP_EBASE64,
	       "bad base64 character");
	is_int(dmp_chunk_unwrap(rs, txt, len - 1, hash, blk), DMP_EBASE64,
	       "truncated base64");
	is_int(dmp_chunk_unwrap(rs, txt, len - 4, hash, blk), DMP_ECHUNKHASH,
	       "truncated by one quantum: hash refuses");
	is_int(dmp_chunk_unwrap_repair(rs, txt, len - 4, blk, NULL),
	       DMP_EMALFORMED, "truncated wire without hash");
	memcpy(bad, txt, len);
	memcpy(bad + len, "AA==AAAA", 9);
	is_int(dmp_chunk_unwrap_repair(rs, bad, len + 8, blk, NULL),
	       DMP_EBASE64, "padding in the middle");
	/* 171 bytes: an oversize wire. */
	dmp_chunk_wrap(rs, block, wire);
	memset(wire + W, 0, 4);
	wire_txt(bad, sizeof(bad), wire, W + 3);
	is_int(dmp_chunk_unwrap(rs, bad, strlen(bad), hash, blk),
	       DMP_ECHUNKHASH, "oversize wire: hash refuses");
	is_int(dmp_chunk_unwrap_repair(rs, bad, strlen(bad), blk, NULL),
	       DMP_EMALFORMED, "oversize wire without hash");
	memset(bad, 'A', sizeof(bad));
	memcpy(bad, DMP_PREFIX_CHUNK, strlen(DMP_PREFIX_CHUNK));
	is_int(dmp_chunk_unwrap(rs, bad, 2049, hash, blk), DMP_ETOOBIG,
	       "over the 2048-byte value cap");
	is_int(dmp_chunk_unwrap(rs, txt, len, NULL, blk), DMP_EINVAL,
	       "dmp_chunk_unwrap needs a hash");
	hash[0] ^= 1;
	is_int(dmp_chunk_unwrap(rs, txt, len, hash, blk), DMP_ECHUNKHASH,
	       "wrong expected hash");
	{
		int z = 0;

		for (size_t i = 0; i < 128; i++) {
			z |= blk[i];
		}
		is_int(z, 0, "block zeroed on failure");
	}
}

/* Full path: message -> shares -> TXT; drop n-k chunks, corrupt one more
 * chunk (refused by hash), decode with the rest and n-k+1 losses fail. */
static void test_end_to_end(struct dmp_rs *rs)
{
	static const size_t sizes[] = {0, 100, 1024, 3584, 4092};

	for (size_t s = 0; s < DMP_ARRAY_LEN(sizes); s++) {
		static uint8_t msg[4096], shares[64 * 128], got[64 * 128],
		    out[64 * 128];
		static char txt[64][256];
		uint8_t hashes[64][32];
		const uint8_t *ptr[64], *m;
		unsigned ids[64], k, n, held = 0, lost = 0;
		size_t mlen;
		int rc;

		for (size_t i = 0; i < sizes[s]; i++) {
			msg[i] = (uint8_t)vec_rng();
		}
		if (dmp_erasure_pack(msg, sizes[s], shares, sizeof(shares), &k,
				     &n) != 0) {
			ok(0, "pack %zu", sizes[s]);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			rc = dmp_chunk_encode(rs, shares + i * 128, txt[i],
					      sizeof(txt[i]), hashes[i]);
			if (rc != DMP_CHUNK_TXT_LEN) {
				ok(0, "encode");
			}
		}
		/* Lose n-k chunks at random positions. */
		while (lost < n - k) {
			unsigned i = vec_rng() % n;

			if (txt[i][0]) {
				txt[i][0] = 0;
				lost++;
			}
		}
		for (unsigned i = 0; i < n; i++) {
			if (txt[i][0] &&
			    dmp_chunk_unwrap(rs, txt[i], strlen(txt[i]),
					     hashes[i],
					     got + held * 128) == 0) {
				ids[held] = i;
				ptr[held] = got + held * 128;
				held++;
			}
		}
		is_int(dmp_erasure_decode(k, n, 128, ptr, ids, held, out), 0,
		       "%zu bytes (k=%u,n=%u): decode after losing %u",
		       sizes[s], k, n, n - k);
		is_int(dmp_erasure_unpack(out, k, &m, &mlen), 0, "unpack");
		is_mem(m, mlen, msg, sizes[s], "%zu bytes round trip",
		       sizes[s]);
		is_int(dmp_erasure_decode(k, n, 128, ptr, ids, held - 1, out),
		       DMP_ESHARES, "%zu bytes: one more loss fails cleanly",
		       sizes[s]);
	}
}

int main(void)
{
	json_t *rsv = vec_load("rs_chunk.json");
	json_t *cr = vec_load("chunk_records.json");
	struct dmp_rs *rs = NULL;

	plan(282);
	if (!ok(dmp_rs_new(&rs) == 0, "dmp_rs_new")) {
		return done_testing();
	}
	test_encode_cases(rs, json_object_get(rsv, "encode_cases"));
	test_decode_cases(rs, json_object_get(rsv, "decode_cases"));
	test_unwrap_cases(rs, json_object_get(rsv, "unwrap_cases"));
	test_records(rs, json_object_get(cr, "cases"));
	test_inline(rs);
	test_bitflips(rs);
	test_random_repair(rs);
	test_malformed(rs);
	test_end_to_end(rs);
	dmp_rs_free(rs);
	json_decref(rsv);
	json_decref(cr);
	return done_testing();
}
