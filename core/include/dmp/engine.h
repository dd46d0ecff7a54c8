/*
 * core/include/dmp/engine.h - the client engine shared by `dmp` and dmpfs.
 *
 * The engine owns a DMP home directory (DMP_HOME, default ~/.dmp):
 *
 *   config.yaml          client config (dmp.yaml(5)); unknown keys are errors
 *   state.db             the client store (store.h), mode 0600
 *   mail/inbox/{tmp,new,cur}   Maildir of messages from pinned contacts
 *   mail/intro/{tmp,new,cur}   Maildir of first-contact messages
 *   mail/sent/{tmp,new,cur}    Maildir of published messages
 *   events.log           append-only event log, one line per event
 *
 * Send is split in two so that "accepted" means "durable": submit()
 * encrypts and encodes once, stores the prepared records in one
 * transaction and returns without touching the network; publish() writes
 * queued records to the nodes and may be retried forever (the same
 * records every time, so a crash never sends a message twice).
 *
 * Receive is poll(): one pass over claims and slots (PROTOCOL.md 6.4), all
 * queries for the pass in flight at once. A verified message is written to
 * the Maildir (tmp -> fsync -> rename into new) before its replay entry is
 * finalised, under a file name recorded in the store first, so a crash at
 * any point delivers it exactly once.
 *
 * Thread-safety: one engine per thread (dmp_engine_open_sibling() gives
 * another thread its own handle without a second Argon2id run); several
 * handles and processes may open the same home at once (the store
 * serialises them).
 */
#ifndef DMP_ENGINE_H
#define DMP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/registration.h"

struct dmp_engine; /* opaque */

/** Default lifetime of a sent message: store-and-forward for 7 days. */
#define DMP_ENGINE_DEFAULT_LIFETIME 604800u
/** Largest message body (one DMP message with the node's 2048-byte cap). */
#define DMP_ENGINE_MAX_BODY 3600u

enum dmp_event_kind {
	DMP_EV_QUEUED,	   /* submit() accepted a message */
	DMP_EV_PUBLISHED,  /* all records of a message written */
	DMP_EV_RETRY,	   /* publishing failed, will retry (detail: why) */
	DMP_EV_FAILED,	   /* publishing gave up (expired) */
	DMP_EV_RECEIVED,   /* delivered to inbox */
	DMP_EV_INTRO,	   /* delivered to intro (sender not pinned) */
	DMP_EV_REJECTED,   /* a record or message refused (code: why) */
	DMP_EV_CONTACT,	   /* contact pinned, unpinned or blocked */
	DMP_EV_IDENTITY,   /* identity or prekeys published */
	DMP_EV_STATE,	   /* online / degraded / offline changed */
	DMP_EV_CLAMPED,	   /* lifetime clamped to what the node accepts */
	DMP_EV_CLAIM,	   /* first-contact claim sent or not (6.3) */
	DMP_EV_CANCELLED,  /* a queued message cancelled (dmp_engine_cancel) */
	DMP_EV_PREKEYS,	   /* a contact's prekeys could not be read (code:
			      why); with msg_id: that message goes without
			      forward secrecy */
	DMP_EV_UNREADABLE, /* mailbox slots could not be read (truncated,
			      SERVFAIL, REFUSED, no answer): mail may be
			      waiting there unseen. detail: how many, the
			      first name, where it was asked and why; code
			      0 once every slot reads again */
	DMP_EV_FLUSH,	   /* the queue's backoff was cut short (dmp flush,
			      or the node seen working again) */
	DMP_EV_CONFIG,	   /* config.yaml reloaded (detail: what changed,
			      what waits for the next start) or refused */
	DMP_EV_RECEIPT,	   /* a delivery receipt sent (peer: to whom) or
			      received (msg_id: the message it confirms) */
	DMP_EV_RELAYED,	   /* the home node did not answer and a relay
			      took the message (detail: relay, reply,
			      hops; docs/protocol.md 8.7.8) */
};

