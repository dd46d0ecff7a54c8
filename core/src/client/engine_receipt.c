/*
 * core/src/client/engine_receipt.c - optional delivery receipts
 * (messages.receipts, off by default for privacy; docs/protocol.md,
 * "Delivery receipts").
 *
 *  - A sender with receipts on asks for one in every message: the body's
 *    header block carries "Disposition-Notification-To: <our address>"
 *    (mail.h; RFC 8098's request field).
 *  - A recipient with receipts on answers a message that asks, once it is
 *    decrypted and delivered to the inbox (a pinned sender: strangers in
 *    intro/ learn nothing), with a DMP message of header type ACK (4.4)
 *    to the authenticated sender, never to the address in the field. It
 *    is published at once, best effort, without a prekey and without the
 *    outbox (no retry, no sent/ copy).
 *  - The ACK names the message it confirms ("Delivered: <32 hex>"); the
 *    original sender adds "X-DMP-Delivered:" to its sent/ copy and logs
 *    DMP_EV_RECEIPT.
 * Peers that know no receipts never ask, so they never get an ACK; a
 * receipt that reaches one anyway is readable text.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/envelope.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/mail.h"
#include "dmp/message.h"
#include "dmp/pipeline.h"
#include "engine_i.h"

#define DELIVERED "Delivered: "
/* The largest sent/ copy we rewrite (a body is at most 3600 bytes). */
#define SENT_MAX 65536

int dmp_eng_receipt_request(const struct dmp_engine *e, const uint8_t *body,
			    size_t len, uint8_t **out, size_t *out_len)
{
	struct dmp_mail_block b;
	char f[400];
	size_t vl, fl;
	int block = dmp_mail_block_parse(body, len, &b);

	*out = NULL;
	*out_len = 0;
	if (!e->conf.receipts ||
	    (block && dmp_mail_block_get(&b, body, DMP_MAIL_F_DNT, &vl))) {
		return 0;
	}
	/* A block gets the field as its first line; anything else gets a
	 * block of its own, so the body after it stays what it was. */
	fl = (size_t)snprintf(f, sizeof(f), "%s: %s\n%s",
			      dmp_mail_field_name(DMP_MAIL_F_DNT), e->address,
			      block ? "" : "\n");
	if (fl >= sizeof(f) || len + fl > DMP_ENGINE_MAX_BODY) {
		return 0; /* no room: sent without asking */
	}
	*out = dmp_malloc(len + fl);
	if (!*out) {
		return DMP_ENOMEM;
	}
	memcpy(*out, f, fl);
	if (len) {
		memcpy(*out + fl, body, len);
	}
	*out_len = len + fl;
	return 1;
}

/* Publish one ACK to @p c now: its chunks, then its manifest. */
static int publish_ack(struct dmp_engine *e, const struct dmp_store_contact *c,
		       const char *body)
{
	struct dmp_send_params p;
	struct dmp_send_result r;
	struct dmp_update_rr ops[48];
	struct dmp_eng_writer *w = NULL;
	struct dmp_codec *cd;
	uint8_t rid[32];
	unsigned mask;
	size_t k = 0;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	p.sender = e->keys;
	p.recipient_x25519_pk = c->x25519_pk;
	p.ts = dmp_eng_now(e);
	p.ttl = (uint32_t)(e->conf.lifetime < e->conf.max_lifetime
			       ? e->conf.lifetime
			       : e->conf.max_lifetime);
	p.zone = e->conf.domain;
	p.plaintext = (const uint8_t *)body;
	p.len = strlen(body);
	/* privacy.pad_buckets: a receipt looks like a short message. */
	p.pad_k = dmp_eng_pad_k(e, p.ts, p.ttl, p.len);
	p.type = DMP_MSG_ACK;
	rc = dmp_eng_codec(e, &cd);
	if (rc == 0) {
		rc = dmp_pipeline_send(cd, &p, &r);
	}
	if (rc < 0) {
		return rc;
	}
	if (r.n_records > DMP_ARRAY_LEN(ops) + 1) {
		dmp_send_result_clear(&r);
		return DMP_EFBIG;
	}
	dmp_sha256(rid, c->x25519_pk, 32);
	mask = dmp_eng_mailbox_nodes(e, rid);
	rc = dmp_eng_writer_open(e, 0, &w);
	if (rc == 0) {
		struct dmp_txt_record *man = &r.records[r.n_records - 1];
		struct dmp_update_rr mop = {DMP_UPDATE_ADD, man->name, man->ttl,
					    man->value, strlen(man->value)};

		/* The chunks in one UPDATE, the manifest after them. */
		k = r.n_records - 1;
		for (size_t i = 0; i < k; i++) {
			ops[i] = (struct dmp_update_rr){
			    DMP_UPDATE_ADD, r.records[i].name, r.records[i].ttl,
			    r.records[i].value, strlen(r.records[i].value)};
		}
		rc = k ? dmp_eng_writer_send_to(e, w, ops, k, mask) : 0;
		if (rc == 0) {
			rc = dmp_eng_writer_send_to(e, w, &mop, 1, mask);
		}
		dmp_eng_writer_close(e, w);
	}
	dmp_send_result_clear(&r);
	return rc;
}

