/*
 * core/src/client/engine_i.h - internals of the client engine (engine.h),
 * shared by its files:
 *
 *   engine.c            open/close, events, status, siblings, cancel
 *   engine_net.c        the transport seam and its default implementation
 *   engine_cluster.c    the node set: network.nodes, or the cluster found
 *                       through _dmp.<domain> (bootstrap, manifest)
 *   engine_repair.c     read repair of mailbox reads
 *   engine_maildir.c    Maildir delivery (tmp -> fsync -> rename)
 *   engine_identity.c   identity record, prekey pool publishing
 *   engine_contacts.c   pinning contacts, the prekey caches
 *   engine_send.c       submit, publish, claims (PROTOCOL.md 6.3)
 *   engine_receive.c    poll: claims phase, slots, delivery (6.4)
 *   engine_receipt.c    delivery receipts (ACK), asked for and answered
 *   engine_reload.c     config.yaml read again while running
 *   engine_register.c   TSIG self-registration over HTTP (7.2)
 *   engine_resolvers.c  resolver discovery (resolv.conf probing)
 *   engine_passphrase.c passphrase file and prompt
 *
 * Every network exchange of the engine goes through the transport seam
 * (struct dmp_eng_transport): reads are batches of TXT names, writes are
 * RFC 2136 UPDATEs. The default sends them over the network (resolver
 * pool, union reads of our zone, majority writes to the nodes); unit tests
 * install their own (dmp_eng_set_transport()) to run the engine against an
 * in-process struct dmp_node.
 *
 * Not a public header: only core/src/client and tests that add core/src to
 * their include path see it.
 */
#ifndef DMP_ENGINE_I_H
#define DMP_ENGINE_I_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client_config.h"
#include "dmp/bootstrap.h"
#include "dmp/cluster.h"
#include "dmp/engine.h"
#include "dmp/names.h"
#include "dmp/peers.h"
#include "dmp/resolver.h"
#include "dmp/store.h"
#include "dmp/update.h"

#define DMP_ENG_HOME_MAX 3072
#define DMP_ENG_BATCH_TIMEOUT_MS 10000
#define DMP_ENG_REJECT_KEEP                                                    \
	86400 /* how long a judged bad value stays judged                      \
	       */

/* The nodes the engine writes to and reads our zone from: the static
 * network.nodes, or the nodes of the cluster manifest that bootstrap found
 * (engine_cluster.c). At most 16 of a manifest's 32 are used (the first
 * 16, the same for every client, so placement agrees). */
#define DMP_ENG_NODES_MAX 16
struct dmp_eng_nodes {
	unsigned n;
	int loaded;		    /* filled (lazily, by dmp_eng_nodes()) */
	int from_cluster;	    /* from a manifest, not network.nodes */
	uint64_t seq;		    /* the manifest's seq */
	char base[DMP_CFG_STR_MAX]; /* the cluster's base domain */
	/* HOST[:PORT] of each node's DNS service: reads and UPDATEs. */
	char addr[DMP_ENG_NODES_MAX][DMP_CFG_STR_MAX];
	/* What rendezvous hashing hashes: the manifest's node_id, else addr */
	char key[DMP_ENG_NODES_MAX][DMP_CFG_STR_MAX];
};

struct dmp_keys;
struct dmp_codec;
struct dmp_manifest;
struct dmp_eng_writer; /* one write session of a transport (opaque) */

/*
 * The transport seam. @c ud is passed back to every call. All calls are
 * made from the engine's thread, one at a time.
 */