struct dmp_event {
	enum dmp_event_kind kind;
	int64_t time;
	const char *peer;      /* contact alias or address, may be NULL */
	const uint8_t *msg_id; /* 16 bytes, may be NULL */
	int code;	       /* dmp error code for RETRY/FAILED/REJECTED */
	const char *detail;    /* human-readable, never secret; for
				  RECEIVED and INTRO the path of the
				  delivered Maildir file */
};

/** Called synchronously from engine calls; must not call back in. */
typedef void (*dmp_event_fn)(const struct dmp_event *ev, void *ud);

/** What `dmp init` needs. Strings are borrowed for the call. */
struct dmp_engine_init {
	const char *username;	  /* lower case recommended */
	const char *domain;	  /* mesh zone of identity and mailbox */
	const char *const *nodes; /* HOST[:PORT] write targets, NULL-ended */
	const char *const *resolvers; /* IP[:PORT], NULL-ended; may be NULL */
	const char *tsig;	      /* hmac-sha256:NAME:SECRET, may be NULL */
	/* Import and tests only: the Argon2id salt of an existing identity
	 * (at least DMP_KDF_SALT_MIN bytes). NULL: a fresh random salt. */
	const uint8_t *salt;
	size_t salt_len;
	/* The zone operator's Ed25519 key, 64 hex digits (cluster.zone_key):
	 * the nodes are found through _dmp.<domain>, and @c nodes may be
	 * empty. NULL: none. */
	const char *zone_key;
};

/**
 * The home directory in @p out: @p home, else $DMP_HOME, else ~/.dmp.
 * @return 0 or DMP_EINVAL (none of them set)
 */
int dmp_engine_resolve_home(char *out, size_t cap, const char *home);

/**
 * Re-create a lost config.yaml for the identity state.db holds (the way
 * out when config.yaml was deleted): the passphrase is checked, @p in's
 * username and domain must match the identity, and its nodes, resolvers
 * and TSIG key are written with every other setting at its default.
 * Nothing in state.db changes.
 * @return 0, DMP_ENOENT (no state.db or no identity in it), DMP_EEXIST
 *         (config.yaml exists), DMP_EPASSPHRASE, DMP_EINVAL (another
 *         user or domain, bad node, bad key), DMP_ESTORE, DMP_EIO
 */
DMP_MUST_CHECK int dmp_engine_repair_config(const char *home,
					    const struct dmp_engine_init *in,
					    const char *passphrase);

/**
 * Create a new home: config.yaml, state.db, Maildirs; derive the identity
 * from @p passphrase with a fresh random salt (Argon2id, ~0.1-1 s).
 * @return 0, DMP_EEXIST (home already has an identity), DMP_EINVAL,
 *         DMP_ESTORE, DMP_EIO
 */
DMP_MUST_CHECK int dmp_engine_init_home(const char *home,
					const struct dmp_engine_init *init,
					const char *passphrase);

struct dmp_engine_opts {
	const char *home;	/* NULL: $DMP_HOME, else ~/.dmp */
	const char *passphrase; /* borrowed for the call; wiped by caller */
	dmp_event_fn on_event;	/* may be NULL */
	void *ud;
	/** Injectable clock for tests; NULL: wall clock. */
	int64_t (*clock)(void *ud);
};

/**
 * Open an existing home and unlock the identity.
 * @param[out] out  new engine (dmp_engine_close()); NULL on failure
 * @return 0, DMP_ENOENT (no home or identity: run `dmp init`),
 *         DMP_EPASSPHRASE (wrong passphrase: nothing was changed),
 *         DMP_ECONFIG (config.yaml invalid, logged with file:line),
 *         DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_engine_open(struct dmp_engine **out,
				   const struct dmp_engine_opts *opts);
void dmp_engine_close(struct dmp_engine *e); /* NULL: no-op */

