/*
 * core/include/dmp/store.h - the client's local state in one sqlite3
 * database (mode 0600): identity (salt and public check value only),
 * contacts, prekey secrets (sealed), the outbox queue with its prepared
 * records, the replay cache, received-message index, resolver stats.
 *
 * Safe for several processes at once (the CLI and dmpfs): WAL mode, a busy
 * timeout, and every multi-row change in one transaction. A crash at any
 * point leaves either the old or the new state.
 *
 * Thread-safety: one handle per thread.
 */
#ifndef DMP_STORE_H
#define DMP_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dmp/common.h"

struct dmp_store; /* opaque */

/**
 * Open (creating if needed, mode 0600) and migrate the database at @p path.
 * @param[out] out  new handle (dmp_store_close()); NULL on failure
 * @return 0, DMP_ESTORE (cannot open, corrupt, newer schema) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_store_open(struct dmp_store **out, const char *path);
void dmp_store_close(struct dmp_store *st); /* NULL: no-op */

/*
 * Commit structure (issue 19). By default every commit is durable when it
 * returns (sqlite WAL, synchronous=FULL: an fdatasync of the WAL each).
 * Between dmp_store_relax(st, 1) and dmp_store_relax(st, 0) (they nest)
 * commits are only ordered (synchronous=NORMAL): a kill -9 loses none of
 * them, a power failure may lose the newest ones, never one without those
 * before it (the WAL is replayed as a prefix). dmp_store_sync() makes
 * every commit so far durable with one fdatasync of the WAL;
 * dmp_store_outbox_add() calls it itself when relaxed, so a queued message
 * is durable when it returns. Not for use by two threads at once on one
 * handle (the engine's rule anyway).
 */
void dmp_store_relax(struct dmp_store *st, int on);
DMP_MUST_CHECK int dmp_store_sync(struct dmp_store *st);
/**
 * Several writes as one commit (issue 19: a publish batch's state
 * changes): BEGIN IMMEDIATE, then dmp_store_tx_end() with @p commit 1
 * (COMMIT) or 0 (ROLLBACK). Only calls that open no transaction of their
 * own go in between (the outbox state and record marks, reads).
 * @return 0, DMP_EBUSY (another writer past the 10 s busy timeout),
 *         DMP_ENOSPC or DMP_ESTORE; a failed begin leaves no transaction
 */
DMP_MUST_CHECK int dmp_store_tx_begin(struct dmp_store *st);
int dmp_store_tx_end(struct dmp_store *st, int commit);

/**
 * Key used to seal secret columns (prekey secrets). Derived by the caller
 * from the identity secret, so a copied database alone reveals nothing.
 * Copied into locked memory; wiped on close.
 */
int dmp_store_set_seal_key(struct dmp_store *st, const uint8_t key[32]);

/** Last error text from sqlite for logs (borrowed until the next call). */
const char *dmp_store_errmsg(const struct dmp_store *st);

/* ---- identity --------------------------------------------------------- */

struct dmp_store_identity {
	char username[65];
	char domain[254]; /* mesh zone the identity is published in */
	uint8_t salt[64];
	size_t salt_len;
	uint8_t x25519_pk[DMP_X25519_BYTES]; /* passphrase check value */
	uint8_t ed25519_pk[DMP_ED25519_PK_BYTES];
	int64_t created;
	int64_t published; /* last successful publish, 0 = never */
};

/** @return 0, DMP_ENOENT (no identity yet) or DMP_ESTORE */
DMP_MUST_CHECK int dmp_store_identity_get(struct dmp_store *st,
					  struct dmp_store_identity *out);
/** Create or replace the single identity row. */
int dmp_store_identity_put(struct dmp_store *st,
			   const struct dmp_store_identity *id);
int dmp_store_identity_set_published(struct dmp_store *st, int64_t when);

/* ---- contacts ---------------------------------------------------------- */

struct dmp_store_contact {
	char alias[65];
	char address[320]; /* user@zone, or bare username */
	char username[65];
	char domain[254];
	uint8_t x25519_pk[DMP_X25519_BYTES];
	uint8_t ed25519_pk[DMP_ED25519_PK_BYTES];
	uint32_t versions; /* bit v set: protocol version v advertised */
	int blocked;
	int64_t pinned_at;
	char pinned_how[32]; /* "fetched", "fingerprint", "manual" */
	/* Rotation walk (PROTOCOL.md 8): the key before the last rotation
	 * followed and when (0: never rotated); revoked: the 2.10 reason of
	 * a revocation of the pinned key (1..4), 0 while it is valid. */
	uint8_t prev_ed25519_pk[DMP_ED25519_PK_BYTES];
	int64_t rotated_at;
	int revoked;
};