struct dmp_eng_transport {
	/**
	 * Read batch: TXT for @p n names, all in flight at once.
	 * @param server  NULL: the engine's read path (names in our zone from
	 *                the mailbox nodes of @p rid, all nodes when NULL,
	 *                answers merged; the rest through the resolver
	 *                pool); else ask only that server (IP[:PORT], RD=1)
	 * @param res     n slots, zeroed by the caller, filled per name
	 *                (err 0 with the values, DMP_ENXDOMAIN, or why not);
	 *                the caller clears them
	 * @return 0, or a negative code when nothing could be asked
	 */
	int (*read)(struct dmp_engine *e, void *ud, const char *server,
		    const char *const *q, size_t n,
		    struct dmp_resolver_result *res, const uint8_t *rid,
		    unsigned timeout_ms);
	/**
	 * Open a write session to the configured nodes for our zone, signed
	 * with the engine's TSIG key. @p attempts: tries per UPDATE, 0 for
	 * the default. @return 0, DMP_ECONFIG (no or bad node), DMP_ENOMEM
	 */
	int (*write_open)(struct dmp_engine *e, void *ud, unsigned attempts,
			  struct dmp_eng_writer **w);
	/**
	 * Write batch: one UPDATE holding @p ops (add/delete) to the nodes
	 * in @p mask (bit i: network.nodes[i]). A node applies an UPDATE
	 * whole or not at all (PROTOCOL.md 7.1), so the result is every
	 * op's. @return 0 once a majority of the targets accepted, else the
	 * most telling failure (DMP_EUNREACHABLE, DMP_ENOTAUTH, ...)
	 */
	int (*write)(struct dmp_engine *e, void *ud, struct dmp_eng_writer *w,
		     const struct dmp_update_rr *ops, size_t n, unsigned mask);
	void (*write_close)(struct dmp_engine *e, void *ud,
			    struct dmp_eng_writer *w);
	/**
	 * One unsigned UPDATE of @p n claims (7.3) for @p zone to @p server
	 * (HOST[:PORT]; the zone name itself when no server is configured).
	 * @return 0 or the write error
	 */
	int (*claim)(struct dmp_engine *e, void *ud, const char *zone,
		     const char *server, const struct dmp_update_rr *ops,
		     size_t n);
	void *ud;
	/** Wait @p ms (the publish delay, engine_pad.c); NULL: no wait
	 *  (tests' in-process transports). */
	void (*sleep_ms)(struct dmp_engine *e, void *ud, unsigned ms);
};

/* Contacts whose last prekey answer is remembered (engine_identity.c). */
#define DMP_ENG_PK_SEEN 32

struct dmp_engine {
	char home[DMP_ENG_HOME_MAX];
	char dirs[3][DMP_ENG_HOME_MAX + 32]; /* inbox, intro, sent */
	char events[DMP_ENG_HOME_MAX + 32];
	struct client_conf conf;
	struct dmp_store *st;
	struct dmp_keys *keys;
	struct dmp_codec *codec;
	struct dmp_resolver *res;
	/* The nodes in use (engine_cluster.c): network.nodes, else the
	 * cluster found through bootstrap. */
	struct dmp_eng_nodes nodes;
	int64_t cl_retry;   /* wall time before which no refresh is tried */
	int64_t cl_checked; /* wall time of the last good lookup; -1 unread */
	int cl_busy;	    /* a refresh is reading (no nested refresh) */
	int cl_failed;	    /* an exchange with the cluster failed */
	/* Of the last write (net_write): nodes that took it, of how many. */
	unsigned w_took, w_targets;
	int w_refused; /* of the last write: a node that refused it, or -1 */
	/* One resolver per node for union reads of our zone. */
	struct dmp_resolver *node_res[DMP_ENG_NODES_MAX];
	int64_t node_down_until[DMP_ENG_NODES_MAX]; /* monotonic ms */
	struct dmp_tsig_key *tsig;
	struct dmp_eng_transport tp;
	char address[320];
	dmp_event_fn on_event;
	void *ud;
	int64_t (*clock)(void *ud);
	/* status */
	enum dmp_engine_state state;
	int64_t last_poll;
	int errors;
	char last_error[256];
	/* engine_rotation.c: the store's identity no longer has the key
	 * this handle holds (DMP_ESTALEKEY) or it was revoked (reported
	 * once: event, status error). */
	int key_stale;
	const char *key_why; /* its text (static) */
	/* engine_identity.c: per contact, the digest of the prekey answer
	 * last verified into the cache and how many it cached. Every
	 * publish pass reads the answers again (issue 19: verifying the same
	 * signatures each pass was most of a pass's CPU). */
	struct {
		uint8_t spk[32], digest[32];
		int n;
	} pk_seen[DMP_ENG_PK_SEEN];
	unsigned pk_seen_next; /* the entry replaced next */
};

extern const char *const dmp_eng_folders[3]; /* inbox, intro, sent */

static inline int64_t dmp_eng_now(const struct dmp_engine *e)
{
	return e->clock ? e->clock(e->ud) : (int64_t)time(NULL);
}

/* engine.c */
void dmp_eng_emit(struct dmp_engine *e, enum dmp_event_kind kind,
		  const char *peer, const uint8_t *msg_id, int code,
		  const char *detail);
/* engine_status.c: the status kept in the store (see there). */
void dmp_eng_set_state(struct dmp_engine *e, enum dmp_engine_state s);
/* The state the last pass of any handle left (at open). */
void dmp_eng_state_load(struct dmp_engine *e);
void dmp_eng_note_error(struct dmp_engine *e, int code, const char *text);
/* An exchange succeeded; @p wrote: a signed write (TSIG accepted). */
void dmp_eng_note_ok(struct dmp_engine *e, int wrote);
/* A receive pass: @p unreadable mailbox slots, the first in @p detail. */
void dmp_eng_note_poll(struct dmp_engine *e, int answered, int unreadable,
		       const char *detail);
