/*
 * core/src/node/node_journal.c - the update log: one framed, checksummed
 * record per committed batch of UPDATEs, on stable storage before the
 * UPDATEs are answered. sqlite then commits with synchronous=NORMAL (no
 * fsync per commit); after a crash the records written since the last
 * reset are applied again (idempotent, see node_store.c), so nothing
 * acknowledged is lost.
 *
 * Why: with one client waiting for each answer, group commit cannot help
 * and every acknowledgement cost one sqlite WAL commit (several 4 KiB
 * pages and an fdatasync that also appends). One O_DSYNC (and, where the
 * file system allows it, O_DIRECT) overwrite of a sector or two in a file
 * written in full at creation costs a fraction of that (docs/performance.md).
 *
 * Layout: sector 0 is a header (magic), records start on sector
 * boundaries from sector 1. A record never shares a sector with an earlier
 * one, so writing it cannot tear data already acknowledged:
 *
 *   "DJR1" | seq u64 | len u32 | BLAKE2b-128(seq | len | payload) | payload
 *
 * padded with zeros to the sector. Valid records form a chain of
 * consecutive seq from sector 1; the first record that is zero, fails its
 * checksum (a torn write) or breaks the chain (a stale record from before
 * a reset) ends the log. seq never restarts, so stale records cannot join
 * the chain. A reset (after the store is fsynced) zeroes sector 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"

#define SECT NJ_SECTOR
#define REC_HDR 32
#define MAC_LEN 16
#define PAYLOAD_VERSION 1
/* A value is capped far lower by max_value_bytes; this only bounds what
 * a damaged log can make us allocate. */
#define VALUE_MAX (1u << 20)

static const uint8_t file_magic[8] = {'D', 'M', 'P', 'U', 'L', 'O', 'G', '1'};
static const uint8_t rec_magic[4] = {'D', 'J', 'R', '1'};

struct njournal {
	int lock_fd; /* holds the flock */
	int fd;	     /* O_DSYNC, O_DIRECT when allowed */
	int direct;  /* O_DIRECT: buffers and offsets sector aligned */
	uint64_t cap;
	uint64_t tail; /* where the next record goes */
	uint64_t seq;  /* its seq */
	uint64_t last_off;
	int have_last; /* dmp_nj_unappend may erase the record at last_off */
	uint8_t *buf;  /* SECT aligned */
	size_t buf_cap;
};

static void rec_mac(uint8_t mac[MAC_LEN], const uint8_t *hdr12,
		    const uint8_t *p, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MAC_LEN);
	crypto_generichash_update(&st, hdr12, 12);
	crypto_generichash_update(&st, p, len);
	crypto_generichash_final(&st, mac, MAC_LEN);
}

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i]) {
			return 0;
		}
	}
	return 1;
}

int dmp_nj_scan(const uint8_t *img, size_t len, dmp_nj_record_fn fn, void *ud,
		uint64_t *tail, uint64_t *next_seq, int *torn)
{
	uint64_t off = SECT, seq = 0;
	int first = 1, rc = 0;

	*tail = SECT;
	*next_seq = 1;
	*torn = 0;
	if (len < SECT || memcmp(img, file_magic, sizeof(file_magic)) != 0) {
		return DMP_EMALFORMED;
	}
	while (len - off >= SECT) {
		struct dmp_rbuf b;
		const uint8_t *p, *mac, *pl;
		uint64_t s;
		uint32_t l;
		uint8_t want[MAC_LEN];

		p = img + off;
		dmp_rbuf_init(&b, p, (size_t)(len - off));
		if (memcmp(dmp_rbuf_take(&b, 4), rec_magic, 4) != 0) {
			*torn = !all_zero(p, SECT);
			break;
		}
		s = dmp_rbuf_u64(&b);
		l = dmp_rbuf_u32(&b);
		mac = dmp_rbuf_take(&b, MAC_LEN);
		pl = dmp_rbuf_take(&b, l);
		/* Runs past the end of the file, padding included. */
		if (dmp_rbuf_error(&b) != 0 ||
		    (REC_HDR + (uint64_t)l + SECT - 1) / SECT * SECT >
			len - off) {
			*torn = 1;
			break;
		}
		rec_mac(want, p + 4, pl, l);
		if (sodium_memcmp(want, mac, MAC_LEN) != 0) {
			*torn = 1;
			break;
		}
		if (!first && s != seq + 1) {
			break; /* stale, from before the last reset */
		}
		if (fn) {
			rc = fn(s, pl, l, ud);
			if (rc < 0) {
				break;
			}
		}
		first = 0;
		seq = s;
		off += (REC_HDR + (uint64_t)l + SECT - 1) / SECT * SECT;
	}
	*tail = off;
	/* Above every record anywhere in the file, not just the chain: after
	 * a reset the next chain must not be able to run on into stale
	 * records whose seq happens to follow (a stale add would then be
	 * replayed after a newer delete). */
	for (uint64_t o = SECT; rc == 0 && len - o >= SECT; o += SECT) {
		struct dmp_rbuf b;
		const uint8_t *p = img + o, *mac, *pl;
		uint64_t s;
		uint32_t l;
		uint8_t want[MAC_LEN];

		dmp_rbuf_init(&b, p, (size_t)(len - o));
		if (memcmp(dmp_rbuf_take(&b, 4), rec_magic, 4) != 0) {
			continue;
		}
		s = dmp_rbuf_u64(&b);
		l = dmp_rbuf_u32(&b);
		mac = dmp_rbuf_take(&b, MAC_LEN);
		pl = dmp_rbuf_take(&b, l);
		if (dmp_rbuf_error(&b) != 0) {
			continue;
		}
		rec_mac(want, p + 4, pl, l);
		if (s > seq && sodium_memcmp(want, mac, MAC_LEN) == 0) {
			seq = s;
		}
	}
	*next_seq = seq + 1;
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return w < 0 && errno == ENOSPC ? DMP_ENOSPC : DMP_EIO;
		}
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int grow_buf(struct njournal *j, size_t need)
{
	void *p;

	if (need <= j->buf_cap) {
		return 0;
	}
	need = (need + SECT - 1) / SECT * SECT;
	if (posix_memalign(&p, 4096, need) != 0) {
		return DMP_ENOMEM;
	}
	free(j->buf);
	j->buf = p;
	j->buf_cap = need;
	return 0;
}