void dmp_eng_receipt_send(struct dmp_engine *e, const struct dmp_manifest *m,
			  const struct dmp_store_contact *c,
			  const uint8_t *body, size_t len)
{
	struct dmp_mail_block b;
	char idhex[33], date[64], msgid[300], ack[1024], d[512];
	const uint8_t *v;
	size_t vl;
	int rc;

	/* No receipt signed by a key rotated away (engine_rotation.c). */
	if (!e->conf.receipts || !c || dmp_eng_key_check(e) < 0 ||
	    !dmp_mail_block_parse(body, len, &b) ||
	    !dmp_mail_block_get(&b, body, DMP_MAIL_F_DNT, &vl)) {
		return;
	}
	dmp_hex_encode(idhex, m->msg_id, 16);
	v = dmp_mail_block_get(&b, body, DMP_MAIL_F_MESSAGE_ID, &vl);
	if (v && vl < sizeof(msgid)) {
		snprintf(msgid, sizeof(msgid), "%.*s", (int)vl,
			 (const char *)v);
	} else {
		snprintf(msgid, sizeof(msgid), "<%s@dmp>", idhex);
	}
	dmp_eng_rfc5322_date(date, sizeof(date), dmp_eng_now(e));
	snprintf(ack, sizeof(ack),
		 "Subject: Delivery receipt\nIn-Reply-To: %s\n\n" DELIVERED
		 "%s\nYour message was received and decrypted by %s on %s.\n",
		 msgid, idhex, e->address, date);
	rc = publish_ack(e, c, ack);
	snprintf(d, sizeof(d), "receipt for %s to %s: %s", idhex, c->alias,
		 rc < 0 ? dmp_strerror(rc) : "sent");
	if (rc < 0) {
		DMP_LOG_I("%s", d);
	}
	dmp_eng_emit(e, DMP_EV_RECEIPT, c->alias, m->msg_id, rc < 0 ? rc : 0,
		     d);
}

int dmp_eng_receipt_is_ack(const uint8_t *msg, size_t len)
{
	struct dmp_message_view v;

	return dmp_message_parse(&v, msg, len) == 0 &&
	       v.hdr.type == DMP_MSG_ACK;
}

/* The message id an ACK body confirms ("Delivered: <32 hex>"). */
static int acked_id(const uint8_t *body, size_t len, char idhex[33])
{
	size_t dl = strlen(DELIVERED);

	for (size_t off = 0; off + dl + 32 <= len;) {
		const uint8_t *nl = memchr(body + off, '\n', len - off);

		if (memcmp(body + off, DELIVERED, dl) == 0) {
			size_t i;

			for (i = 0; i < 32; i++) {
				uint8_t ch = body[off + dl + i];

				if (!((ch >= '0' && ch <= '9') ||
				      (ch >= 'a' && ch <= 'f'))) {
					break;
				}
			}
			if (i == 32) {
				memcpy(idhex, body + off + dl, 32);
				idhex[32] = 0;
				return 1;
			}
		}
		if (!nl) {
			break;
		}
		off = (size_t)(nl - body) + 1;
	}
	return 0;
}

