/* core/src/base/buf.c - bounded readers and writers. */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/err.h"

void dmp_rbuf_init(struct dmp_rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = p ? len : 0;
	b->off = 0;
	b->err = 0;
}

const uint8_t *dmp_rbuf_take(struct dmp_rbuf *b, size_t n)
{
	const uint8_t *r;

	if (b->err || n > b->len - b->off) {
		b->err = DMP_EMALFORMED;
		return NULL;
	}
	r = b->p + b->off;
	b->off += n;
	return r;
}

void dmp_rbuf_copy(struct dmp_rbuf *b, void *dst, size_t n)
{
	const uint8_t *src = dmp_rbuf_take(b, n);

	if (src) {
		memcpy(dst, src, n);
	} else if (n) {
		memset(dst, 0, n);
	}
}

static uint64_t read_be(struct dmp_rbuf *b, size_t n)
{
	const uint8_t *p = dmp_rbuf_take(b, n);
	uint64_t v = 0;

	if (!p) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

uint8_t dmp_rbuf_u8(struct dmp_rbuf *b)
{
	return (uint8_t)read_be(b, 1);
}

uint16_t dmp_rbuf_u16(struct dmp_rbuf *b)
{
	return (uint16_t)read_be(b, 2);
}

uint32_t dmp_rbuf_u32(struct dmp_rbuf *b)
{
	return (uint32_t)read_be(b, 4);
}

uint64_t dmp_rbuf_u64(struct dmp_rbuf *b)
{
	return read_be(b, 8);
}

size_t dmp_rbuf_left(const struct dmp_rbuf *b)
{
	return b->err ? 0 : b->len - b->off;
}

int dmp_rbuf_error(const struct dmp_rbuf *b)
{
	return b->err;
}

int dmp_rbuf_finish(const struct dmp_rbuf *b)
{
	if (b->err || b->off != b->len) {
		return DMP_EMALFORMED;
	}
	return 0;
}

int dmp_rbuf_magic(struct dmp_rbuf *b, const void *magic, size_t n)
{
	const uint8_t *p = dmp_rbuf_take(b, n);

	return p && memcmp(p, magic, n) == 0;
}

void dmp_wbuf_init(struct dmp_wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = p ? cap : 0;
	w->len = 0;
	w->err = 0;
	w->dyn = 0;
}

void dmp_wbuf_init_dyn(struct dmp_wbuf *w)
{
	w->p = NULL;
	w->cap = 0;
	w->len = 0;
	w->err = 0;
	w->dyn = 1;
}

uint8_t *dmp_wbuf_reserve(struct dmp_wbuf *w, size_t n)
{
	uint8_t *r;

	if (w->err) {
		return NULL;
	}
	if (n > w->cap - w->len) {
		size_t want = w->cap ? w->cap : 256;
		uint8_t *np;

		if (!w->dyn) {
			w->err = DMP_ENOBUFS;
			return NULL;
		}
		while (want - w->len < n) {
			if (want > SIZE_MAX / 2) {
				w->err = DMP_ENOMEM;
				return NULL;
			}
			want *= 2;
		}
		np = dmp_realloc(w->p, want);
		if (!np) {
			w->err = DMP_ENOMEM;
			return NULL;
		}
		w->p = np;
		w->cap = want;
	}
	r = w->p + w->len;
	w->len += n;
	return r;
}

void dmp_wbuf_put(struct dmp_wbuf *w, const void *src, size_t n)
{
	uint8_t *dst = dmp_wbuf_reserve(w, n);

	if (dst && n) {
		memcpy(dst, src, n);
	}
}

static void write_be(struct dmp_wbuf *w, uint64_t v, size_t n)
{
	uint8_t *dst = dmp_wbuf_reserve(w, n);

	if (!dst) {
		return;
	}
	for (size_t i = n; i-- > 0;) {
		dst[i] = (uint8_t)v;
		v >>= 8;
	}
}

void dmp_wbuf_u8(struct dmp_wbuf *w, uint8_t v)
{
	write_be(w, v, 1);
}

void dmp_wbuf_u16(struct dmp_wbuf *w, uint16_t v)
{
	write_be(w, v, 2);
}

void dmp_wbuf_u32(struct dmp_wbuf *w, uint32_t v)
{
	write_be(w, v, 4);
}

void dmp_wbuf_u64(struct dmp_wbuf *w, uint64_t v)
{
	write_be(w, v, 8);
}

int dmp_wbuf_error(const struct dmp_wbuf *w)
{
	return w->err;
}

int dmp_wbuf_result(const struct dmp_wbuf *w, int err)
{
	return w->err ? err : (int)w->len;
}

uint8_t *dmp_wbuf_steal(struct dmp_wbuf *w, size_t *len)
{
	uint8_t *p = w->p;

	*len = w->len;
	w->p = NULL;
	w->cap = 0;
	w->len = 0;
	return p;
}

void dmp_wbuf_clear(struct dmp_wbuf *w)
{
	if (w->dyn) {
		dmp_free(w->p);
	}
	w->p = NULL;
	w->cap = 0;
	w->len = 0;
}