/**
 * Open another handle on @p e's home with @p e's unlocked identity: no
 * passphrase and no Argon2id run (dmpfs keeps one handle per thread).
 * The new handle has its own store connection and its own copy of the
 * identity keys in locked memory (wiped by its dmp_engine_close()), so
 * the two handles are independent: either may be closed first and each
 * may be used from its own thread. It takes @p e's config as it is now,
 * its clock (called with @p ud) and its transport.
 * @param on_event, ud  the new handle's event callback (may be NULL)
 * @param[out] out      new engine (dmp_engine_close()); NULL on failure
 * @return 0, DMP_EINVAL, DMP_ENOMEM, DMP_ESTORE, DMP_ECONFIG
 */
DMP_MUST_CHECK int dmp_engine_open_sibling(struct dmp_engine **out,
					   const struct dmp_engine *e,
					   dmp_event_fn on_event, void *ud);

/**
 * An unlocked identity with nothing else open: no store connection, no
 * socket, no thread. It is what a daemon carries across fork(): unlock
 * on the terminal (one Argon2id run, passphrase checked), detach, then
 * open every handle from it with no further derivation. The keys live in
 * locked memory and are wiped by dmp_engine_unlocked_free().
 */
struct dmp_engine_unlocked; /* opaque */

/**
 * Unlock the home @p o names with @p o->passphrase (events and clock in
 * @p o are kept for the handles opened from it).
 * @param[out] out  new unlocked identity (dmp_engine_unlocked_free());
 *                  NULL on failure
 * @return as dmp_engine_open()
 */
DMP_MUST_CHECK int dmp_engine_unlock(struct dmp_engine_unlocked **out,
				     const struct dmp_engine_opts *o);

/**
 * Open a handle from an unlocked identity: as dmp_engine_open(), without
 * the passphrase and without Argon2id. @p u may be freed afterwards.
 * @return 0, DMP_EINVAL, DMP_ENOMEM, DMP_ESTORE, DMP_ECONFIG
 */
DMP_MUST_CHECK int dmp_engine_open_unlocked(struct dmp_engine **out,
					    const struct dmp_engine_unlocked *u,
					    dmp_event_fn on_event, void *ud);

/** The absolute home path of @p u (borrowed for its lifetime). */
const char *dmp_engine_unlocked_home(const struct dmp_engine_unlocked *u);
void dmp_engine_unlocked_free(struct dmp_engine_unlocked *u); /* NULL ok */

/**
 * Read a passphrase from @p path: the first line, without its newline.
 * The file must not be readable or writable by group or others.
 * @param[out] out  new string (dmp_free(); wipe it first), NULL on failure
 * @return 0, DMP_EACCES (mode allows group/others), a negated errno from
 *         open/read, or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_passfile_read(const char *path, char **out);

/**
 * Ask for a passphrase on the controlling terminal (/dev/tty), echo off,
 * after printing @p what there. The line buffer is wiped.
 * @param[out] out  new string (dmp_free(); wipe it first), NULL on failure
 * @return 0, DMP_ENOENT (no terminal) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_passphrase_prompt(const char *what, char **out);

/** Paths inside the home (borrowed for the engine's lifetime). */
const char *dmp_engine_home(const struct dmp_engine *e);
const char *dmp_engine_maildir(const struct dmp_engine *e,
			       const char *folder /* inbox|intro|sent */);

/* ---- identity ------------------------------------------------------------ */

struct dmp_identity_info {
	char address[320]; /* user@domain */
	char fingerprint[17];
	uint8_t x25519_pk[32];
	uint8_t ed25519_pk[32];
	char record[512];  /* our identity TXT value */
	int prekeys_left;  /* unexpired prekeys in the store */
	int64_t published; /* last publish, 0 = never */
};

