/*
 * core/src/dns/tsig_replay.c - the cache of request MACs seen (RFC 8945
 * 5.2.3 leaves replay within the fudge window to the server). A signed
 * request verifies again and again for time_signed +- fudge; the node
 * records the MAC of each one it accepts and refuses a second sighting.
 *
 * Fixed memory: an open-addressing table of 2^k slots, each holding a MAC
 * prefix and the second it stops mattering (time_signed + fudge; after that
 * dmp_tsig_verify() says BADTIME anyway). A MAC is looked for, and stored,
 * in a window of DMP_TSIG_REPLAY_PROBE slots from its keyed hash (SipHash
 * with a key drawn at creation, so that a key holder grinding MACs cannot
 * aim at one window); a slot whose entry has expired is free. When the
 * window holds no free slot the cache is full there and the request is
 * refused (fail safe: an entry still in its window is never forgotten).
 * Not locked: its one user, the node's UPDATE path, holds wlock.
 * Written here because no Debian-packaged library offers an expiring
 * fixed-size set; it is ~100 lines over libsodium's SipHash.
 */
#include <string.h>

#include <sodium.h>

#include "dmp/buf.h"
#include "dmp/common.h"
#include "dmp/err.h"

#include "dns/tsig.h"

/* 16 bytes of a 32-byte HMAC-SHA256: a chance collision is 2^-128. */
#define PREFIX 16

struct slot {
	uint8_t mac[PREFIX];
	uint64_t exp; /* first second it no longer matters; 0: unused */
};

struct dmp_tsig_replay {
	struct slot *s;
	size_t mask;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

int dmp_tsig_replay_new(struct dmp_tsig_replay **out, unsigned log2_slots)
{
	struct dmp_tsig_replay *r;

	*out = NULL;
	if (log2_slots < 6 || log2_slots > 24) {
		return DMP_EINVAL;
	}
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return DMP_ENOMEM;
	}
	r->s = dmp_calloc((size_t)1 << log2_slots, sizeof(*r->s));
	if (!r->s) {
		dmp_free(r);
		return DMP_ENOMEM;
	}
	r->mask = ((size_t)1 << log2_slots) - 1;
	crypto_shorthash_keygen(r->hkey);
	*out = r;
	return 0;
}

void dmp_tsig_replay_free(struct dmp_tsig_replay *r)
{
	if (r) {
		dmp_free(r->s);
		sodium_memzero(r->hkey, sizeof(r->hkey));
		dmp_free(r);
	}
}

int dmp_tsig_replay_check(struct dmp_tsig_replay *r,
			  const struct dmp_tsig_rr *ts, uint64_t now)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct slot *free_slot = NULL;
	size_t at;

	if (ts->mac_len < PREFIX) {
		return DMP_EINVAL; /* dmp_tsig_verify() takes none */
	}
	crypto_shorthash(h, ts->mac, PREFIX, r->hkey);
	at = (size_t)dmp_load_u32(h) & r->mask;
	/* The whole window: a match may sit past a free slot. */
	for (size_t i = 0; i < DMP_TSIG_REPLAY_PROBE; i++) {
		struct slot *s = &r->s[(at + i) & r->mask];

		if (s->exp > now) {
			if (sodium_memcmp(s->mac, ts->mac, PREFIX) == 0) {
				return DMP_EREPLAY;
			}
		} else if (!free_slot) {
			free_slot = s;
		}
	}
	if (!free_slot) {
		return DMP_ENOSPC;
	}
	memcpy(free_slot->mac, ts->mac, PREFIX);
	/* dmp_tsig_verify() takes it until time_signed + fudge. */
	free_slot->exp = ts->time_signed + ts->fudge + 1;
	return 0;
}
