/* core/src/wire/bootstrap.c - bootstrap record (PROTOCOL.md 2.7). */
#include <strings.h>
#include <string.h>

#include "dmp/bootstrap.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "bootstrap_i.h"

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

int dmp_bootstrap_body_parse(struct dmp_bootstrap *out, const uint8_t *body,
			     size_t len)
{
	struct dmp_bootstrap tmp;
	uint8_t idx[DMP_BOOTSTRAP_MAX_ENTRIES];
	struct dmp_rbuf r;
	const uint8_t *p;
	size_t l, count;
	int rc = DMP_EMALFORMED;

	memset(out, 0, sizeof(*out));
	memset(&tmp, 0, sizeof(tmp));
	dmp_rbuf_init(&r, body, len);
	p = dmp_rbuf_take(&r, MAGIC_LEN);
	if (!p || memcmp(p, DMP_BOOTSTRAP_MAGIC, MAGIC_LEN) != 0) {
		goto out;
	}
	tmp.seq = dmp_rbuf_u64(&r);
	tmp.exp = dmp_rbuf_u64(&r);
	dmp_rbuf_copy(&r, tmp.signer_spk, sizeof(tmp.signer_spk));
	/* dom_len: 1..64, or 65 with a trailing dot (as 2.6 name_len). */
	l = dmp_rbuf_u8(&r);
	p = dmp_rbuf_take(&r, l);
	if (!p || l == 0 || l > DMP_DNSNAME_MAX + 1) {
		goto out;
	}
	if (dmp_dnsname_normalize(tmp.user_domain, sizeof(tmp.user_domain),
				  (const char *)p, l) < 0) {
		rc = DMP_EBADNAME;
		goto out;
	}
	count = dmp_rbuf_u8(&r);
	if (dmp_rbuf_error(&r) || count == 0 ||
	    count > DMP_BOOTSTRAP_MAX_ENTRIES) {
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct dmp_bootstrap_entry *e = &tmp.entries[i];

		e->priority = dmp_rbuf_u16(&r);
		l = dmp_rbuf_u8(&r);
		p = dmp_rbuf_take(&r, l);
		if (!p || l == 0 || l > DMP_DNSNAME_MAX + 1) {
			goto out;
		}
		if (dmp_dnsname_normalize(e->base, sizeof(e->base),
					  (const char *)p, l) < 0) {
			rc = DMP_EBADNAME;
			goto out;
		}
		dmp_rbuf_copy(&r, e->operator_spk, sizeof(e->operator_spk));
		if (!entry_unique(tmp.entries, e->base, i, NULL)) {
			goto out;
		}
	}
	if (dmp_rbuf_finish(&r) != 0) {
		goto out;
	}
	/* 2.7: sorted after parsing too, so entries[0] is preferred. */
	*out = tmp;
	sort_order(idx, tmp.entries, count);
	for (size_t i = 0; i < count; i++) {
		out->entries[i] = tmp.entries[idx[i]];
	}
	out->entry_count = count;
	rc = 0;
out:
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
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
	if (dmp_wbuf_error(&w)) {
		return DMP_ETOOBIG;
	}
	return (int)w.len;
}

int dmp_bootstrap_sign(char *out, size_t cap, const struct dmp_bootstrap *b,
		       const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	uint8_t body[DMP_BOOTSTRAP_BODY_MAX];
	int n;

	if (cap) {
		out[0] = '\0';
	}
	if (!dmp_record_sk_is(sk, b->signer_spk)) {
		return DMP_EBADKEY;
	}
	n = dmp_bootstrap_body_encode(body, sizeof(body), b);
	if (n < 0) {
		return n;
	}
	return dmp_record_sign_encode(out, cap, DMP_PREFIX_BOOTSTRAP, body,
				      (size_t)n, sk, DMP_RECORD_WIRE_MAX);
}

int dmp_bootstrap_parse(struct dmp_bootstrap *out, const char *wire, size_t len,
			const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
			const char *user_domain, size_t domain_len,
			uint64_t now)
{
	uint8_t blob[DMP_RECORD_WIRE_MAX];
	size_t body_len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!pinned_spk || !user_domain) {
		return DMP_EINVAL;
	}
	/* 1.2: the pinned key is the trust anchor; verify before parsing. */
	rc = dmp_record_decode_pinned(blob, sizeof(blob), &body_len, wire, len,
				      DMP_PREFIX_BOOTSTRAP, DMP_RECORD_WIRE_MAX,
				      MAGIC_LEN, pinned_spk);
	if (rc < 0) {
		goto out;
	}
	rc = dmp_bootstrap_body_parse(out, blob, body_len);
	if (rc < 0) {
		goto out;
	}
	if (memcmp(out->signer_spk, pinned_spk, DMP_ED25519_PK_BYTES) != 0) {
		rc = DMP_EBADKEY;
		goto out;
	}
	if (!dmp_name_equal(out->user_domain, strlen(out->user_domain),
			    user_domain, domain_len)) {
		rc = DMP_EBADNAME;
		goto out;
	}
	/* 6.2: expired when exp < now; too far ahead past 5 years. */
	rc = dmp_record_check_exp(out->exp, now, DMP_5_YEARS);
	if (rc < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
