/*
 * core/src/node/node_relay_i.h - private parts of DMP-RELAY/1 bundles
 * (dmp/relay.h): shared by the JSON codec (node_relay_json.c) and the
 * checks (node_relay_bundle.c).
 */
#ifndef DMP_NODE_RELAY_I_H
#define DMP_NODE_RELAY_I_H

#include <stddef.h>
#include <stdint.h>

/** Format a reason into @p why (if not NULL and @p cap > 0) and return
 * @p rc. */
int dmp_nr_say(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** 1 (the reason in @p why) if @p max_bytes is outside
 * DMP_RELAY_BYTES_MIN..DMP_RELAY_BYTES_MAX, else 0. */
int dmp_nr_limit_bad(size_t max_bytes, char *why, size_t why_cap);

/* ---- the duplicate cache of bundle ids (node_relay_dup.c) ----
 * At most @p max ids, each kept until its expiry (the bundle's latest
 * record expiry); when full the oldest added goes first. Thread-safe
 * (one mutex, a leaf lock). */
struct dmp_nrd;
/** @p max 1..DMP_NODE_RELAY_DUP_MAX. @return 0, DMP_EINVAL, DMP_ENOMEM */
int dmp_nrd_new(struct dmp_nrd **out, size_t max);
void dmp_nrd_free(struct dmp_nrd *d);
/** 1 if @p id (32 lower-case hex) is held and not expired at @p now_s,
 * else 0 (also for an id that is not 32 hex). */
int dmp_nrd_seen(struct dmp_nrd *d, const char *id, uint64_t now_s);
/** Remember @p id until @p exp_s (an id held already gets the later
 * expiry). @return 0 or DMP_EINVAL (not 32 hex) */
int dmp_nrd_add(struct dmp_nrd *d, const char *id, uint64_t exp_s,
		uint64_t now_s);
/** Ids held (expired ones not yet dropped included). */
size_t dmp_nrd_count(struct dmp_nrd *d);

#endif /* DMP_NODE_RELAY_I_H */