int dmp_engine_identity(struct dmp_engine *e, struct dmp_identity_info *out);
/**
 * Publish the identity record at its hashed name id-<h16(user)>.<zone>
 * and, with identity.anchored, also at the zone-anchored dmp.<zone>
 * (PROTOCOL.md 8: for the zone's own user; the TSIG key must cover the
 * whole zone), then top the prekey pool up.
 * @return 0 or a write-path error (DMP_EUNREACHABLE, DMP_ENOTAUTH,
 *         DMP_EREFUSED, DMP_ECLOCKSKEW, ...)
 */
int dmp_engine_identity_publish(struct dmp_engine *e);

/** Turn identity.anchored on or off and save config.yaml.
 *  @return 0 or DMP_EIO */
int dmp_engine_set_anchored(struct dmp_engine *e, int on);
/** Top the prekey pool up to the configured size; returns how many added. */
int dmp_engine_prekeys_refresh(struct dmp_engine *e);

/**
 * Rotate the identity key (PROTOCOL.md 2.9): a new key is derived from
 * @p passphrase (checked against the identity first) and a new random
 * salt; a rotation record co-signed by the old and new keys is kept and
 * published at rotate.id-<h16(user)>.<zone> with the new identity record
 * and a new prekey pool. The old secret stays in the store, sealed, so
 * mail sent to the old key still opens. Other handles on the same home
 * keep the old key until reopened.
 * @param record  receives the rotation record (NULL to skip)
 * @return 0, DMP_EPASSPHRASE, DMP_EREVOKED (our key is revoked: run
 *         `dmp init` for a new identity), or the publish error (the
 *         rotation is done locally; `dmp identity publish` repeats it)
 */
int dmp_engine_identity_rotate(struct dmp_engine *e, const char *passphrase,
			       char *record, size_t cap);
/**
 * Revoke our current key (PROTOCOL.md 2.10): a revocation signed by the
 * key itself, published at the rotation name. Contacts then refuse to
 * send to it. @p reason: enum dmp_revocation_reason (1..4).
 * @return 0, DMP_EINVAL, or the publish error (kept; `dmp identity
 *         publish` repeats it)
 */
int dmp_engine_identity_revoke(struct dmp_engine *e, int reason);
/** 1 (with the reason and time) when our key has been revoked, else 0. */
int dmp_engine_identity_revoked(struct dmp_engine *e, int *reason,
				int64_t *when);
/** "compromise", "routine", "lost-key", "other" for 1..4. */
const char *dmp_revocation_reason_name(int reason);
/** The reason number of a name above, or DMP_EINVAL. */
int dmp_revocation_reason_parse(const char *s);

/**
 * Import one prekey secret of ours (tests and migration from another
 * client): stored sealed, not published.
 * @return 0, DMP_EEXIST, DMP_EINVAL (id 0), DMP_ESTORE
 */
int dmp_engine_prekey_import(struct dmp_engine *e, uint32_t id,
			     const uint8_t sk[32], uint64_t exp);

/* ---- contacts --------------------------------------------------------------
 */

/**
 * Fetch @p address (user@zone, or a bare username in our domain), verify
 * and pin it as @p alias (NULL: the user part).
 * @param fingerprint  required when several valid keys answer (ambiguous);
 *                     NULL otherwise
 * @return 0, DMP_ENOENT (no identity record), DMP_EAMBIGUOUS, DMP_EBADSIG,
 *         DMP_EUNREACHABLE, DMP_EEXIST (alias taken by another key),
 *         DMP_EINVAL (the alias breaks the rules of dmp/alias.h; checked
 *         before any network access)
 */
int dmp_engine_contact_add(struct dmp_engine *e, const char *address,
			   const char *alias, const char *fingerprint);
int dmp_engine_contact_remove(struct dmp_engine *e, const char *alias);
/** Rename a contact's alias (the way out for an alias an older version
 *  accepted). @return 0, DMP_ENOENT, DMP_EEXIST, DMP_EINVAL (@p to breaks
 *  the alias rules) or DMP_ESTORE */
int dmp_engine_contact_rename(struct dmp_engine *e, const char *from,
			      const char *to);
