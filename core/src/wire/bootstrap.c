/* core/src/wire/bootstrap.c - bootstrap record (PROTOCOL.md 2.7). */
#include <stddef.h>
#include <strings.h>
#include <string.h>

#include "dmp/bootstrap.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "bootstrap_i.h"
#include "signed_i.h"

#define MAGIC_LEN 7

/*
 * Insertion sort on priority: stable, as the reference's list.sort(), and
 * n <= 16. Sorts an index so callers' entries stay where they are.
 */
static void sort_order(uint8_t idx[DMP_BOOTSTRAP_MAX_ENTRIES],
		       const struct dmp_bootstrap_entry *e, size_t n)
{
	/*
	 * Fill all of idx, not just n: GCC 12 at -O2 otherwise reports a
	 * false stringop-overflow here. Callers check n <= the maximum.
	 */
	for (size_t i = 0; i < DMP_BOOTSTRAP_MAX_ENTRIES; i++) {
		idx[i] = (uint8_t)i;
	}
	if (n > DMP_BOOTSTRAP_MAX_ENTRIES) {
		n = DMP_BOOTSTRAP_MAX_ENTRIES;
	}
	for (size_t i = 1; i < n; i++) {
		uint8_t v = idx[i];
		size_t j = i;

		while (j > 0 && e[idx[j - 1]].priority > e[v].priority) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = v;
	}
}

/* 2.7: (priority, lower(base)) pairs are unique; bases are normalised. */
static int entry_unique(const struct dmp_bootstrap_entry *e, const char *base,
			size_t upto, char (*norm)[DMP_DNSNAME_MAX + 1])
{
	for (size_t i = 0; i < upto; i++) {
		if (e[i].priority == e[upto].priority &&
		    strcasecmp(norm ? norm[i] : e[i].base, base) == 0) {
			return 0;
		}
	}
	return 1;
}

static int parse_body(void *rec, const uint8_t *body, size_t len,
		      unsigned flags)
{
	struct dmp_bootstrap *out = rec;
	struct dmp_bootstrap tmp;
	uint8_t idx[DMP_BOOTSTRAP_MAX_ENTRIES];
	struct dmp_rbuf r;
	const uint8_t *p;
	size_t l, count;
	int rc = DMP_EMALFORMED;

	(void)flags;
	memset(&tmp, 0, sizeof(tmp));
	dmp_rbuf_init(&r, body, len);
	if (!dmp_rbuf_magic(&r, DMP_BOOTSTRAP_MAGIC, MAGIC_LEN)) {
		return rc;
	}
	tmp.seq = dmp_rbuf_u64(&r);
	tmp.exp = dmp_rbuf_u64(&r);
	dmp_rbuf_copy(&r, tmp.signer_spk, sizeof(tmp.signer_spk));
	/* dom_len: 1..64, or 65 with a trailing dot (as 2.6 name_len). */
	l = dmp_rbuf_u8(&r);
	p = dmp_rbuf_take(&r, l);
	if (!p || l == 0 || l > DMP_DNSNAME_MAX + 1) {
		return rc;
	}
	if (dmp_dnsname_normalize(tmp.user_domain, sizeof(tmp.user_domain),
				  (const char *)p, l) < 0) {
		rc = DMP_EBADNAME;
		return rc;
	}
	count = dmp_rbuf_u8(&r);
	if (dmp_rbuf_error(&r) || count == 0 ||
	    count > DMP_BOOTSTRAP_MAX_ENTRIES) {
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		struct dmp_bootstrap_entry *e = &tmp.entries[i];

		e->priority = dmp_rbuf_u16(&r);
		l = dmp_rbuf_u8(&r);
		p = dmp_rbuf_take(&r, l);
		if (!p || l == 0 || l > DMP_DNSNAME_MAX + 1) {
			return rc;
		}
		if (dmp_dnsname_normalize(e->base, sizeof(e->base),
					  (const char *)p, l) < 0) {
			rc = DMP_EBADNAME;
			return rc;
		}
		dmp_rbuf_copy(&r, e->operator_spk, sizeof(e->operator_spk));
		if (!entry_unique(tmp.entries, e->base, i, NULL)) {
			return rc;
		}
	}
	if (dmp_rbuf_finish(&r) != 0) {
		return rc;
	}
	/* 2.7: sorted after parsing too, so entries[0] is preferred. */
	*out = tmp;
	sort_order(idx, tmp.entries, count);
	for (size_t i = 0; i < count; i++) {
		out->entries[i] = tmp.entries[idx[i]];
	}
	out->entry_count = count;
	return 0;
}