/** Add or replace (by alias). @return 0 or DMP_ESTORE */
int dmp_store_contact_put(struct dmp_store *st,
			  const struct dmp_store_contact *c);
/** Find by alias, then by address. @return 0, DMP_ENOENT or DMP_ESTORE */
DMP_MUST_CHECK int dmp_store_contact_get(struct dmp_store *st, const char *name,
					 struct dmp_store_contact *out);
/** @return 0, DMP_ENOENT or DMP_ESTORE */
int dmp_store_contact_remove(struct dmp_store *st, const char *alias);
int dmp_store_contact_set_blocked(struct dmp_store *st, const char *alias,
				  int blocked);
/** Find the contact whose signing key is @p spk. */
DMP_MUST_CHECK int dmp_store_contact_by_key(struct dmp_store *st,
					    const uint8_t spk[32],
					    struct dmp_store_contact *out);

typedef int (*dmp_store_contact_fn)(const struct dmp_store_contact *c,
				    void *ud);
/** Call @p fn for every contact in alias order; stops at a non-zero return. */
int dmp_store_contact_each(struct dmp_store *st, dmp_store_contact_fn fn,
			   void *ud);
/**
 * As dmp_store_contact_each(), for listings whose names become file names
 * (dmpfs contacts/): a contact whose alias breaks the alias rules
 * (dmp/alias.h: an older version accepted "a/b" or ".x") is skipped with a
 * logged warning that says how to rename or remove it, so the listing
 * never fails on it. The contact itself still works.
 */
int dmp_store_contact_each_valid(struct dmp_store *st, dmp_store_contact_fn fn,
				 void *ud);
/** Rename alias @p from to @p to (not checked against the alias rules).
 *  @return 0, DMP_ENOENT (no @p from), DMP_EEXIST (@p to taken) or
 *  DMP_ESTORE */
int dmp_store_contact_rename(struct dmp_store *st, const char *from,
			     const char *to);

/* ---- our previous identity keys (rotation; store_keys.c) --------------- */

struct dmp_store_old_key {
	uint8_t ed25519_pk[DMP_ED25519_PK_BYTES];
	uint8_t x25519_pk[DMP_X25519_BYTES];
	int64_t rotated_at;
};

/**
 * Switch the identity to a rotated key in one transaction: the current
 * identity's secret @p old_xsk is kept (sealed with @p new_seal_key), every
 * sealed secret (prekeys, older keys) is sealed again with @p new_seal_key,
 * the identity row becomes @p id, the key/value pairs @p kv (key, value,
 * ..., NULL) are set, and the store's seal key is replaced.
 * @return 0, DMP_EINVAL (no seal key yet), DMP_EDECRYPT or DMP_ESTORE
 */
int dmp_store_identity_rotate(struct dmp_store *st,
			      const struct dmp_store_identity *id,
			      const struct dmp_store_old_key *old,
			      const uint8_t old_xsk[DMP_X25519_BYTES],
			      const uint8_t new_seal_key[32],
			      const char *const *kv);
/** Our previous keys rotated at or after @p since, newest first, at most
 *  @p cap. @return how many, or DMP_ESTORE */
int dmp_store_old_keys(struct dmp_store *st, int64_t since,
		       struct dmp_store_old_key *out, size_t cap);
/** The secret of previous key @p ed25519_pk (caller wipes it).
 *  @return 0, DMP_ENOENT, DMP_EDECRYPT, DMP_EINVAL or DMP_ESTORE */
DMP_MUST_CHECK int dmp_store_old_key_secret(struct dmp_store *st,
					    const uint8_t ed25519_pk[32],
					    uint8_t xsk[DMP_X25519_BYTES]);

/* ---- prekeys (our own, secrets sealed with the seal key) --------------- */

/** @return 0, DMP_EEXIST (id in use), DMP_EINVAL (no seal key), DMP_ESTORE */
int dmp_store_prekey_put(struct dmp_store *st, uint32_t id,
			 const uint8_t secret[DMP_X25519_BYTES], uint64_t exp,
			 const char *wire);
