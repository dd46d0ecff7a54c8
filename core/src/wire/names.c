/* core/src/wire/names.c - owner names (PROTOCOL.md 3.1, 3.2). */
#include <stdio.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/links.h"
#include "dmp/names.h"

/* RFC 1035 2.3.4: 255 octets on the wire is 253 characters in text. */
#define NAME_TEXT_MAX 253
#define LABEL_MAX 63

uint32_t dmp_slot_of(const uint8_t msg_id[DMP_MSG_ID_BYTES])
{
	return dmp_load_u32(msg_id) % DMP_SLOT_COUNT;
}

void dmp_msg_key(char out[DMP_H12_CHARS + 1],
		 const uint8_t msg_id[DMP_MSG_ID_BYTES],
		 const uint8_t recipient_id[DMP_USER_ID_BYTES],
		 const uint8_t sender_spk[DMP_ED25519_PK_BYTES])
{
	uint8_t h[DMP_SHA256_BYTES];
	char hex[2 * DMP_SHA256_BYTES + 1];

	dmp_sha256_3(h, msg_id, DMP_MSG_ID_BYTES, recipient_id,
		     DMP_USER_ID_BYTES, sender_spk, DMP_ED25519_PK_BYTES);
	dmp_hex_encode(hex, h, sizeof(h));
	memcpy(out, hex, DMP_H12_CHARS);
	out[DMP_H12_CHARS] = '\0';
}

void dmp_mailbox_hash(char out[DMP_H12_CHARS + 1],
		      const uint8_t recipient_id[DMP_USER_ID_BYTES])
{
	dmp_sha256_hex_prefix(out, DMP_H12_CHARS, recipient_id,
			      DMP_USER_ID_BYTES);
}

/*
 * Length of @p zone without its one optional trailing dot, or a negative
 * code. Zones come from configuration and from records (claim mailbox
 * domains), so they are checked rather than trusted: no empty labels (that
 * also refuses "a.." and a leading dot), no label over 63 bytes, nothing
 * that is not printable ASCII.
 */
static int zone_len(const char *zone, size_t *out)
{
	size_t len, label = 0;

	*out = 0;
	if (!zone) {
		return DMP_EBADNAME;
	}
	len = strlen(zone);
	if (len && zone[len - 1] == '.') {
		len--;
	}
	if (len == 0 || len > NAME_TEXT_MAX) {
		return DMP_EBADNAME;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)zone[i];

		if (c == '.') {
			if (label == 0) {
				return DMP_EBADNAME;
			}
			label = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || ++label > LABEL_MAX) {
			return DMP_EBADNAME;
		}
	}
	if (label == 0) {
		return DMP_EBADNAME;
	}
	*out = len;
	return 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Write "<head>.<zone>" lower-cased; @p head is already lower-case. */
static int join(char *out, size_t cap, const char *head, const char *zone)
{
	size_t hlen = strlen(head), zlen, total;
	int rc;

	rc = zone_len(zone, &zlen);
	if (rc < 0) {
		goto out;
	}
	total = hlen + 1 + zlen;
	if (total > NAME_TEXT_MAX) {
		rc = DMP_EBADNAME;
		goto out;
	}
	if (!out || cap < total + 1) {
		rc = DMP_ENOBUFS;
		goto out;
	}
	memcpy(out, head, hlen);
	out[hlen] = '.';
	for (size_t i = 0; i < zlen; i++) {
		out[hlen + 1 + i] = lower(zone[i]);
	}
	out[total] = '\0';
	rc = (int)total;
out:
	if (rc < 0 && out && cap) {
		out[0] = '\0';
	}
	return rc;
}

int dmp_name_mailbox_label(char *out, size_t cap,
			   const uint8_t recipient_id[DMP_USER_ID_BYTES])
{
	char h[DMP_H12_CHARS + 1];

	if (!out || cap < 3 + DMP_H12_CHARS + 1) {
		if (out && cap) {
			out[0] = '\0';
		}
		return DMP_ENOBUFS;
	}
	dmp_mailbox_hash(h, recipient_id);
	memcpy(out, "mb-", 3);
	memcpy(out + 3, h, sizeof(h));
	return 3 + DMP_H12_CHARS;
}