/* One aligned write of buf[0..len), O_DSYNC. Where O_DIRECT is refused
 * for this file (EINVAL), go on without it. */
static int put(struct njournal *j, size_t len, uint64_t off)
{
	int rc = write_all(j->fd, j->buf, len, off);

	if (rc == DMP_EIO && errno == EINVAL && j->direct) {
		int fl = fcntl(j->fd, F_GETFL);

		if (fl >= 0 && fcntl(j->fd, F_SETFL, fl & ~O_DIRECT) == 0) {
			j->direct = 0;
			DMP_LOG_I("node: update log: O_DIRECT refused, using "
				  "O_DSYNC alone");
			rc = write_all(j->fd, j->buf, len, off);
		}
	}
	return rc;
}

int dmp_nj_open(struct njournal **out, const char *path, uint64_t cap,
		dmp_nj_record_fn fn, void *ud)
{
	struct njournal *j;
	struct stat sb;
	uint8_t *img = NULL;
	int torn = 0, rc;

	*out = NULL;
	cap = cap / SECT * SECT;
	if (cap < 4 * SECT) {
		return DMP_EINVAL;
	}
	j = dmp_calloc(1, sizeof(*j));
	if (!j) {
		return DMP_ENOMEM;
	}
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	j->lock_fd = -1;
	if (j->fd < 0 || fstat(j->fd, &sb) != 0) {
		DMP_LOG_E("node: update log %s: %s", path, strerror(errno));
		rc = DMP_EIO;
		goto fail;
	}
	/* Two daemons on one log would each replay and reset it. */
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		rc = DMP_EBUSY; /* the caller says what it does about it */
		goto fail;
	}
	rc = grow_buf(j, SECT);
	if (rc < 0) {
		goto fail;
	}
	if (sb.st_size > 0) {
		size_t len = (size_t)sb.st_size;
		size_t got = 0;
		uint64_t tail, seq;

		img = dmp_malloc(len);
		if (!img) {
			rc = DMP_ENOMEM;
			goto fail;
		}
		while (got < len) {
			ssize_t r =
			    pread(j->fd, img + got, len - got, (off_t)got);

			if (r < 0 && errno == EINTR) {
				continue;
			}
			if (r <= 0) {
				rc = DMP_EIO;
				goto fail;
			}
			got += (size_t)r;
		}
		rc = dmp_nj_scan(img, len, fn, ud, &tail, &seq, &torn);
		if (rc == DMP_EMALFORMED) {
			DMP_LOG_E("node: %s is not an update log", path);
			goto fail;
		}
		if (rc < 0) {
			goto fail;
		}
		if (torn) {
			DMP_LOG_W("node: update log %s: torn or damaged record "
				  "at offset %llu ignored (never acknowledged)",
				  path, (unsigned long long)tail);
		}
		if (tail > SECT) {
			DMP_LOG_N("node: update log %s: replayed %llu "
				  "bytes of records",
				  path, (unsigned long long)(tail - SECT));
		}
		j->seq = seq;
		j->tail = tail; /* appends go after the replayed records */
		dmp_free(img);
		img = NULL;
	} else {
		j->seq = 1;
	}
	/* Every block written once now, so that appends are overwrites:
	 * no block allocation or extent conversion on the UPDATE path. */
	if ((uint64_t)sb.st_size < cap) {
		uint64_t from = (uint64_t)sb.st_size / SECT * SECT;

		rc = grow_buf(j, 64 * 1024);
		if (rc < 0) {
			goto fail;
		}
		memset(j->buf, 0, j->buf_cap);
		for (uint64_t o = from; o < cap && rc == 0; o += j->buf_cap) {
			size_t n = (size_t)(cap - o < j->buf_cap ? cap - o
								 : j->buf_cap);

			rc = write_all(j->fd, j->buf, n, o);
		}
		if (rc == 0 && sb.st_size == 0) {
			memcpy(j->buf, file_magic, sizeof(file_magic));
			rc = write_all(j->fd, j->buf, SECT, 0);
		}
		if (rc == 0 && fsync(j->fd) != 0) {
			rc = DMP_EIO;
		}
		if (rc < 0) {
			DMP_LOG_E("node: update log %s: cannot preallocate: %s",
				  path, dmp_strerror(rc));
			goto fail;
		}
	} else {
		cap = (uint64_t)sb.st_size / SECT * SECT;
	}
	j->cap = cap;
	if (j->tail < SECT || j->tail > cap) {
		j->tail = SECT; /* new, or a log that was larger */
	}
	/* Appends: O_DSYNC, so one write is one durable write. O_DIRECT too
	 * where allowed (our I/O is sector aligned); tmpfs and some others
	 * refuse it. The first descriptor keeps the lock. */
	j->lock_fd = j->fd;
	j->direct = 1;
	j->fd = open(path, O_RDWR | O_DSYNC | O_DIRECT | O_CLOEXEC);
	if (j->fd < 0 && errno == EINVAL) {
		j->direct = 0;
		j->fd = open(path, O_RDWR | O_DSYNC | O_CLOEXEC);
	}
	if (j->fd < 0) {
		DMP_LOG_E("node: update log %s: %s", path, strerror(errno));
		rc = DMP_EIO;
		goto fail;
	}
	*out = j;
	return 0;
