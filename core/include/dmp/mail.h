/*
 * core/include/dmp/mail.h - mail conventions carried in message bodies
 * (docs/protocol.md, "Mail headers in the body"): no wire change, only
 * what a body's bytes mean to a mail reader.
 *
 * A body may start with a header block: RFC 5322 fields from a short
 * allow-list (Subject, In-Reply-To, References, Message-ID, MIME-Version,
 * Content-Type, Content-Transfer-Encoding, Content-Disposition,
 * Content-Language, Disposition-Notification-To) ended by an empty line.
 * The receiver merges those fields into the Maildir file's header; the
 * sender and time always come from DMP, never from the body. A body that
 * is not UTF-8 text and declares no MIME type is delivered as an
 * attachment (base64, application/octet-stream).
 *
 * Pure functions: no I/O, no engine. Used by the engine (delivery and the
 * sent/ copy) and by `dmp sendmail`.
 */
#ifndef DMP_MAIL_H
#define DMP_MAIL_H

#include <stddef.h>
#include <stdint.h>

/** The largest header block taken (bytes, blank line included). */
#define DMP_MAIL_BLOCK_MAX 16384
/** At most this many fields in a header block. */
#define DMP_MAIL_FIELDS_MAX 64
/** The longest line of a header block (RFC 5322 2.1.1, without CRLF). */
#define DMP_MAIL_LINE_MAX 998

/** The allow-listed fields, by index (DMP_MAIL_F_*). */
enum dmp_mail_field {
	DMP_MAIL_F_SUBJECT = 0,
	DMP_MAIL_F_IN_REPLY_TO,
	DMP_MAIL_F_REFERENCES,
	DMP_MAIL_F_MESSAGE_ID,
	DMP_MAIL_F_MIME_VERSION,
	DMP_MAIL_F_CONTENT_TYPE,
	DMP_MAIL_F_CTE,
	DMP_MAIL_F_CONTENT_DISPOSITION,
	DMP_MAIL_F_CONTENT_LANGUAGE,
	DMP_MAIL_F_DNT, /* Disposition-Notification-To: a receipt request */
	DMP_MAIL_F_COUNT
};

/** The canonical spelling of an allow-listed field (DMP_MAIL_F_*). */
const char *dmp_mail_field_name(enum dmp_mail_field f);

/** One field of a parsed header block: offsets into the parsed bytes. */
struct dmp_mail_field_at {
	enum dmp_mail_field field;
	size_t off; /* start of the field's first line (its name) */
	size_t len; /* through the last continuation line, without its EOL */
	size_t val; /* offset of the value (after "Name:" and blanks) */
};

/** A parsed header block. */
struct dmp_mail_block {
	size_t body_off; /* where the body starts (after the empty line) */
	size_t n;	 /* allow-listed fields kept (first of each name) */
	struct dmp_mail_field_at f[DMP_MAIL_FIELDS_MAX];
	size_t dropped; /* well-formed fields not on the allow-list, or
			   repeated, or (Message-ID) malformed */
};

/**
 * Does @p body start with a header block? It does when, and only when:
 *  - its first line is an allow-listed field ("Subject: ..."; the name
 *    compared ignoring case, the colon right after it);
 *  - every line up to the first empty line is a field ("Name:" with Name
 *    printable ASCII without ':' or blanks) or a continuation (starting
 *    with a space or tab after a field);
 *  - every line is valid UTF-8 without control bytes other than tab (and
 *    a CR before its LF), at most DMP_MAIL_LINE_MAX bytes;
 *  - the block, its empty line included, fits DMP_MAIL_BLOCK_MAX bytes
 *    with at most DMP_MAIL_FIELDS_MAX fields.
 * Anything else (plain text that happens to hold a colon, a missing empty
 * line) is not a header block, and the whole body is text.
 * @param[out] b  filled when 1 is returned; zeroed otherwise
 * @return 1 or 0
 */
int dmp_mail_block_parse(const uint8_t *body, size_t len,
			 struct dmp_mail_block *b);

/** The value of allow-listed field @p f in @p b, or NULL (*vlen = 0). */
const uint8_t *dmp_mail_block_get(const struct dmp_mail_block *b,
				  const uint8_t *body, enum dmp_mail_field f,
				  size_t *vlen);

/**
 * The Maildir file of a received (or sent) message:
 *   @p head (fields the engine vouches for, each line ending in "\n"),
 *   Message-ID: the block's if it is a single "<x@y>", else "<@p idhex@dmp>",
 *   the block's other allow-listed fields (CR dropped),
 *   MIME fields: a body that is not UTF-8 text and declares no
 *   Content-Type becomes multipart/mixed with a short note and the bytes
 *   as an application/octet-stream attachment (base64, 76 columns,
 *   boundary "dmp-<idhex>"); UTF-8 text with non-ASCII bytes and no
 *   Content-Type is declared text/plain; charset=utf-8,
 *   an empty line, then the body after the block, byte for byte.
 * @param[out] out  dmp_malloc'd, dmp_free() it
 * @return 0, DMP_ENOMEM or DMP_EINVAL (idhex not 32 hex digits)
 */
int dmp_mail_render(const char *head, const char *idhex, const uint8_t *body,
		    size_t len, uint8_t **out, size_t *out_len);

/**
 * A body from a whole RFC 5322 message (what `dmp sendmail` reads): its
 * allow-listed header fields as a header block (CR dropped, the first of
 * each), an empty line, then its body byte for byte. Transport and
 * identity fields (From, To, Cc, Bcc, Date, Received, Return-Path, ...)
 * are dropped: DMP authenticates the sender and the time. A message whose
 * header has no allow-listed field becomes its body alone. Input that
 * does not start with a well-formed header (fields as in
 * dmp_mail_block_parse(), any names, ended by an empty line) is the body
 * as is. References is left out when the block would not fit
 * DMP_MAIL_BLOCK_MAX.
 * @param[out] out  dmp_malloc'd
 * @return 0, DMP_ENOMEM, or DMP_EMALFORMED (the other fields alone do
 *         not fit DMP_MAIL_BLOCK_MAX)
 */
int dmp_mail_import(const uint8_t *msg, size_t len, uint8_t **out,
		    size_t *out_len);

/**
 * Call @p fn for each address (addr-spec, "user@host") of the header
 * fields named @p field (case-insensitive; all occurrences, continuation
 * lines joined) of the RFC 5322 message @p msg: "Name <a@b>", "a@b",
 * "a@b (comment)", groups "list: a@b, c@d;" and quoted display names are
 * understood. @p fn returns nonzero to stop.
 * @return addresses seen, or DMP_EMALFORMED (an address over 319 bytes)
 */
int dmp_mail_addresses(const uint8_t *msg, size_t len, const char *field,
		       int (*fn)(const char *addr, void *ud), void *ud);

#endif /* DMP_MAIL_H */