int dmp_engine_contact_block(struct dmp_engine *e, const char *alias,
			     int blocked);

/* ---- send
 * ---------------------------------------------------------------------- */

/**
 * Encrypt @p body for @p contact and queue it durably. Never touches the
 * network, so it cannot fail or hang on network trouble: it uses a cached,
 * verified, unexpired prekey of the contact (the cache is refreshed by
 * contact_add(), publish() and poll()) and otherwise the long-term key.
 * @param lifetime  seconds; 0: configured default (7 days), clamped to the
 *                  node's maximum with a DMP_EV_CLAMPED event
 * @param[out] queue_id  local id (queue/<id> in dmpfs), may be NULL
 * @return 0, DMP_ENOENT (no such contact), DMP_EACCES (blocked: the
 *         contact or another alias of its key), DMP_EINVAL (empty body:
 *         an empty message is never sent), DMP_EFBIG (body too large),
 *         DMP_EUNSUPPORTED (over DMP_ENGINE_MAX_BODY to a contact not in
 *         messages.multipart), DMP_ENOSPC, DMP_ESTORE
 *
 * A body over DMP_ENGINE_MAX_BODY, up to messages.max_file, to a contact
 * listed in messages.multipart is sent as a multi-part whole
 * (PROTOCOL.md 7.9): its parts are queued as separate messages, all or
 * none; *queue_id is the first part's.
 */
DMP_MUST_CHECK int dmp_engine_submit(struct dmp_engine *e, const char *contact,
				     const uint8_t *body, size_t len,
				     uint32_t lifetime, int64_t *queue_id);
/** The largest body submit() takes for @p contact: messages.max_file
 *  when the contact is in messages.multipart, else DMP_ENGINE_MAX_BODY
 *  (also for an unknown contact). */
size_t dmp_engine_max_message(struct dmp_engine *e, const char *contact);
/**
 * dmp_engine_submit() with an undo-send window: the message waits
 * @p delay seconds in the queue (state "held") before publish() takes it,
 * and dmp_engine_withdraw() or dmp_engine_cancel() can take it back until
 * then. @p delay 0 is dmp_engine_submit().
 */
DMP_MUST_CHECK int dmp_engine_submit_delayed(struct dmp_engine *e,
					     const char *contact,
					     const uint8_t *body, size_t len,
					     uint32_t lifetime, uint32_t delay,
					     int64_t *queue_id);
/**
 * Take back message @p queue_id while it is still held in its undo-send
 * window and log a DMP_EV_CANCELLED event with @p why.
 * @return 0, DMP_EBUSY (too late: publishing started or done), DMP_ESTORE
 */
int dmp_engine_withdraw(struct dmp_engine *e, int64_t queue_id,
			const char *why);
/**
 * Whether @p contact (alias or address) can be written to.
 * @return 0, DMP_ENOENT (no such contact), DMP_EACCES (blocked: the
 *         contact or another alias of the same key)
 */
int dmp_engine_send_check(struct dmp_engine *e, const char *contact);
/**
 * Log a send-side event on the program's behalf (dmpfs: a message it
 * refused or discarded before submit(), e.g. its writer was killed).
 * @param kind  DMP_EV_REJECTED, DMP_EV_CANCELLED, or DMP_EV_CONFIG (a
 *              reload dmpfs could not wait for)
 */
void dmp_engine_note(struct dmp_engine *e, enum dmp_event_kind kind,
		     const char *peer, int code, const char *detail);
/**
 * Publish every queued message whose retry time has come: chunks, then the
 * manifest, then claims; on failure schedule a retry with backoff.
 * @return number of messages fully published, or a negative code when no
 *         node could be reached at all
 */
int dmp_engine_publish(struct dmp_engine *e);

/**
 * Retry now: every message waiting out a backoff becomes due and the
 * queue is published at once, oldest first (`dmp flush`, a dmpfs mount).
 * publish() and poll() do the same by themselves as soon as a node or
 * resolver is seen answering again after messages failed unreachable.
 * @return as publish()
 */