/* The sent/ copy of @p idhex, in new/ or cur/ (any flags): its path. */
static int find_sent(const struct dmp_engine *e, const char *idhex, char *path,
		     size_t cap)
{
	static const char *const sub[2] = {"new", "cur"};
	char pat[40], dir[DMP_ENG_HOME_MAX + 40];

	snprintf(pat, sizeof(pat), ".%s.dmp", idhex);
	for (int i = 0; i < 2; i++) {
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/%s", e->dirs[2], sub[i]);
		d = opendir(dir);
		while (d && (de = readdir(d)) != NULL) {
			if (strstr(de->d_name, pat)) {
				snprintf(path, cap, "%s/%s", dir, de->d_name);
				closedir(d);
				return 1;
			}
		}
		if (d) {
			closedir(d);
		}
	}
	return 0;
}

/* Add "X-DMP-Delivered: ..." to the header of the sent/ copy at @p path
 * (tmp -> fsync -> rename over it, keeping its name and flags). */
static int mark_sent(const struct dmp_engine *e, const char *path,
		     const char *line)
{
	char tmp[DMP_ENG_HOME_MAX + 80];
	char *buf = dmp_malloc(SENT_MAX);
	const char *sep;
	ssize_t n;
	size_t ll = strlen(line);
	int fd, rc = DMP_EIO;

	if (!buf) {
		return DMP_ENOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, SENT_MAX);
	if (fd >= 0) {
		close(fd);
	}
	sep = n > 0 && n < SENT_MAX ? memmem(buf, (size_t)n, "\n\n", 2) : NULL;
	if (!sep ||
	    memmem(buf, (size_t)(sep - buf), "\nX-DMP-Delivered:", 17)) {
		/* Unreadable, or a receipt already marked it. */
		dmp_free(buf);
		return sep ? 0 : DMP_EIO;
	}
	snprintf(tmp, sizeof(tmp), "%s/tmp/receipt.%d", e->dirs[2],
		 (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		dmp_free(buf);
		return DMP_EIO;
	}
	{
		size_t head = (size_t)(sep - buf) + 1;

		if (write(fd, buf, head) == (ssize_t)head &&
		    write(fd, line, ll) == (ssize_t)ll &&
		    write(fd, buf + head, (size_t)n - head) ==
			(ssize_t)((size_t)n - head) &&
		    fsync(fd) == 0) {
			rc = 0;
		}
	}
	close(fd);
	dmp_free(buf);
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = DMP_EIO;
	}
	if (rc < 0) {
		unlink(tmp);
	}
	return rc;
}

void dmp_eng_receipt_take(struct dmp_engine *e, const struct dmp_manifest *m,
			  const struct dmp_store_contact *c, const uint8_t *pt,
			  size_t pt_len)
{
	struct dmp_envelope env;
	char idhex[33], path[DMP_ENG_HOME_MAX + 300], date[64], line[400];
	char d[600];
	uint8_t id[16];
	int rc;

	if (m->prekey_id != 0) {
		dmp_eng_prekey_delete(e, m->prekey_id);
	}
	dmp_envelope_decode(&env, pt, pt_len);
	if (!c || !acked_id(env.body, env.body_len, idhex) ||
	    dmp_hex_decode(id, sizeof(id), idhex, 32) < 0) {
		/* Receipts are taken from pinned contacts only. */
		DMP_LOG_I("receipt ignored: %s",
			  c ? "it names no message" : "sender not pinned");
		return;
	}
	dmp_eng_rfc5322_date(date, sizeof(date), (int64_t)m->ts);
	snprintf(line, sizeof(line), "X-DMP-Delivered: %s (receipt from %s)\n",
		 date, c->alias);
	rc = find_sent(e, idhex, path, sizeof(path)) ? mark_sent(e, path, line)
						     : DMP_ENOENT;
	snprintf(d, sizeof(d), "delivered to %s on %s%s", c->alias, date,
		 rc == DMP_ENOENT ? " (no sent/ copy to mark)"
		 : rc < 0	  ? " (sent/ copy not marked)"
				  : "");
	dmp_eng_emit(e, DMP_EV_RECEIPT, c->alias, id, 0, d);
}