/**
 * Unseal the secret of prekey @p id if it has not expired at @p now.
 * @return 0, DMP_ENOPREKEY, DMP_EDECRYPT (wrong seal key) or DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_store_prekey_get(struct dmp_store *st, uint32_t id,
					int64_t now,
					uint8_t secret[DMP_X25519_BYTES]);
/**
 * Delete prekey @p id (after a successful decrypt).
 * @param[out] wire  if not NULL, the published TXT value (for the DNS
 *                   delete), at most @p wire_cap bytes with NUL
 */
int dmp_store_prekey_consume(struct dmp_store *st, uint32_t id, char *wire,
			     size_t wire_cap);
/** Number of unexpired prekeys at @p now. */
int dmp_store_prekey_count(struct dmp_store *st, int64_t now);
/** Delete prekeys expired before @p now; returns how many. */
int dmp_store_prekey_reap(struct dmp_store *st, int64_t now);

/* ---- outbox ------------------------------------------------------------ */

enum dmp_outbox_state {
	DMP_OUTBOX_QUEUED = 0,
	DMP_OUTBOX_PUBLISHING = 1,
	DMP_OUTBOX_PUBLISHED = 2,
	DMP_OUTBOX_FAILED = 3,
	/* In its undo-send window: publish() waits until next_attempt, and
	 * dmp_store_outbox_withdraw() can still take it back. */
	DMP_OUTBOX_HELD = 4,
};

/** One DNS record the publisher must write. Chunks first, then manifest. */
struct dmp_outbox_record {
	const char *name;  /* owner name */
	const char *value; /* TXT value */
	uint32_t ttl;
};

struct dmp_outbox_msg {
	int64_t id; /* local queue id */
	uint8_t msg_id[DMP_MSG_ID_BYTES];
	char recipient[320];
	enum dmp_outbox_state state;
	int attempts;
	int64_t created;
	int64_t next_attempt;
	uint64_t expires; /* manifest exp: pointless to publish after */
	size_t body_len;
	int n_records;
	int n_published;
	char last_error[256];
	/* A multi-part part (its body starts "DMP-PART/1 id=..."): the
	 * whole's id, 32 hex; "" for a message of its own. */
	char whole[33];
};

/**
 * Queue one prepared message with all its records in one transaction.
 * Once this returns 0 the message is durable and will be published
 * exactly as prepared (a retry never re-encrypts).
 * @param[out] queue_id  local id
 * @return 0, DMP_EEXIST (msg_id already queued), DMP_ENOSPC, DMP_ESTORE,
 *         DMP_EIO (queued, but the sync failed: relaxed, store.h above)
 */
DMP_MUST_CHECK int dmp_store_outbox_add(struct dmp_store *st,
					const uint8_t msg_id[DMP_MSG_ID_BYTES],
					const char *recipient, size_t body_len,
					const uint8_t *body,
					const struct dmp_outbox_record *recs,
					int n_recs, uint64_t expires,
					int64_t now, int64_t *queue_id);
/**
 * The one exception to "published exactly as prepared": after our key was
 * rotated, queued message @p queue_id (not being published, not
 * published) gets @p recs, encoded again under the new key, in place of
 * its records (none published any more) and the expiry @p expires.
 * @return 0, DMP_EBUSY (being published or gone), DMP_ESTORE
 */
DMP_MUST_CHECK int
dmp_store_outbox_reencoded(struct dmp_store *st, int64_t queue_id,
			   const struct dmp_outbox_record *recs, int n_recs,
			   uint64_t expires);

typedef int (*dmp_store_outbox_fn)(const struct dmp_outbox_msg *m, void *ud);
/** Messages in a state other than published, oldest first. */
int dmp_store_outbox_each_pending(struct dmp_store *st, dmp_store_outbox_fn fn,
				  void *ud);
/* Every queue row with id > @p after_id, oldest first (the sent/ copies,
 * engine_sent.c); the highest id ever queued (0 for none). */
DMP_MUST_CHECK int dmp_store_outbox_each_after(struct dmp_store *st,
					       int64_t after_id,
					       dmp_store_outbox_fn fn,
					       void *ud);
DMP_MUST_CHECK int dmp_store_outbox_max_id(struct dmp_store *st, int64_t *id);
DMP_MUST_CHECK int dmp_store_outbox_get(struct dmp_store *st, int64_t queue_id,
					struct dmp_outbox_msg *out);

typedef int (*dmp_store_record_fn)(int seq, const char *name, const char *value,
				   uint32_t ttl, int published, void *ud);