/* The libsodium signing key of our identity; the caller wipes @p sk. */
int dmp_eng_signing_key(const struct dmp_engine *e, uint8_t sk[64]);
/* The server network.zone_servers names for @p zone, else NULL. */
const char *dmp_eng_zone_server(const struct client_conf *c, const char *zone);
int dmp_eng_codec(struct dmp_engine *e, struct dmp_codec **c);
/* Read and check HOME/config.yaml into @p c (errors logged).
 * @return 0, DMP_ENOENT or DMP_ECONFIG */
int dmp_eng_load_conf(struct client_conf *c, const char *home);
/* Save e->conf to config.yaml. @return 0 or DMP_EIO */
int dmp_eng_conf_save(struct dmp_engine *e);

/* engine_register.c: one HTTP exchange through libcurl (registration,
 * the relay fallback). @p body NULL means GET, else a JSON POST. A reply
 * over DMP_ENG_HTTP_REPLY_MAX bytes is DMP_EMALFORMED. @return the HTTP
 * status, DMP_EUNREACHABLE (no answer: the reason logged) or DMP_ENOMEM */
#define DMP_ENG_HTTP_REPLY_MAX 16384
struct dmp_eng_http_buf {
	char data[DMP_ENG_HTTP_REPLY_MAX];
	size_t len;
	int over;
};
int dmp_eng_http_call(const char *url, const char *body, long timeout_ms,
		      struct dmp_eng_http_buf *b);

/* engine_net.c: the seam's entry points, and the default transport. */
/** Install @p t (copied), or the default network transport for NULL. */
void dmp_eng_set_transport(struct dmp_engine *e,
			   const struct dmp_eng_transport *t);
int dmp_eng_read(struct dmp_engine *e, const char *const *q, size_t n,
		 struct dmp_resolver_result *res, const uint8_t *rid);
int dmp_eng_read_at(struct dmp_engine *e, const char *server,
		    const char *const *q, size_t n,
		    struct dmp_resolver_result *res, unsigned timeout_ms);
int dmp_eng_writer_open(struct dmp_engine *e, unsigned attempts,
			struct dmp_eng_writer **w);
int dmp_eng_writer_send_to(struct dmp_engine *e, struct dmp_eng_writer *w,
			   const struct dmp_update_rr *ops, size_t n,
			   unsigned mask);
int dmp_eng_writer_send(struct dmp_engine *e, struct dmp_eng_writer *w,
			const struct dmp_update_rr *ops, size_t n);
void dmp_eng_writer_close(struct dmp_engine *e, struct dmp_eng_writer *w);
/* One claim UPDATE of @p ops to the server of @p zone (PROTOCOL.md 7.3). */
int dmp_eng_claim_send(struct dmp_engine *e, const char *zone,
		       const struct dmp_update_rr *ops, size_t n);
/* Rendezvous choice of the nodes storing @p rid's mailbox (bit mask). */
unsigned dmp_eng_mailbox_nodes(struct dmp_engine *e, const uint8_t *rid);
/* The same over any node set: the @p r (0: all) keys of @p key[0..n)
 * with the highest SHA-256(key || rid)[0..8) (engine_net.c). */
unsigned dmp_eng_rendezvous(const char (*key)[DMP_CFG_STR_MAX], unsigned n,
			    unsigned r, const uint8_t *rid);

/* engine_repair.c: read repair of a union read (NULL-safe). A node that
 * answered name j without a value the union holds is sent that value. */
struct dmp_eng_repair;
struct dmp_eng_repair *dmp_eng_repair_new(struct dmp_engine *e, size_t n);
/* What node @p node answered for own-zone name @p j (before merging). */
void dmp_eng_repair_note(struct dmp_eng_repair *r, unsigned node, size_t j,
			 const struct dmp_resolver_result *got);
/* Send each node what it lacks of @p res[own[j]] (names @p q[j]); frees. */
void dmp_eng_repair_run(struct dmp_engine *e, struct dmp_eng_repair *r,
			const char *const *q, const size_t *own,
			const struct dmp_resolver_result *res);
void dmp_eng_repair_free(struct dmp_eng_repair *r);

/* engine_cluster.c: cluster and bootstrap (PROTOCOL.md 2.6, 2.7, 8). */
/* cluster.zone_key empty or 64 hex digits? @return 0 or DMP_ECONFIG
 * (logged, prefixed with @p where: the file, or "init") */