int dmp_engine_flush(struct dmp_engine *e);

/**
 * Cancel the message @p msg_id while it is still in the outbox (queued,
 * retrying or failed; not once published) and log a DMP_EV_CANCELLED
 * event. Records already written for it are left to expire.
 * @return 0, DMP_ENOENT (no such unpublished message), DMP_EINVAL,
 *         DMP_ESTORE
 */
int dmp_engine_cancel(struct dmp_engine *e, const uint8_t msg_id[16]);

/**
 * Read config.yaml again and apply what can change while the engine runs
 * (messages.*, claims.*, prekeys.*, network.zone_servers and
 * network.confirm_resolvers); a change to any other setting (identity,
 * nodes, resolvers, TSIG, timeouts, replicas, discovery) waits for the
 * next start. A file with an error changes nothing. With @p report, one
 * DMP_EV_CONFIG event says which settings changed, which wait, or why
 * the file was refused.
 * @return settings applied (0 or more), or DMP_ECONFIG / DMP_ENOENT
 */
int dmp_engine_reload(struct dmp_engine *e, int report);

/* ---- receive
 * ------------------------------------------------------------------ */

/**
 * One receive pass. Delivers into the Maildirs and emits events.
 * @return number of messages delivered, or a negative code when no
 *         resolver answered
 */
int dmp_engine_poll(struct dmp_engine *e);

/* ---- status
 * --------------------------------------------------------------------- */

enum dmp_engine_state {
	DMP_ENGINE_ONLINE,   /* last reads and writes succeeded */
	DMP_ENGINE_DEGRADED, /* some resolvers, nodes, slots or messages
				failing */
	DMP_ENGINE_OFFLINE,  /* nothing reachable */
	DMP_ENGINE_REJECTED, /* the node rejects our TSIG key (NOTAUTH,
				BADKEY, BADSIG): nothing can be sent */
};

/*
 * The engine's view, kept in the store (so a fresh `dmp status` sees
 * what the last `dmp recv` or dmpfs pass saw). Times are Unix seconds,
 * 0 for never.
 */
struct dmp_engine_status {
	enum dmp_engine_state state;
	char address[320];
	int64_t last_poll;
	int64_t next_poll;
	int queued; /* waiting to be published (failing ones included) */
	int errors; /* since open */
	char last_error[256];  /* "" once resolved (see resolved_at) */
	int failing;	       /* queued messages whose last attempt failed */
	int failed;	       /* messages given up (expired), bodies kept */
	int64_t last_error_at; /* when last_error (or the resolved one) */
	int64_t last_ok;       /* last exchange a node or resolver answered */
	/* > 0: the error below was resolved then (an exchange succeeded,
	 * nothing failing); last_error is "" and prev_error keeps it. */
	int64_t resolved_at;
	char prev_error[256];
	int unreadable; /* mailbox slots the last poll could not read */
	char unreadable_detail[512]; /* the first one: name, where, why */
	char hint[256];		     /* the next step for the user, or "" */
	/* multi-part wholes waiting for parts (PROTOCOL.md 7.9), and
	 * "<id, 8 hex> <held>/<count>" of each, space-separated, or "" */
	int partial;
	char partial_detail[256];
};

int dmp_engine_status(struct dmp_engine *e, struct dmp_engine_status *out);
/** "online", "degraded", "offline", "rejected" (view.c). */
const char *dmp_engine_state_name(enum dmp_engine_state s);

struct dmp_store;
struct dmp_resolver;
/** 1 if the home has a TSIG key (network.tsig), needed for every write;
 *  0 after `dmp init` without one, until `dmp tsig register`. */
int dmp_engine_has_tsig(const struct dmp_engine *e);
/** The engine's store (borrowed; for listings such as `dmp contacts`). */
struct dmp_store *dmp_engine_store(struct dmp_engine *e);
/** The engine's resolver pool, created on first use (borrowed), or NULL
 *  when it cannot be built. */