/* "<what>-<slot>.mb-<h12>" for slot and claim names. */
static int slot_like(char *out, size_t cap, const char *what, uint32_t slot,
		     const uint8_t recipient_id[DMP_USER_ID_BYTES],
		     const char *zone)
{
	char h[DMP_H12_CHARS + 1], head[64];

	if (slot >= DMP_SLOT_COUNT) {
		if (out && cap) {
			out[0] = '\0';
		}
		return DMP_EINVAL;
	}
	dmp_mailbox_hash(h, recipient_id);
	snprintf(head, sizeof(head), "%s-%u.mb-%s", what, (unsigned)slot, h);
	return join(out, cap, head, zone);
}

int dmp_name_slot(char *out, size_t cap, uint32_t slot,
		  const uint8_t recipient_id[DMP_USER_ID_BYTES],
		  const char *zone)
{
	return slot_like(out, cap, "slot", slot, recipient_id, zone);
}

int dmp_name_claim(char *out, size_t cap, uint32_t slot,
		   const uint8_t recipient_id[DMP_USER_ID_BYTES],
		   const char *zone)
{
	return slot_like(out, cap, "claim", slot, recipient_id, zone);
}

static int is_key(const char *k)
{
	if (!k || strlen(k) != DMP_H12_CHARS) {
		return 0;
	}
	for (size_t i = 0; i < DMP_H12_CHARS; i++) {
		if (!((k[i] >= '0' && k[i] <= '9') ||
		      (k[i] >= 'a' && k[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int dmp_name_chunk(char *out, size_t cap, uint32_t index, const char *msg_key,
		   const char *zone)
{
	char head[64];

	if (!is_key(msg_key)) {
		if (out && cap) {
			out[0] = '\0';
		}
		return DMP_EINVAL;
	}
	/* Python's "%04d": at least four digits, more if needed. */
	snprintf(head, sizeof(head), "chunk-%04u-%s", (unsigned)index, msg_key);
	return join(out, cap, head, zone);
}

/* "<pre><hN(username)>" then the zone; the username keeps its case. */
static int user_hashed(char *out, size_t cap, const char *pre, size_t nchars,
		       const char *username, size_t ulen, const char *zone)
{
	char h[2 * DMP_SHA256_BYTES + 1], head[96];

	if (!username || ulen == 0) {
		if (out && cap) {
			out[0] = '\0';
		}
		return DMP_EINVAL;
	}
	dmp_sha256_hex_prefix(h, nchars, username, ulen);
	snprintf(head, sizeof(head), "%s%s", pre, h);
	return join(out, cap, head, zone);
}

int dmp_name_identity(char *out, size_t cap, const char *username, size_t ulen,
		      const char *zone)
{
	return user_hashed(out, cap, "id-", DMP_H16_CHARS, username, ulen,
			   zone);
}

int dmp_name_prekeys(char *out, size_t cap, const char *username, size_t ulen,
		     const char *zone)
{
	return user_hashed(out, cap, "prekeys.id-", DMP_H12_CHARS, username,
			   ulen, zone);
}

int dmp_name_rotation_user(char *out, size_t cap, const char *username,
			   size_t ulen, const char *domain)
{
	return user_hashed(out, cap, "rotate.id-", DMP_H16_CHARS, username,
			   ulen, domain);
}

/* Names that are one fixed label before a zone (PROTOCOL.md 3). */
#define FIXED_LABEL_NAME(fn, label)                                            \
	int fn(char *out, size_t cap, const char *zone)                        \
	{                                                                      \
		return join(out, cap, label, zone);                            \
	}

FIXED_LABEL_NAME(dmp_name_identity_anchored, "dmp")
FIXED_LABEL_NAME(dmp_name_cluster, "cluster")
FIXED_LABEL_NAME(dmp_name_bootstrap, "_dmp")
FIXED_LABEL_NAME(dmp_name_heartbeat, "_dnsmesh-heartbeat")
FIXED_LABEL_NAME(dmp_name_seen, "_dnsmesh-seen")
FIXED_LABEL_NAME(dmp_links_name, DMP_LINKS_LABEL) /* relay (dmp/links.h) */
FIXED_LABEL_NAME(dmp_name_rotation_user_anchored, "rotate.dmp")
FIXED_LABEL_NAME(dmp_name_rotation_cluster, "rotate.cluster")
FIXED_LABEL_NAME(dmp_name_rotation_bootstrap, "rotate._dmp")

int dmp_name_user_scope_safe(const char *username)
{
	for (const char *p = username; p && *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			return 0;
		}
	}
	return 1;
}