int dmp_eng_zone_key_check(const struct client_conf *c, const char *where);
/* The nodes in use, loaded on first use (network.nodes, else the
 * cluster kept in the store). Never NULL. */
const struct dmp_eng_nodes *dmp_eng_nodes(struct dmp_engine *e);
/* Refresh the cluster through bootstrap when due (cluster.refresh) or,
 * after a failed exchange (e->cl_failed), early (at most once a minute).
 * @return 1 a newer cluster was installed, 0 nothing to do or kept, <0 */
int dmp_eng_cluster_tick(struct dmp_engine *e);
/* The highest-seq value of @p v[0..n) that verifies as the bootstrap of
 * @p domain under @p zone_pk (index, or -1; *out filled). */
int dmp_eng_bootstrap_pick(const char *const *v, const size_t *len, size_t n,
			   const uint8_t zone_pk[32], const char *domain,
			   uint64_t now, struct dmp_bootstrap *out);
/* The same for cluster manifests at cluster.<base> under @p op_pk. */
int dmp_eng_cluster_pick(const char *const *v, const size_t *len, size_t n,
			 const uint8_t op_pk[32], const char *base,
			 uint64_t now, struct dmp_cluster *out);
/* May @p c, chosen by a bootstrap of seq @p bs_seq, replace the
 * installed cluster (base @p cur_base, "" for none, seq @p cur_seq, chosen
 * by bootstrap seq @p cur_bs)? The same base: only a strictly greater seq;
 * another base: only when a strictly newer bootstrap chose it. */
int dmp_eng_cluster_newer(const struct dmp_cluster *c, uint64_t bs_seq,
			  const char *cur_base, uint64_t cur_seq,
			  uint64_t cur_bs);
int64_t dmp_eng_mono_ms(void);
/* A read batch: up to @c cap names (q[i] points at names[i]) and their
 * results; dmp_eng_batch_free() clears the results and frees it all. */
struct dmp_eng_batch {
	char (*names)[DMP_NAME_MAX];
	const char **q;
	struct dmp_resolver_result *res;
	size_t n, cap;
};
/* @return 0 or DMP_ENOMEM (@p b then empty but safe to free) */
int dmp_eng_batch_init(struct dmp_eng_batch *b, size_t cap);
void dmp_eng_batch_free(struct dmp_eng_batch *b);

/* engine_sent.c: the sent/ copy, written lazily, settled in batches */
void dmp_eng_sent_save(struct dmp_engine *e, const struct dmp_outbox_msg *m);
/* The one copy of the multi-part file @p part belongs to, if every part
 * is published (engine_mp_pace.c calls it once a pass per file). */
void dmp_eng_sent_save_file(struct dmp_engine *e,
			    const struct dmp_outbox_msg *part);
void dmp_eng_sent_settle(struct dmp_engine *e, int at_open);

/* engine_maildir.c */
/** @p c with every default, then user, domain, nodes, resolvers and TSIG
 *  key of @p in (`dmp init`; engine_config.c). @return 0 or DMP_EINVAL
 *  (logged) */
int dmp_eng_conf_from_init(struct client_conf *c,
			   const struct dmp_engine_init *in);
/** What init and init --repair check first: the arguments, the library,
 *  the home's path (in @p h). @return 0 or DMP_EINVAL */
int dmp_eng_init_start(const char *home, const struct dmp_engine_init *in,
		       const char *passphrase, char *h, size_t cap);
int dmp_eng_mkdir(const char *p);
int dmp_eng_make_maildirs(const char *home);
int dmp_eng_maildir_has(const char *md, const char *name);
int dmp_eng_maildir_write(const char *md, const char *name, const void *a,
			  size_t alen, const void *b, size_t blen);
/* Render (mail.h: header block merged, MIME for binary) and deliver. */
int dmp_eng_maildir_put(const char *md, const char *name, const void *data,
			size_t len, int sync);
int dmp_eng_maildir_mail(const char *md, const char *name, const char *head,
			 const char *idhex, const uint8_t *body, size_t len);
void dmp_eng_rfc5322_date(char *out, size_t cap, int64_t t);

/* engine_send.c: queue one body of at most DMP_ENGINE_MAX_BODY bytes,
 * with message id @p msg_id (NULL: random). */
int dmp_eng_submit_body(struct dmp_engine *e, const char *contact,
			const uint8_t *body, size_t len, uint32_t lifetime,
			const uint8_t *msg_id, int64_t *queue_id);

/* engine_multipart.c: multi-part messages (PROTOCOL.md 7.9). */
/* May @p len bytes go to @p contact as a whole? 0, DMP_EFBIG (over
 * messages.max_file), DMP_EUNSUPPORTED (not in messages.multipart). */