/** The message's records in publish order. */
int dmp_store_outbox_records(struct dmp_store *st, int64_t queue_id,
			     dmp_store_record_fn fn, void *ud);
/** Mark records @p first..@p last (seq, inclusive) published, in one
 *  transaction. @return 0 or DMP_ESTORE */
int dmp_store_outbox_records_done(struct dmp_store *st, int64_t queue_id,
				  int first, int last);
/** Put @p m's row back as the snapshot @p m has it (state, attempts,
 *  next attempt, last error): a message a publish batch took but did not
 *  try (it waits behind an older one). @return 0, DMP_ENOENT or
 *  DMP_ESTORE */
int dmp_store_outbox_restore(struct dmp_store *st,
			     const struct dmp_outbox_msg *m);
/**
 * Record an attempt's outcome.
 * @param state        new state
 * @param next_attempt when to retry (for queued)
 * @param error        last error text, or NULL
 */
int dmp_store_outbox_set_state(struct dmp_store *st, int64_t queue_id,
			       enum dmp_outbox_state state,
			       int64_t next_attempt, const char *error);
/**
 * Cut the backoff short (flush): messages tried at least once and waiting
 * for a retry after @p now become due at @p now. With @p only_error, only
 * those whose last attempt failed with that text. Messages never tried
 * keep their time (an undo-send window is not cut short).
 * @return how many, or DMP_ESTORE
 */
int dmp_store_outbox_kick(struct dmp_store *st, int64_t now,
			  const char *only_error);
/** Remove a queued message (cancel); a part of a multi-part file takes
 *  the unpublished rest of the file with it. @return 0, DMP_ENOENT,
 *  DMP_ESTORE */
int dmp_store_outbox_cancel(struct dmp_store *st, int64_t queue_id);
/**
 * Hold queued message @p queue_id until @p until (unix seconds): the
 * undo-send window. Only a message never tried yet can be held. A part
 * of a multi-part file holds every part of the file not tried yet
 * (dmp_store_outbox_hold_one: that part only).
 * @return 0, DMP_EBUSY (publishing already started), DMP_ESTORE
 */
int dmp_store_outbox_hold(struct dmp_store *st, int64_t queue_id,
			  int64_t until);
int dmp_store_outbox_hold_one(struct dmp_store *st, int64_t queue_id,
			      int64_t until);
/**
 * Take back a message still held in its undo-send window (a part of a
 * multi-part file: every held part of the file), atomically
 * against the publisher (which marks it publishing first).
 * @return 0, DMP_EBUSY (no longer held: publishing started or done),
 *         DMP_ESTORE
 */
int dmp_store_outbox_withdraw(struct dmp_store *st, int64_t queue_id);
/**
 * Let held message @p queue_id go at @p when (its hold cut short or
 * moved; it stays "held" until publish() takes it). Multi-part wholes
 * queue every part held, then release them all, so a crash while queueing
 * never publishes part of a whole.
 * @return 0, DMP_EBUSY (not held), DMP_ESTORE
 */
int dmp_store_outbox_release(struct dmp_store *st, int64_t queue_id,
			     int64_t when);
/**
 * The earliest time a queued, retrying or held message is due, in
 * *@p when (0: none waiting). @return 0 or DMP_ESTORE
 */
int dmp_store_outbox_next_due(struct dmp_store *st, int64_t *when);
/** "queued", "publishing", "published", "failed", "held" (view.c). */
const char *dmp_outbox_state_name(enum dmp_outbox_state s);
/**
 * How many chunk records queued message @p queue_id has, and how many of
 * them are published (for queue/<id> in dmpfs; view.c).
 * @return 0 or DMP_ESTORE
 */
int dmp_store_outbox_chunks(struct dmp_store *st, int64_t queue_id, int *chunks,
			    int *published);
/** Copy of the plaintext body (dmp_free()). */
DMP_MUST_CHECK int dmp_store_outbox_body(struct dmp_store *st, int64_t queue_id,
					 uint8_t **body, size_t *len);
/**
 * Queued message @p queue_id as key=value lines (id, msg_id, state,
 * recipient, sizes, attempts, times in Unix seconds and ISO 8601,
 * last_error) and, for a failed one, a blank line and its text: dmpfs's
 * queue/<id> and `dmp queue show` (view.c). @p created: its creation time
 * (may be NULL).
 * @return 0, DMP_ENOENT (none, or published), DMP_ESTORE
 */