fail:
	dmp_free(img);
	dmp_nj_close(j);
	return rc;
}

void dmp_nj_close(struct njournal *j)
{
	if (!j) {
		return;
	}
	if (j->fd >= 0) {
		close(j->fd);
	}
	if (j->lock_fd >= 0) {
		close(j->lock_fd);
	}
	free(j->buf);
	dmp_free(j);
}

/* The descriptor is O_DSYNC: written is on stable storage. */
static int put_sync(struct njournal *j, size_t len, uint64_t off)
{
	return put(j, len, off);
}

int dmp_nj_append(struct njournal *j, const uint8_t *p, size_t len)
{
	size_t total = (REC_HDR + len + SECT - 1) / SECT * SECT;
	uint8_t *h;
	int rc;

	j->have_last = 0;
	if (len > UINT32_MAX || total > j->cap - SECT) {
		return DMP_ENOBUFS;
	}
	if (total > j->cap - j->tail) {
		return DMP_ENOSPC;
	}
	rc = grow_buf(j, total);
	if (rc < 0) {
		return rc;
	}
	h = j->buf;
	memcpy(h, rec_magic, 4);
	dmp_store_u32(h + 4, (uint32_t)(j->seq >> 32));
	dmp_store_u32(h + 8, (uint32_t)j->seq);
	dmp_store_u32(h + 12, (uint32_t)len);
	memcpy(h + REC_HDR, p, len);
	rec_mac(h + 16, h + 4, p, len);
	memset(h + REC_HDR + len, 0, total - REC_HDR - len);
	rc = put_sync(j, total, j->tail);
	if (rc < 0) {
		/* Part of it may be on disk: best effort to erase its start
		 * (the next record goes here anyway). */
		memset(j->buf, 0, SECT);
		(void)put_sync(j, SECT, j->tail);
		return rc;
	}
	j->last_off = j->tail;
	j->have_last = 1;
	j->tail += total;
	j->seq++;
	return 0;
}

int dmp_nj_unappend(struct njournal *j)
{
	int rc;

	if (!j->have_last) {
		return 0;
	}
	memset(j->buf, 0, SECT);
	rc = put_sync(j, SECT, j->last_off);
	j->have_last = 0;
	/* Even if the zeroing failed, the next record (same seq) goes here
	 * and replaces it. */
	j->tail = j->last_off;
	j->seq--;
	return rc;
}