int dmp_eng_mp_check(struct dmp_engine *e, const char *contact, size_t len);
/* Split @p body and queue its parts (all or none). */
int dmp_eng_mp_submit(struct dmp_engine *e, const char *contact,
		      const uint8_t *body, size_t len, uint32_t lifetime,
		      int64_t *queue_id);
/* A received body: 0 not a part (deliver it), 1 part held, 2 the whole is
 * complete (*file dmp_malloc'd, @p whole_id its id; deliver it, then
 * dmp_eng_mp_done), or an error (the part is not held). */
int dmp_eng_mp_hold(struct dmp_engine *e, const struct dmp_manifest *m,
		    const uint8_t *body, size_t len, uint8_t whole_id[16],
		    uint8_t **file, size_t *flen);
void dmp_eng_mp_done(struct dmp_engine *e, const uint8_t spk[32],
		     const uint8_t whole_id[16]);
/* Wholes waiting for parts; @p out gets "<id 8 hex> <held>/<count> ...". */
int dmp_eng_mp_progress(struct dmp_engine *e, char *out, size_t cap);
/* Remove wholes past their expiry (REJECTED event each). @return how
 * many were removed; *partial: wholes still waiting for parts. */
int dmp_eng_mp_sweep(struct dmp_engine *e, int64_t now, int *partial);

/* A part held from manifest @p value at @p name in @p zone: delete the
 * manifest from our mailbox nodes (best effort), making room there. */
void dmp_eng_mp_drain(struct dmp_engine *e, const char *zone, const char *name,
		      const char *value, size_t vlen);

/* The file sent as whole @p whole (32 hex), joined from its queued parts
 * once all are published: 1 (*file dmp_malloc'd, *first the queue id of
 * its first part), 0 (not all published), or an error. */
int dmp_eng_mp_outbox_file(struct dmp_engine *e, const char *whole,
			   int64_t *first, uint8_t **file, size_t *flen);

/* engine_mp_pace.c: pacing of multi-part parts in one publish pass. */
struct dmp_eng_mp_rcpt {
	char rcpt[320];
	unsigned long long parts; /* parts published this pass */
	uint32_t full;		  /* slots a node refused as full */
};
struct dmp_eng_mp_pace {
	struct dmp_eng_mp_rcpt r[16];
	size_t n;
	struct dmp_outbox_msg file[8]; /* a part of each file published */
	size_t n_file;
	/* A part of each file a node refused as full (quota), and which
	 * node (index in e->nodes, -1 unknown). */
	struct dmp_outbox_msg refused[8];
	int refused_node[8];
	size_t n_refused;
};
/* Order a pass: ordinary messages first, then parts (each stable). */
void dmp_eng_mp_order(struct dmp_outbox_msg *v, size_t n);
/* Must @p m (manifest at @p slot, -1 unknown) wait for a later pass?
 * NULL, or why (static text). */
const char *dmp_eng_mp_pace_wait(struct dmp_eng_mp_pace *pc,
				 const struct dmp_engine *e,
				 const struct dmp_outbox_msg *m, int slot);
/* @p m was published (@p full 0) or its manifest refused as full. */
void dmp_eng_mp_pace_note(struct dmp_eng_mp_pace *pc,
			  const struct dmp_outbox_msg *m, int slot, int full);
/* Part @p m was refused by a node's quota (node index @p node, -1).
 * @return 1 for the first part of its file in this pass, else 0 (one
 * RETRY event per file and pass, not one per part). */
int dmp_eng_mp_pace_refused(struct dmp_eng_mp_pace *pc,
			    const struct dmp_outbox_msg *m, int node);
/* Why part @p m expired unpublished: the "node cannot hold the file"
 * text of its file's first part when that is why, else the generic one.
 * @p cache (33 + 256 bytes) keeps the last file's answer for the pass. */
const char *dmp_eng_mp_expired_why(struct dmp_engine *e,
				   const struct dmp_outbox_msg *m,
				   char cache[33 + 256]);
/* At the end of a pass: the sent/ copy of each file a part of which
 * was published (made once the last part is); for each file refused with
 * none of its parts ever published, say that the node cannot hold it
 * (queue entry, status line, a RETRY event). */
void dmp_eng_mp_pace_done(struct dmp_engine *e, struct dmp_eng_mp_pace *pc);
/* Seconds a message held back by pacing waits. */
int64_t dmp_eng_mp_pace_retry(const struct dmp_engine *e);

/* engine_receipt.c: delivery receipts (messages.receipts). */
/* @p body with a receipt request added when receipts are on and it fits:
 * 1 (*out dmp_malloc'd), 0 (unchanged), DMP_ENOMEM. */