int dmp_store_outbox_render(struct dmp_store *st, int64_t queue_id, FILE *f,
			    int64_t *created);
/** The parts of multi-part whole @p whole (32 hex, dmp_outbox_msg.whole)
 *  in the queue, and how many of them are published. */
int dmp_store_outbox_whole(struct dmp_store *st, const char *whole, int *parts,
			   int *published);
/** The queue ids of the parts of multi-part whole @p whole, in order
 *  (*ids dmp_malloc'd), and how many are published. */
int dmp_store_outbox_file_ids(struct dmp_store *st, const char *whole,
			      int64_t **ids, size_t *n, size_t *published);
/** Why message @p m is not published at @p now, in words: held until
 *  TIME, the last error and the next attempt, queued behind an older
 *  message to the same recipient, ... (view.c) */
void dmp_store_outbox_why(struct dmp_store *st, const struct dmp_outbox_msg *m,
			  int64_t now, char *out, size_t cap);

/* ---- replay cache (PROTOCOL.md 4.7) ------------------------------------- */

/**
 * Claim (sender_spk, msg_id) before fetching. An in-flight claim older
 * than 300 s is stale and may be taken over.
 * @return 0 (claimed), DMP_EREPLAY (already received) or DMP_EBUSY
 *         (another worker holds it)
 */
DMP_MUST_CHECK int dmp_store_replay_claim(struct dmp_store *st,
					  const uint8_t spk[32],
					  const uint8_t msg_id[16],
					  uint64_t exp, int64_t now);
/** Drop an in-flight claim after a failed fetch or decrypt. */
int dmp_store_replay_release(struct dmp_store *st, const uint8_t spk[32],
			     const uint8_t msg_id[16]);
/** Mark seen (after a successful decrypt). Kept until @p exp. */
int dmp_store_replay_finalize(struct dmp_store *st, const uint8_t spk[32],
			      const uint8_t msg_id[16], uint64_t exp);
/** 1 if the pair was already received. */
int dmp_store_replay_seen(struct dmp_store *st, const uint8_t spk[32],
			  const uint8_t msg_id[16]);
/** Forget entries whose exp is before @p now. */
int dmp_store_replay_reap(struct dmp_store *st, int64_t now);

/* ---- key/value settings ------------------------------------------------ */

int dmp_store_kv_set(struct dmp_store *st, const char *key, const char *value);
/** @return 0, DMP_ENOENT, DMP_ENOBUFS or DMP_ESTORE */
DMP_MUST_CHECK int dmp_store_kv_get(struct dmp_store *st, const char *key,
				    char *out, size_t cap);

/* ---- contacts' prekeys: verified public halves for submit() ------------ */

struct dmp_store_contact_prekey {
	uint32_t prekey_id;
	uint8_t x25519_pk[DMP_X25519_BYTES];
	uint64_t exp;
};

/** Replace the cached prekeys of the contact whose key is @p spk (one
 *  transaction). @return 0 or DMP_ESTORE */
int dmp_store_contact_prekeys_replace(struct dmp_store *st,
				      const uint8_t spk[32],
				      const struct dmp_store_contact_prekey *pk,
				      size_t n);
/** A random cached, unused prekey of @p spk with exp >= @p min_exp.
 *  @return 0, DMP_ENOENT or DMP_ESTORE */
DMP_MUST_CHECK int
dmp_store_contact_prekey_pick(struct dmp_store *st, const uint8_t spk[32],
			      int64_t min_exp,
			      struct dmp_store_contact_prekey *out);
/** Mark one cached prekey used: pick() never offers it again, even after
 *  a refresh re-reads it from DNS (one-time keys). Kept until its exp. */
int dmp_store_contact_prekey_drop(struct dmp_store *st, const uint8_t spk[32],
				  uint32_t prekey_id);
/** Number of cached prekeys of @p spk unexpired at @p now. */
int dmp_store_contact_prekey_count(struct dmp_store *st, const uint8_t spk[32],
				   int64_t now);

/* ---- planned deliveries (exactly-once Maildir writes) ------------------ */

/** Folder and file name planned for (spk, msg_id).
 *  @return 0, DMP_ENOENT or DMP_ESTORE */
DMP_MUST_CHECK int dmp_store_delivery_get(struct dmp_store *st,
					  const uint8_t spk[32],
					  const uint8_t msg_id[16],
					  char *folder, size_t folder_cap,
					  char *file, size_t file_cap);
