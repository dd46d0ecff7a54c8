/*
 * core/include/dmp/multipart.h - multi-part messages (docs/protocol.md,
 * "Multi-part messages", extension DMP-PART/1): a file larger than one
 * DMP v1 message is split into parts, each the body of an ordinary v1
 * message, each starting with one ASCII header line:
 *
 *   DMP-PART/1 id=<32 hex> part=<i>/<n> off=<o> size=<s> file=<f>
 *   enc=<raw|deflate> sha256=<64 hex>\n          (one line, single spaces)
 *
 * followed by bytes [o, o + len) of the payload: the file itself (raw) or
 * its zlib stream (deflate, used only when it is smaller). `size` is the
 * payload's length, `file` the file's, sha256 that of the file. The line
 * is inside the encrypted body, so the manifest signature of each v1
 * message authenticates it; nothing on the wire changes, and a peer that
 * knows nothing of it (the reference) shows each part as a message whose
 * first line is the header.
 *
 * Pure functions: no I/O, no engine.
 */
#ifndef DMP_MULTIPART_H
#define DMP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** The magic and version that start every part. */
#define DMP_MP_MAGIC "DMP-PART/1 "
/** The longest header line (its "\n" included). */
#define DMP_MP_HEADER_MAX 224
/** The largest file the format carries (a bound for receivers). */
#define DMP_MP_FILE_MAX (64u * 1024u * 1024u)
/** The most parts of one whole. */
#define DMP_MP_PARTS_MAX 65535u

/** How the payload encodes the file. */
enum dmp_mp_enc {
	DMP_MP_RAW = 0,	    /* payload = file */
	DMP_MP_DEFLATE = 1, /* payload = zlib (RFC 1950) stream of the file */
};

/** One part's header line, parsed. */
struct dmp_mp_header {
	uint8_t id[16]; /* message id of the whole */
	uint32_t index; /* 1..count */
	uint32_t count; /* parts of the whole, 2..DMP_MP_PARTS_MAX */
	uint64_t off;	/* where this part's data starts in the payload */
	uint64_t size;	/* payload length */
	uint64_t file;	/* file length, 1..DMP_MP_FILE_MAX */
	enum dmp_mp_enc enc;
	uint8_t sha256[32]; /* SHA-256 of the file */
};

/**
 * Write @p h's header line (with its "\n", NUL-terminated) into @p out.
 * @return its length (without the NUL), DMP_ENOBUFS or DMP_EINVAL (@p h
 *         out of range)
 */
int dmp_mp_header_format(const struct dmp_mp_header *h, char *out, size_t cap);

/**
 * Is @p body a part? Parses the header line strictly (the exact field
 * order and spelling above, lower-case hex, decimal without leading
 * zeros) and checks that the part's data lies inside the payload: 1 <=
 * index <= count <= size, off + data <= size, data > 0, the last part
 * ends the payload, raw payloads as long as the file, and a payload no
 * longer than a zlib stream of the largest file can be.
 * @param[out] h         filled when 1 is returned
 * @param[out] data_off  where the part's data starts in @p body
 * @return 1 (a part), 0 (not a part: no DMP-PART/ prefix),
 *         DMP_EUNSUPPORTED (DMP-PART/ with another version) or
 *         DMP_EMALFORMED
 */
DMP_MUST_CHECK int dmp_mp_header_parse(const uint8_t *body, size_t len,
				       struct dmp_mp_header *h,
				       size_t *data_off);

/** The bodies of a whole's parts, in order (dmp_mp_parts_free). */
struct dmp_mp_parts {
	size_t n;
	uint8_t **body; /* n bodies, dmp_malloc'd */
	size_t *len;
	enum dmp_mp_enc enc; /* what the split chose */
	uint64_t size;	     /* payload length */
};

/**
 * Split @p file into part bodies of at most @p body_max bytes each, with
 * message id @p id. With @p compress the file is deflated first and the
 * zlib stream sent instead when it is smaller.
 * @return 0, DMP_EINVAL (empty file, or body_max too small for a header
 *         and a byte), DMP_EFBIG (over DMP_MP_FILE_MAX or
 *         DMP_MP_PARTS_MAX parts) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_mp_split(const uint8_t *file, size_t len,
				const uint8_t id[16], size_t body_max,
				int compress, struct dmp_mp_parts *out);

/** Free what dmp_mp_split made (safe on a zeroed struct). */
void dmp_mp_parts_free(struct dmp_mp_parts *p);

/** Do @p a and @p b describe parts of the same whole? */
int dmp_mp_same_whole(const struct dmp_mp_header *a,
		      const struct dmp_mp_header *b);

/**
 * Reassemble a whole from its @p n part bodies, in any order: each must
 * parse, describe the same whole, each index 1..count present once, the
 * parts must tile the payload exactly; the payload is decoded and the
 * file checked against its length and SHA-256.
 * @param[out] file  dmp_malloc'd
 * @return 0, DMP_EMALFORMED (a body is no part, parts of different
 *         wholes, a missing, repeated or overlapping part), DMP_EMISMATCH
 *         (length or hash of the file wrong, bad zlib stream) or
 *         DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_mp_join(const uint8_t *const *bodies, const size_t *lens,
			       size_t n, uint8_t **file, size_t *file_len);

#endif /* DMP_MULTIPART_H */