int dmp_eng_receipt_request(const struct dmp_engine *e, const uint8_t *body,
			    size_t len, uint8_t **out, size_t *out_len);
/* After delivering @p body from pinned contact @p c: answer a request. */
void dmp_eng_receipt_send(struct dmp_engine *e, const struct dmp_manifest *m,
			  const struct dmp_store_contact *c,
			  const uint8_t *body, size_t len);
/* 1 when the DMPMessage @p msg is of type ACK (a receipt). */
int dmp_eng_receipt_is_ack(const uint8_t *msg, size_t len);
/* Take a decrypted ACK: mark the sent/ copy, DMP_EV_RECEIPT. */
void dmp_eng_receipt_take(struct dmp_engine *e, const struct dmp_manifest *m,
			  const struct dmp_store_contact *c, const uint8_t *pt,
			  size_t pt_len);

/* engine_identity.c */
int dmp_eng_prekey_name(char *out, size_t cap,
			const struct dmp_store_contact *c);
/* Verified, unexpired prekeys at @p res for contact @p c -> cache; a
 * failed read is reported (DMP_EV_PREKEYS) and remembered. */
int dmp_eng_cache_prekeys(struct dmp_engine *e,
			  const struct dmp_store_contact *c,
			  const struct dmp_resolver_result *res);
/* Read @p c's prekeys now (one name) into the cache. @return 0 or why not */
int dmp_eng_fetch_prekeys(struct dmp_engine *e,
			  const struct dmp_store_contact *c);
/* 1 when the last read of @p spk's prekeys failed. */
int dmp_eng_prekeys_failed(struct dmp_engine *e, const uint8_t spk[32]);
/* Consume our prekey @p id and delete it from DNS (best effort). */
void dmp_eng_prekey_delete(struct dmp_engine *e, uint32_t id);

/* engine_intro.c: after pinning @p c, its messages in intro/ move to
 * inbox/ and every copy of them says verified. @return files changed */
int dmp_eng_intro_settle(struct dmp_engine *e,
			 const struct dmp_store_contact *c);

/* engine_contacts.c */
void dmp_eng_refresh_prekey_caches(struct dmp_engine *e);
/* Every contact that is not blocked (*v dmp_malloc'd). @return 0 or error */
int dmp_eng_contacts_unblocked(struct dmp_engine *e,
			       struct dmp_store_contact **v, size_t *n);

/* engine.c: the store's seal key for identity @p k (HKDF of its secret). */
int dmp_eng_seal_key(const struct dmp_keys *k, uint8_t out[32]);
/* engine_receive.c: read our own and the contacts' zones' slots under
 * e->keys and receive what is there. @return messages delivered */
int dmp_eng_receive_slots(struct dmp_engine *e);
/* engine_identity.c: after a rotation, replace the published prekey pool
 * (signed by the old key) with a fresh one. */
int dmp_eng_prekeys_replace(struct dmp_engine *e, struct dmp_eng_writer *w);
/* engine_rotation.c: key rotation and revocation (PROTOCOL.md 2.9, 2.10,
 * 8). Add our rotation/revocation values at the rotation names. */
int dmp_eng_rotation_publish(struct dmp_engine *e, struct dmp_eng_writer *w);
/* 1 while a rotation's identity and prekeys wait to be published. */
int dmp_eng_rotation_unpublished(struct dmp_engine *e);
/* At open with the passphrase: rotate when identity.key_rotation_interval
 * has passed since the last rotation (or the identity's creation). */
int dmp_eng_rotation_auto(struct dmp_engine *e, const char *passphrase);
/* Read the mailboxes of our previous keys (30 days after a rotation). */
int dmp_eng_poll_old_keys(struct dmp_engine *e);
/* Does e->keys still sign for the identity? 0, DMP_ESTALEKEY (another
 * process rotated it) or DMP_EREVOKED (revoked). The first refusal is
 * reported (status error, DMP_EV_IDENTITY). One identity row read, and
 * one kv read: cheap enough for every submit and publish pass. */
int dmp_eng_key_check(struct dmp_engine *e);
/* Walk every pinned contact's rotation chain; follow, mark revoked or
 * report a refused chain. @return 0 or why nothing could be read */
int dmp_eng_rotation_check(struct dmp_engine *e);
/* DMP_EREVOKED (with a REJECTED event) when @p c's key is revoked. */
int dmp_eng_send_revoked(struct dmp_engine *e,
			 const struct dmp_store_contact *c);

/* engine_send.c: encode the queued messages created at or before
 * @p before again under e->keys (after a rotation). @return how many */