int dmp_nj_reset(struct njournal *j)
{
	int rc;

	memset(j->buf, 0, SECT);
	rc = put_sync(j, SECT, SECT);
	if (rc == 0) {
		j->tail = SECT;
		j->have_last = 0;
	}
	return rc;
}

uint64_t dmp_nj_used(const struct njournal *j)
{
	return j->tail - SECT;
}

/* ---- payload: the ops of one commit ---- */

int dmp_nj_ops_encode(struct dmp_wbuf *w, const struct nop *const *ops,
		      size_t n, uint64_t now_ms)
{
	dmp_wbuf_u8(w, PAYLOAD_VERSION);
	dmp_wbuf_u64(w, now_ms);
	dmp_wbuf_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct nop *op = ops[i];
		size_t ol = strlen(op->owner), kl = strlen(op->key);

		dmp_wbuf_u8(w, (uint8_t)op->kind);
		dmp_wbuf_u32(w, op->ttl);
		dmp_wbuf_u8(w, (uint8_t)ol);
		dmp_wbuf_put(w, op->owner, ol);
		dmp_wbuf_u8(w, (uint8_t)kl);
		dmp_wbuf_put(w, op->key, kl);
		dmp_wbuf_u32(
		    w, (uint32_t)(op->kind == NOP_DEL_ALL ? 0 : op->vlen));
		if (op->kind != NOP_DEL_ALL) {
			dmp_wbuf_put(w, op->value, op->vlen);
		}
	}
	return dmp_wbuf_error(w);
}

void dmp_nj_ops_free(struct nop *ops, size_t n)
{
	for (size_t i = 0; ops && i < n; i++) {
		dmp_free(ops[i].value);
	}
	dmp_free(ops);
}

/* Copy @p len bytes as a NUL-terminated string of at most @p cap - 1. */
static int take_str(struct dmp_rbuf *b, char *dst, size_t cap)
{
	size_t len = dmp_rbuf_u8(b);
	const uint8_t *p = dmp_rbuf_take(b, len);

	if (!p || len >= cap || memchr(p, 0, len)) {
		return DMP_EMALFORMED;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

int dmp_nj_ops_decode(const uint8_t *p, size_t len, struct nop **out,
		      size_t *n_out, uint64_t *now_ms)
{
	struct dmp_rbuf b;
	struct nop *ops = NULL;
	uint32_t n;
	size_t i = 0;
	int rc = DMP_EMALFORMED;

	*out = NULL;
	*n_out = 0;
	*now_ms = 0;
	dmp_rbuf_init(&b, p, len);
	if (dmp_rbuf_u8(&b) != PAYLOAD_VERSION) {
		return DMP_EMALFORMED;
	}
	*now_ms = dmp_rbuf_u64(&b);
	n = dmp_rbuf_u32(&b);
	/* Each op takes at least 11 bytes: a bound before allocating. */
	if (dmp_rbuf_error(&b) != 0 || n == 0 || n > len / 11) {
		goto out;
	}
	ops = dmp_calloc(n, sizeof(*ops));
	if (!ops) {
		rc = DMP_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct nop *op = &ops[i];
		unsigned kind = dmp_rbuf_u8(&b);
		uint32_t vl;
		const uint8_t *v;

		op->ttl = dmp_rbuf_u32(&b);
		if (kind > NOP_DEL_ALL ||
		    take_str(&b, op->owner, sizeof(op->owner)) < 0 ||
		    take_str(&b, op->key, sizeof(op->key)) < 0 ||
		    dmp_dnswire_from_text(op->owner, op->wire, &op->wlen) < 0) {
			goto out;
		}
		op->kind = (enum nop_kind)kind;
		vl = dmp_rbuf_u32(&b);
		if (vl > VALUE_MAX || (kind == NOP_DEL_ALL) != (vl == 0)) {
			goto out;
		}
		v = dmp_rbuf_take(&b, vl);
		if (kind != NOP_DEL_ALL) {
			if (!v) {
				goto out;
			}
			op->value = dmp_malloc(vl + 1);
			if (!op->value) {
				rc = DMP_ENOMEM;
				goto out;
			}
			memcpy(op->value, v, vl);
			op->value[vl] = '\0';
			op->vlen = vl;
		}
	}
	rc = dmp_rbuf_finish(&b);
out:
	if (rc < 0) {
		dmp_nj_ops_free(ops, i < n ? i + 1 : n);
		*now_ms = 0;
		return rc;
	}
	*out = ops;
	*n_out = n;
	return 0;
}