struct dmp_resolver *dmp_engine_resolver(struct dmp_engine *e);

/* ---- TSIG self-registration (PROTOCOL.md 7.2) ------------------------------
 */

/* dmp_registration_payload(), dmp_registration_pop(): dmp/registration.h */

/**
 * Register our identity with the node's HTTP API at @p url (e.g.
 * http://node:8053): GET /v1/registration/challenge, POST
 * /v1/registration/tsig-confirm, then store the minted key as
 * network.tsig in config.yaml and use it from now on.
 * @param[out] key_name  the minted key name (may be NULL), cap bytes
 * @return 0, DMP_EUNREACHABLE (no HTTP answer), DMP_ENOENT (404:
 *         registration disabled), DMP_ENOTAUTH (401: signature or proof
 *         rejected, or challenge stale), DMP_EACCES (403: not allowed),
 *         DMP_EEXIST (409: name registered to another key), DMP_EAGAIN
 *         (429: rate limited), DMP_EMALFORMED (bad reply), DMP_EIO
 */
int dmp_engine_register_tsig(struct dmp_engine *e, const char *url,
			     char *key_name, size_t cap);

/* ---- resolver discovery ---------------------------------------------------
 */

/** One probed resolver, for `dmp resolvers discover`. */
struct dmp_resolver_probe {
	char addr[64];
	/* 2: answered with our identity record; 1: answered without it
	 * (empty, NXDOMAIN); 0: no usable answer */
	int grade;
	int rtt_ms; /* -1 when it did not answer */
	int err;    /* the query's dmp code (0 when grade 2) */
};

/**
 * Probe @p cands (IP[:PORT] literals) plus the configured resolvers plus
 * the nameservers of /etc/resolv.conf (duplicates once) with a TXT query
 * for our own identity name, and rank them: grade first, then RTT.
 * @param[out] out  up to @p cap probes, best first
 * @param save      when nonzero, the best answering ones (grade 2, or
 *                  grade 1 when none has 2; at most 4) become
 *                  network.resolvers in config.yaml
 * @return the number of probes written, DMP_EINVAL, DMP_ENOENT (nothing
 *         answered and @p save was asked: config left alone), DMP_EIO
 */
int dmp_engine_resolvers_discover(struct dmp_engine *e,
				  const char *const *cands, size_t n,
				  struct dmp_resolver_probe *out, size_t cap,
				  int save);

/**
 * Ask each configured resolver (the nodes when none) and each node read
 * directly, one at a time, for our identity name now (`dmp resolvers`):
 * what answers is up, whatever the pool remembered.
 * @param[out] out  up to @p cap probes, in configured order
 * @return the number written, DMP_EINVAL
 */
int dmp_engine_resolvers_check(struct dmp_engine *e,
			       struct dmp_resolver_probe *out, size_t cap);

/* ---- delivered messages (view.c) ------------------------------------------
 */

/** What `dmp recv` and dmpfs read back from a delivered Maildir file. */
struct dmp_delivered {
	char from[1024];      /* the From: value, cut to fit; "?" if none */
	char date[128];	      /* the Date: value, cut to fit; "?" if none */
	char address[320];    /* user@zone in <...> on the From: line, or "" */
	char fingerprint[17]; /* of X-DMP-Sender-Key (keys.h), or "" */
	size_t body_off;      /* where the body starts in the buffer */
};

/**
 * Parse the header of a message the engine delivered (the first bytes of
 * the Maildir file, up to the blank line; 8 KiB hold any the engine
 * writes). The first of each header counts.
 * @return 0, DMP_EMALFORMED (no blank line in @p len bytes: the fields
 *         found are filled in and body_off is @p len)
 */
int dmp_delivered_parse(const char *buf, size_t len, struct dmp_delivered *out);

#endif /* DMP_ENGINE_H */