int dmp_eng_reencode_queue(struct dmp_engine *e, int64_t before);
/* engine_rotation.c: run it once after a rotation (kv flag). */
void dmp_eng_rotation_reencode(struct dmp_engine *e);

/* engine_publish.c: one publish pass (dmp_engine_publish() runs it, see
 * engine_flush.c). */
int dmp_eng_publish_pass(struct dmp_engine *e);
/* What one publish UPDATE holds at most (chunks, manifests or claims):
 * records, and value bytes (a single larger value goes alone). dmp-node
 * refuses an UPDATE of more than 128 operations (node_upd.h MAX_OPS) and
 * a DNS message over TCP is at most 65535 bytes: 128 owner names, TXT
 * framing and TSIG fit beside 48000 bytes of values. */
#define DMP_ENG_PUBLISH_OPS 128
#define DMP_ENG_PUBLISH_BYTES 48000

/* engine_send.c: the queue's pending messages, collected for a pass
 * (dmp_store_outbox_each_pending's callback; v is dmp_free'd). */
struct dmp_eng_pending {
	struct dmp_outbox_msg *v;
	size_t n, cap;
};
int dmp_eng_pending_collect(const struct dmp_outbox_msg *m, void *ud);

/* engine_send.c: a publish batch's claims (PROTOCOL.md 6.3 step 6, best
 * effort), made after the manifests went out and sent together. */
struct dmp_eng_claim {
	char zone[DMP_NAME_MAX], owner[DMP_NAME_MAX], value[256];
	char recipient[320];
	uint8_t msg_id[DMP_MSG_ID_BYTES];
	uint32_t ttl;
	int rc; /* 1 to send, else how it went */
};
struct dmp_eng_claims {
	struct dmp_eng_claim *v;
	size_t n, cap;
};
/* The claims of published message @p m (manifest in @p slot), queued. */
void dmp_eng_claims_add(struct dmp_engine *e, struct dmp_eng_claims *cl,
			const struct dmp_outbox_msg *m, uint32_t slot);
/* Send them (several to an UPDATE per zone), report each, empty @p cl. */
void dmp_eng_claims_flush(struct dmp_engine *e, struct dmp_eng_claims *cl);
/* The signed claim value of @p m (manifest in @p slot) pointing at
 * @p domain, living at most a day; its TTL in @p ttl. @return 0,
 * DMP_EINVAL (@p domain too long for a claim), DMP_EEXPIRED or the
 * signing error (logged) */
int dmp_eng_claim_sign(struct dmp_engine *e, const struct dmp_outbox_msg *m,
		       uint32_t slot, const char *domain, char *value,
		       size_t cap, uint32_t *ttl);

/* engine_relay.c: the relay fallback (docs/protocol.md 8.7.8). */
struct dmp_relay_bundle;
/* One record of a queued message, named in the sender's zone. */
struct dmp_eng_relay_rec {
	const char *name, *value;
	uint32_t ttl;
};
/* Most relays one message tries per publish pass. */
#define DMP_ENG_RELAY_TRIES 3
/* Most relay candidates (network.relays and discovered) one pass ranks. */
#define DMP_ENG_RELAY_CANDS 32
/* The relays that did not answer in one publish pass, by URL. */
struct dmp_eng_relay_dead {
	unsigned n;
	char url[DMP_ENG_RELAY_CANDS][201];
};
/* A relay candidate for dmp_eng_relay_order() (8.7.8). */
struct dmp_eng_relay_cand {
	const char *url;
	int configured; /* its place in network.relays; -1: discovered */
	int route; /* 1: its link record routes to the zone; 0: not known */
	uint32_t rtt_ms; /* measured; 0: none */
	int expired;	 /* its newest heartbeat's exp has passed */
	uint64_t hb_ts;	 /* its newest heartbeat (discovered ones) */
};
/* The order relays are tried in (8.7.8): a route to the recipient's zone
 * first, then the lower measured RTT (a measured one before none), then
 * configured relays (in their order) before discovered ones, then a
 * live heartbeat before an expired one, the newer heartbeat, the URL.
 * @p out gets indices into @p c, best first. @return @p n */
size_t dmp_eng_relay_order(const struct dmp_eng_relay_cand *c, size_t n,
			   size_t *out);
/* Set each candidate's rtt_ms to its SRTT in @p st (samples of the last
 * DMP_STORE_RELAY_RTT_MAX_AGE before @p now), else 0. @return how many
 * have one */
size_t dmp_eng_relay_rtt_fill(struct dmp_store *st,
			      struct dmp_eng_relay_cand *c, size_t n,
			      int64_t now);
