/* core/src/wire/cluster.c - cluster manifest (PROTOCOL.md 2.6). */
#include <stddef.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/cluster.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "cluster_i.h"
#include "signed_i.h"
#include "dmp/text.h"

#define MAGIC_LEN 7

/* Length of a NUL-terminated field of @p size bytes, or -1 if unterminated. */
static long field_len(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n == size ? -1 : (long)n;
}

static int ids_unique(const struct dmp_cluster *c, size_t upto)
{
	for (size_t i = 0; i < upto; i++) {
		if (strcmp(c->nodes[i].node_id, c->nodes[upto].node_id) == 0) {
			return 0;
		}
	}
	return 1;
}

/* Copy @p n wire bytes into a C string field (caller checked n < size). */
static void put_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int parse_body(void *rec, const uint8_t *body, size_t len,
		      unsigned flags)
{
	struct dmp_cluster *out = rec;
	struct dmp_rbuf r;
	const uint8_t *name;
	uint8_t name_len, count;
	int rc = DMP_EMALFORMED;

	(void)flags;
	dmp_rbuf_init(&r, body, len);
	if (!dmp_rbuf_magic(&r, DMP_CLUSTER_MAGIC, MAGIC_LEN)) {
		return rc;
	}
	out->seq = dmp_rbuf_u64(&r);
	out->exp = dmp_rbuf_u64(&r);
	dmp_rbuf_copy(&r, out->operator_spk, sizeof(out->operator_spk));
	/* 2.6: name_len 1..64, or 65 when the last byte is the root dot. */
	name_len = dmp_rbuf_u8(&r);
	name = dmp_rbuf_take(&r, name_len);
	if (!name || name_len == 0 || name_len > DMP_DNSNAME_MAX + 1) {
		return rc;
	}
	rc = dmp_dnsname_normalize(out->name, sizeof(out->name),
				   (const char *)name, name_len);
	if (rc < 0) {
		rc = DMP_EBADNAME;
		return rc;
	}
	rc = DMP_EMALFORMED;
	/* 2.6 and 10 item 13: a manifest with no node is refused. */
	count = dmp_rbuf_u8(&r);
	if (dmp_rbuf_error(&r) || count == 0 || count > DMP_CLUSTER_MAX_NODES) {
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		struct dmp_cluster_node *n = &out->nodes[i];
		const uint8_t *p;
		size_t l;

		l = dmp_rbuf_u8(&r);
		p = dmp_rbuf_take(&r, l);
		if (!p || l == 0 || l > DMP_CLUSTER_NODE_ID_MAX ||
		    !dmp_ascii_printable(p, l)) {
			return rc;
		}
		put_str(n->node_id, p, l);
		l = dmp_rbuf_u16(&r);
		p = dmp_rbuf_take(&r, l);
		if (!p || l == 0 || l > DMP_CLUSTER_HTTP_MAX ||
		    !dmp_utf8_valid(p, l)) {
			return rc;
		}
		put_str(n->http_endpoint, p, l);
		/* dns_len 0 means "no DNS endpoint". */
		l = dmp_rbuf_u16(&r);
		p = dmp_rbuf_take(&r, l);
		if (!p || l > DMP_CLUSTER_DNS_MAX || !dmp_utf8_valid(p, l)) {
			return rc;
		}
		put_str(n->dns_endpoint, p, l);
		if (!ids_unique(out, i)) {
			return rc;
		}
	}
	out->node_count = count;
	if (dmp_rbuf_finish(&r) != 0) {
		return rc;
	}
	return 0;
}

int dmp_cluster_body_encode(uint8_t *out, size_t cap,
			    const struct dmp_cluster *c)
{
	char name[DMP_DNSNAME_MAX + 1];
	struct dmp_wbuf w;
	long name_len;
	int rc;

	name_len = field_len(c->name, sizeof(c->name));
	if (name_len < 0) {
		return DMP_EBADNAME;
	}
	rc = dmp_dnsname_normalize(name, sizeof(name), c->name,
				   (size_t)name_len);
	if (rc < 0) {
		return DMP_EBADNAME;
	}
	if (c->node_count == 0 || c->node_count > DMP_CLUSTER_MAX_NODES) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, out, cap);
	dmp_wbuf_put(&w, DMP_CLUSTER_MAGIC, MAGIC_LEN);
	dmp_wbuf_u64(&w, c->seq);
	dmp_wbuf_u64(&w, c->exp);
	dmp_wbuf_put(&w, c->operator_spk, sizeof(c->operator_spk));
	dmp_wbuf_u8(&w, (uint8_t)rc);
	dmp_wbuf_put(&w, name, (size_t)rc);
	dmp_wbuf_u8(&w, (uint8_t)c->node_count);
	for (size_t i = 0; i < c->node_count; i++) {
		const struct dmp_cluster_node *n = &c->nodes[i];
		long il = field_len(n->node_id, sizeof(n->node_id));
		long hl = field_len(n->http_endpoint, sizeof(n->http_endpoint));
		long dl = field_len(n->dns_endpoint, sizeof(n->dns_endpoint));

		if (il < 1 || hl < 1 || dl < 0 ||
		    !dmp_ascii_printable((const uint8_t *)n->node_id,
					 (size_t)il) ||
		    !dmp_utf8_valid((const uint8_t *)n->http_endpoint,
				    (size_t)hl) ||
		    !dmp_utf8_valid((const uint8_t *)n->dns_endpoint,
				    (size_t)dl) ||
		    !ids_unique(c, i)) {
			return DMP_EINVAL;
		}
		dmp_wbuf_u8(&w, (uint8_t)il);
		dmp_wbuf_put(&w, n->node_id, (size_t)il);
		dmp_wbuf_u16(&w, (uint16_t)hl);
		dmp_wbuf_put(&w, n->http_endpoint, (size_t)hl);
		dmp_wbuf_u16(&w, (uint16_t)dl);
		dmp_wbuf_put(&w, n->dns_endpoint, (size_t)dl);
	}
	return dmp_wbuf_result(&w, DMP_ETOOBIG);
}

static int encode_body(uint8_t *out, size_t cap, const void *rec,
		       unsigned flags)
{
	(void)flags;
	return dmp_cluster_body_encode(out, cap, rec);
}

static const struct dmp_signed_type cluster_type = {
    .prefix = DMP_PREFIX_CLUSTER,
    .rec_size = sizeof(struct dmp_cluster),
    .body_max = DMP_CLUSTER_BODY_MAX,
    .min_body = MAGIC_LEN,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_cluster, operator_spk)},
    .parse = parse_body,
    .encode = encode_body,
    .name_off = offsetof(struct dmp_cluster, name),
    .exp_off = offsetof(struct dmp_cluster, exp),
};

int dmp_cluster_body_parse(struct dmp_cluster *out, const uint8_t *body,
			   size_t len)
{
	return dmp_signed_body_parse(out, &cluster_type, body, len, 0);
}

int dmp_cluster_sign(char *out, size_t cap, const struct dmp_cluster *c,
		     const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	return dmp_signed_sign1(out, cap, &cluster_type, c, sk, 0);
}

int dmp_cluster_parse(struct dmp_cluster *out, const char *wire, size_t len,
		      const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
		      const char *name, size_t name_len, uint64_t now)
{
	return dmp_signed_parse_pinned(out, &cluster_type, wire, len,
				       pinned_spk, name, name_len, now);
}
