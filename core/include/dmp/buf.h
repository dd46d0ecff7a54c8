/*
 * core/include/dmp/buf.h - bounded readers and writers for wire bytes.
 *
 * Every untrusted byte is read through struct dmp_rbuf. Its error is sticky
 * (as Knot's wire_ctx): after an overrun every later read returns zeros and
 * does nothing, so a parser checks once at the end. Integers are big-endian.
 */
#ifndef DMP_BUF_H
#define DMP_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

struct dmp_rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err; /* 0 or DMP_EMALFORMED */
};

void dmp_rbuf_init(struct dmp_rbuf *b, const void *p, size_t len);
uint8_t dmp_rbuf_u8(struct dmp_rbuf *b);
uint16_t dmp_rbuf_u16(struct dmp_rbuf *b);
uint32_t dmp_rbuf_u32(struct dmp_rbuf *b);
uint64_t dmp_rbuf_u64(struct dmp_rbuf *b);
/** Copy @p n bytes into @p dst (zeros on overrun). */
void dmp_rbuf_copy(struct dmp_rbuf *b, void *dst, size_t n);
/** Borrow @p n bytes in place; NULL on overrun. */
const uint8_t *dmp_rbuf_take(struct dmp_rbuf *b, size_t n);
size_t dmp_rbuf_left(const struct dmp_rbuf *b);
/** 0 if no error so far, else DMP_EMALFORMED. */
int dmp_rbuf_error(const struct dmp_rbuf *b);
/** 0 if no error and every byte was consumed, else DMP_EMALFORMED. */
int dmp_rbuf_finish(const struct dmp_rbuf *b);
/** Take @p n bytes; 1 if they equal @p magic, 0 if not or on overrun. */
int dmp_rbuf_magic(struct dmp_rbuf *b, const void *magic, size_t n);

/*
 * Writer. Fixed mode writes into caller storage and fails with DMP_ENOBUFS
 * when it is full. Growing mode (dmp_wbuf_init_dyn) owns a heap buffer that
 * the caller takes with dmp_wbuf_steal() or frees with dmp_wbuf_clear().
 */
struct dmp_wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	int err;
	int dyn;
};

void dmp_wbuf_init(struct dmp_wbuf *w, void *p, size_t cap);
void dmp_wbuf_init_dyn(struct dmp_wbuf *w);
void dmp_wbuf_u8(struct dmp_wbuf *w, uint8_t v);
void dmp_wbuf_u16(struct dmp_wbuf *w, uint16_t v);
void dmp_wbuf_u32(struct dmp_wbuf *w, uint32_t v);
void dmp_wbuf_u64(struct dmp_wbuf *w, uint64_t v);
void dmp_wbuf_put(struct dmp_wbuf *w, const void *src, size_t n);
/** Reserve @p n bytes and return a pointer to them (NULL on error). */
uint8_t *dmp_wbuf_reserve(struct dmp_wbuf *w, size_t n);
int dmp_wbuf_error(const struct dmp_wbuf *w);
/** Fixed mode: the bytes written as an int, or @p err after an error. */
int dmp_wbuf_result(const struct dmp_wbuf *w, int err);
/** Growing mode: hand the buffer to the caller (dmp_free()). */
uint8_t *dmp_wbuf_steal(struct dmp_wbuf *w, size_t *len);
void dmp_wbuf_clear(struct dmp_wbuf *w);

/* Big-endian helpers for code that has already bounds-checked. */
static inline uint32_t dmp_load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void dmp_store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* DMP_BUF_H */