/* Build the bundle of @p n records for @p zone: the manifest
 * (slot-<s>.mb-…) and chunks (chunk-<i>-<key>.…) renamed into @p zone by
 * the names.h formulas, plus @p claim (may be NULL) at the claim name of
 * @p slot. @return 0, DMP_EBADNAME (a record that is neither, or a name
 * too long), DMP_ETOOBIG (over DMP_RELAY_RECORDS_MAX) or DMP_ENOMEM */
int dmp_eng_relay_build(struct dmp_relay_bundle *b,
			const struct dmp_eng_relay_rec *r, size_t n,
			const uint8_t rid[DMP_USER_ID_BYTES], const char *zone,
			int slot, const char *claim, uint32_t claim_ttl);
/* Relay message @p m (its @p n records, manifest in @p slot) to its
 * recipient's zone through network.relays and (network.relays_from_
 * discovery) the relay peers of the peers store, in dmp_eng_relay_order,
 * at most DMP_ENG_RELAY_TRIES; @p dead: the relays that did not answer in
 * this pass (not asked again; added here).
 * On 0, @p path is "relay:<endpoint>" and the RELAYED event was emitted.
 * @return 0, DMP_EUNREACHABLE (no relay answered), DMP_ENOENT (no relays
 * configured or no recipient zone: nothing tried) or the refusal of the
 * last relay that answered (reason in @p why) */
int dmp_eng_relay_send(struct dmp_engine *e, const struct dmp_outbox_msg *m,
		       const struct dmp_eng_relay_rec *r, size_t n, int slot,
		       struct dmp_eng_relay_dead *dead, char *path,
		       size_t path_cap, char *why, size_t why_cap);
/* "" or why @p url is not a relay endpoint (http:// or https://). */
const char *dmp_eng_relay_url_bad(const char *url);

/* engine_flush.c: messages to one recipient go out in the order they
 * were queued: v[i] (of a pass's snapshot, oldest first) waits while an
 * older one to its recipient is unpublished in this pass (not due, or
 * failed; the pass marks what it published). */
int dmp_eng_outbox_held(const struct dmp_outbox_msg *v, size_t i);
/* poll() saw reads answered: retry what failed unreachable, now. */
int dmp_eng_flush_after_read(struct dmp_engine *e);

/* engine_net.c: where a read of @p name goes ("node 127.0.0.1:53",
 * "resolvers 9.9.9.9, ..."), for messages. */
void dmp_eng_read_where(const struct dmp_engine *e, const char *name, char *out,
			size_t cap);

/* engine_send.c: zones that carry claims, without duplicates. */
struct dmp_eng_claim_zones {
	char z[2 + DMP_CFG_LIST_MAX + DMP_PEERS_PROVIDERS][DMP_NAME_MAX];
	size_t n;
};
void dmp_eng_claim_zones_add(struct dmp_eng_claim_zones *cz, const char *zone);
void dmp_eng_claim_providers(struct dmp_engine *e,
			     struct dmp_eng_claim_zones *cz);

/* engine_pad.c: size padding and the publish delay (privacy.*). */
/* Check the privacy settings of @p c (the error, naming @p path, into
 * @p err, or logged when @p err is NULL). @return 0 or DMP_ECONFIG */
int dmp_eng_privacy_check(const struct client_conf *c, const char *path,
			  char *err, size_t errlen);
/* The data chunks a plaintext of @p len bytes is padded to (its bucket),
 * 0 for no padding (privacy.pad_buckets: off). */
unsigned dmp_eng_pad_k(const struct dmp_engine *e, int64_t ts, uint32_t ttl,
		       size_t len);
/* Wait one draw of the publish delay (once a publish pass, engine_pad.c). */
void dmp_eng_publish_delay(struct dmp_engine *e);

/* engine_cover.c: cover traffic (privacy.cover_rate, cover_polls). */
/* Publish a cover message to ourselves when one is due (one at most). */
void dmp_eng_cover_tick(struct dmp_engine *e);
/* A real message went out in @p k data chunks (cover sizes follow). */
void dmp_eng_cover_note(struct dmp_engine *e, unsigned k);
/* 1 when @p pt, decrypted from manifest @p m, is our own cover message:
 * drop it silently. */
int dmp_eng_cover_is(const struct dmp_engine *e, const struct dmp_manifest *m,
		     const uint8_t *pt, size_t pt_len);
/* Up to @p cap dummy mailbox names to read along with a poll (0..cap). */
size_t dmp_eng_cover_poll_names(const struct dmp_engine *e,
				char (*names)[DMP_NAME_MAX], size_t cap);

#endif /* DMP_ENGINE_I_H */