/** Record the plan before writing the file. Kept until @p exp.
 *  @return 0, DMP_EEXIST or DMP_ESTORE */
int dmp_store_delivery_put(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], const char *folder,
			   const char *file, uint64_t exp);

/* ---- slot values already judged (no re-fetch, no repeated events) ------- */

/** @return 1 if (@p name, @p hash) was judged, 0 if not, or DMP_ESTORE */
int dmp_store_seen_value(struct dmp_store *st, const char *name,
			 const uint8_t hash[32]);
int dmp_store_seen_value_put(struct dmp_store *st, const char *name,
			     const uint8_t hash[32], uint64_t exp);
/** Drop expired contact prekeys, deliveries and judged values. */
int dmp_store_cache_reap(struct dmp_store *st, int64_t now);

/* ---- discovered storage nodes (PROTOCOL.md 2.8, 8; see peers.h) --------- */

/** One node known from a verified heartbeat, keyed by (operator_spk,
 *  endpoint). */
struct dmp_store_peer {
	char endpoint[256]; /* http(s)://host[:port] */
	uint8_t operator_spk[DMP_ED25519_PK_BYTES];
	char version[33];
	uint16_t capabilities;
	char claim_provider_zone[65];
	uint64_t hb_ts;	    /* newest verified heartbeat's ts */
	uint64_t hb_exp;    /* and its exp */
	int64_t first_seen; /* local clock */
	int64_t last_seen;  /* last refresh that verified a heartbeat */
	char source[300];   /* owner name the newest heartbeat came from */
	int failures;	    /* refreshes since last_seen that missed it */
	int last_err;	    /* dmp code of the last miss, 0 */
	char last_error[256];
};

/**
 * Record a verified sighting: insert, or update an existing row (the
 * heartbeat fields and source only if @p p->hb_ts is not older than the
 * stored one; first_seen is kept). Clears failures.
 * @return 0, DMP_ENOSPC or DMP_ESTORE
 */
int dmp_store_peer_seen(struct dmp_store *st, const struct dmp_store_peer *p);
/**
 * Count a miss for every peer whose source is @p source and that was not
 * seen at @p now or later.
 * @param err   dmp code of the miss (network error, or DMP_ENOENT when the
 *              name answered without a fresh heartbeat of the peer)
 * @return number of peers updated, or DMP_ESTORE
 */
int dmp_store_peer_fail(struct dmp_store *st, const char *source, int64_t now,
			int err, const char *text);
typedef int (*dmp_store_peer_fn)(const struct dmp_store_peer *p, void *ud);
/** Every peer, newest heartbeat first; stops at a non-zero return. */
int dmp_store_peer_each(struct dmp_store *st, dmp_store_peer_fn fn, void *ud);
/** Delete peers whose heartbeat expired before @p before; returns how
 *  many. */
int dmp_store_peer_reap(struct dmp_store *st, int64_t before);

/* ---- measured relay round trips (docs/protocol.md 8.7.8) ---------------- */

/** Relay RTT rows kept (the most recently updated). */
#define DMP_STORE_RELAY_RTT_ROWS 64
/** A relay RTT sample older than this (seconds) is ignored. */
#define DMP_STORE_RELAY_RTT_MAX_AGE (7 * 86400)
/** RFC 6298 SRTT with alpha 1/8: @p srtt 0 (none) takes @p sample; the
 *  result is at least 1 (0 means unmeasured). */
uint32_t dmp_store_srtt_next(uint32_t srtt, uint32_t sample);
/**
 * The smoothed RTT of relay @p url, if updated within
 * DMP_STORE_RELAY_RTT_MAX_AGE of @p now.
 * @return 0 (in @p srtt_ms), DMP_ENOENT or DMP_ESTORE
 */
int dmp_store_relay_rtt_get(struct dmp_store *st, const char *url, int64_t now,
			    uint32_t *srtt_ms);
/**
 * Fold a round trip of @p sample_ms to @p url into its SRTT (a stored one
 * too old starts over), stamped @p now, then keep only the
 * DMP_STORE_RELAY_RTT_ROWS most recently updated rows. @p srtt_ms (may be
 * NULL) gets the new SRTT. @return 0, DMP_ENOSPC or DMP_ESTORE
 */
int dmp_store_relay_rtt_add(struct dmp_store *st, const char *url,
			    uint32_t sample_ms, int64_t now, uint32_t *srtt_ms);

#endif /* DMP_STORE_H */
