/*
 * core/include/dmp/names.h - owner names of every DMP record type
 * (PROTOCOL.md 3.1) and the slot and msg_key derivations they use.
 *
 * Every builder writes a NUL-terminated, lower-case name without a trailing
 * dot (PROTOCOL.md 3.2) into caller storage and returns its length. The
 * zone (domain, base) argument may carry one trailing dot and any case; it
 * is lower-cased on output. Hashes are computed over the exact bytes given:
 * a username keeps its case (PROTOCOL.md 10 item 8).
 *
 * All functions are reentrant and allocate nothing.
 */
#ifndef DMP_NAMES_H
#define DMP_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** Number of manifest / claim slots per mailbox (PROTOCOL.md 6.1). */
#define DMP_SLOT_COUNT 10
/** Hex characters of the mailbox label, msg_key and prekey-name hash. */
#define DMP_H12_CHARS 12
/** Hex characters of the hashed identity name (PROTOCOL.md 10 item 6). */
#define DMP_H16_CHARS 16
/** Room for any owner name built here: 253 bytes plus the NUL. */
#define DMP_NAME_MAX 254

/** Slot of a message: uint32_be(msg_id[0:4]) mod 10 (PROTOCOL.md 3.1). */
uint32_t dmp_slot_of(const uint8_t msg_id[DMP_MSG_ID_BYTES]);

/**
 * msg_key = h12(msg_id || recipient_id || sender_spk), the chunk-name key.
 * @param[out] out  DMP_H12_CHARS + 1 bytes, NUL-terminated lower-case hex
 */
void dmp_msg_key(char out[DMP_H12_CHARS + 1],
		 const uint8_t msg_id[DMP_MSG_ID_BYTES],
		 const uint8_t recipient_id[DMP_USER_ID_BYTES],
		 const uint8_t sender_spk[DMP_ED25519_PK_BYTES]);

/**
 * Mailbox hash h12(recipient_id) = h12(H(x25519_pub)).
 * @param[out] out  DMP_H12_CHARS + 1 bytes
 */
void dmp_mailbox_hash(char out[DMP_H12_CHARS + 1],
		      const uint8_t recipient_id[DMP_USER_ID_BYTES]);

/*
 * The builders below share these parameters and results:
 * @param out   caller buffer (DMP_NAME_MAX is always enough)
 * @param cap   size of @p out including room for the NUL
 * @param zone  NUL-terminated zone or domain: non-empty ASCII, labels of
 *              1..63 bytes with no byte <= 0x20 or >= 0x7F, one trailing
 *              dot allowed; lower-cased on output
 * @return name length (without NUL), DMP_ENOBUFS (@p cap too small),
 *         DMP_EBADNAME (bad zone or name over 253 bytes) or DMP_EINVAL
 *         (slot >= DMP_SLOT_COUNT, empty username)
 */

/** "mb-<h12(recipient_id)>", the mailbox label alone (no zone). */
DMP_MUST_CHECK int
dmp_name_mailbox_label(char *out, size_t cap,
		       const uint8_t recipient_id[DMP_USER_ID_BYTES]);

/** Manifest RRset: "slot-<slot>.mb-<h12(recipient_id)>.<zone>". */
DMP_MUST_CHECK int dmp_name_slot(char *out, size_t cap, uint32_t slot,
				 const uint8_t recipient_id[DMP_USER_ID_BYTES],
				 const char *zone);

/**
 * Chunk RR: "chunk-<index as %04u>-<msg_key>.<zone>".
 * @param msg_key  from dmp_msg_key(): exactly 12 lower-case hex digits,
 *                 otherwise DMP_EINVAL
 */
DMP_MUST_CHECK int dmp_name_chunk(char *out, size_t cap, uint32_t index,
				  const char *msg_key, const char *zone);

/** Claim RRset: "claim-<slot>.mb-<h12(recipient_id)>.<zone>". */
DMP_MUST_CHECK int dmp_name_claim(char *out, size_t cap, uint32_t slot,
				  const uint8_t recipient_id[DMP_USER_ID_BYTES],
				  const char *zone);

/**
 * 1 if @p username names the same records under every node's key scope:
 * no upper-case ASCII letter. Node scopes hash the lower-cased name while
 * record names use it as given (PROTOCOL.md 10 item 8), so a mixed-case
 * name publishes records its own key does not cover. 0 otherwise.
 */
int dmp_name_user_scope_safe(const char *username);

/**
 * Hashed identity: "id-<h16(username)>.<zone>"; @p username is hashed as
 * given (@p ulen bytes, case kept).
 */
DMP_MUST_CHECK int dmp_name_identity(char *out, size_t cap,
				     const char *username, size_t ulen,
				     const char *zone);

/** Zone-anchored identity: "dmp.<identity_domain>". */
DMP_MUST_CHECK int dmp_name_identity_anchored(char *out, size_t cap,
					      const char *identity_domain);

/** Prekey pool: "prekeys.id-<h12(username)>.<zone>" (case kept). */
DMP_MUST_CHECK int dmp_name_prekeys(char *out, size_t cap, const char *username,
				    size_t ulen, const char *zone);

/** Cluster manifest: "cluster.<base>". */
DMP_MUST_CHECK int dmp_name_cluster(char *out, size_t cap, const char *base);

/** Bootstrap record: "_dmp.<user_domain>". */
DMP_MUST_CHECK int dmp_name_bootstrap(char *out, size_t cap,
				      const char *user_domain);

/** Heartbeat RRset: "_dnsmesh-heartbeat.<zone>". */
DMP_MUST_CHECK int dmp_name_heartbeat(char *out, size_t cap, const char *zone);

/** Seen directory: "_dnsmesh-seen.<zone>". */
DMP_MUST_CHECK int dmp_name_seen(char *out, size_t cap, const char *zone);

/** User rotation, hashed: "rotate.id-<h16(username)>.<domain>" (3.1, 10.7). */
DMP_MUST_CHECK int dmp_name_rotation_user(char *out, size_t cap,
					  const char *username, size_t ulen,
					  const char *domain);

/** User rotation, zone-anchored: "rotate.dmp.<identity_domain>". */
DMP_MUST_CHECK int dmp_name_rotation_user_anchored(char *out, size_t cap,
						   const char *identity_domain);

/** Cluster rotation: "rotate.cluster.<base>". */
DMP_MUST_CHECK int dmp_name_rotation_cluster(char *out, size_t cap,
					     const char *base);

/** Bootstrap rotation: "rotate._dmp.<user_domain>". */
DMP_MUST_CHECK int dmp_name_rotation_bootstrap(char *out, size_t cap,
					       const char *user_domain);

#endif /* DMP_NAMES_H */