int dmp_bootstrap_body_encode(uint8_t *out, size_t cap,
			      const struct dmp_bootstrap *b)
{
	char dom[DMP_DNSNAME_MAX + 1];
	char base[DMP_BOOTSTRAP_MAX_ENTRIES][DMP_DNSNAME_MAX + 1];
	uint8_t idx[DMP_BOOTSTRAP_MAX_ENTRIES];
	struct dmp_wbuf w;
	int dl;

	dl = dmp_dnsname_normalize(
	    dom, sizeof(dom), b->user_domain,
	    strnlen(b->user_domain, sizeof(b->user_domain)));
	if (dl < 0) {
		return DMP_EBADNAME;
	}
	if (b->entry_count == 0 || b->entry_count > DMP_BOOTSTRAP_MAX_ENTRIES) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < b->entry_count; i++) {
		const char *s = b->entries[i].base;

		if (dmp_dnsname_normalize(
			base[i], sizeof(base[i]), s,
			strnlen(s, sizeof(b->entries[i].base))) < 0) {
			return DMP_EBADNAME;
		}
		if (!entry_unique(b->entries, base[i], i, base)) {
			return DMP_EINVAL;
		}
	}
	sort_order(idx, b->entries, b->entry_count);
	dmp_wbuf_init(&w, out, cap);
	dmp_wbuf_put(&w, DMP_BOOTSTRAP_MAGIC, MAGIC_LEN);
	dmp_wbuf_u64(&w, b->seq);
	dmp_wbuf_u64(&w, b->exp);
	dmp_wbuf_put(&w, b->signer_spk, sizeof(b->signer_spk));
	dmp_wbuf_u8(&w, (uint8_t)dl);
	dmp_wbuf_put(&w, dom, (size_t)dl);
	dmp_wbuf_u8(&w, (uint8_t)b->entry_count);
	for (size_t i = 0; i < b->entry_count; i++) {
		const struct dmp_bootstrap_entry *e = &b->entries[idx[i]];
		size_t bl = strlen(base[idx[i]]);

		dmp_wbuf_u16(&w, e->priority);
		dmp_wbuf_u8(&w, (uint8_t)bl);
		dmp_wbuf_put(&w, base[idx[i]], bl);
		dmp_wbuf_put(&w, e->operator_spk, sizeof(e->operator_spk));
	}
	return dmp_wbuf_result(&w, DMP_ETOOBIG);
}

static int encode_body(uint8_t *out, size_t cap, const void *rec,
		       unsigned flags)
{
	(void)flags;
	return dmp_bootstrap_body_encode(out, cap, rec);
}

static const struct dmp_signed_type bootstrap_type = {
    .prefix = DMP_PREFIX_BOOTSTRAP,
    .rec_size = sizeof(struct dmp_bootstrap),
    .body_max = DMP_BOOTSTRAP_BODY_MAX,
    .min_body = MAGIC_LEN,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_bootstrap, signer_spk)},
    .parse = parse_body,
    .encode = encode_body,
    .name_off = offsetof(struct dmp_bootstrap, user_domain),
    .exp_off = offsetof(struct dmp_bootstrap, exp),
};

int dmp_bootstrap_body_parse(struct dmp_bootstrap *out, const uint8_t *body,
			     size_t len)
{
	return dmp_signed_body_parse(out, &bootstrap_type, body, len, 0);
}

int dmp_bootstrap_sign(char *out, size_t cap, const struct dmp_bootstrap *b,
		       const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	return dmp_signed_sign1(out, cap, &bootstrap_type, b, sk, 0);
}

int dmp_bootstrap_parse(struct dmp_bootstrap *out, const char *wire, size_t len,
			const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
			const char *user_domain, size_t domain_len,
			uint64_t now)
{
	return dmp_signed_parse_pinned(out, &bootstrap_type, wire, len,
				       pinned_spk, user_domain, domain_len,
				       now);
}
