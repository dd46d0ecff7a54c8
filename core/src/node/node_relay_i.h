/*
 * core/src/node/node_relay_i.h - private parts of DMP-RELAY/1 bundles
 * (dmp/relay.h): shared by the JSON codec (node_relay_json.c) and the
 * checks (node_relay_bundle.c).
 */
#ifndef DMP_NODE_RELAY_I_H
#define DMP_NODE_RELAY_I_H

#include <stddef.h>

/** Format a reason into @p why (if not NULL and @p cap > 0) and return
 * @p rc. */
int dmp_nr_say(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** 1 (the reason in @p why) if @p max_bytes is outside
 * DMP_RELAY_BYTES_MIN..DMP_RELAY_BYTES_MAX, else 0. */
int dmp_nr_limit_bad(size_t max_bytes, char *why, size_t why_cap);

#endif /* DMP_NODE_RELAY_I_H */
