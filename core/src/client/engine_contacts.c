/*
 * core/src/client/engine_contacts.c - contacts: fetching, verifying and
 * pinning an identity (with the optional poisoning check across
 * resolvers), removing and blocking; and the refresh of every contact's
 * cached prekeys.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmp/alias.h"
#include "dmp/b64.h"
#include "dmp/dnsname.h"
#include "dmp/envelope.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/log.h"
#include "dmp/record.h"
#include "engine_i.h"

/* Does one answer for an identity name hold a verified record of @p user
 * with key @p spk? (@p anchored: the dmp.<zone> form, 8 step 2.) */
static int answer_has_identity(const struct dmp_resolver_result *r,
			       int anchored, const char *user,
			       const uint8_t spk[32])
{
	for (size_t j = 0; r->err == 0 && j < r->answer.n; j++) {
		struct dmp_identity_record rec;

		if (dmp_identity_parse_verify(
			&rec, r->answer.values[j], r->answer.lens[j],
			anchored ? user : NULL,
			anchored ? strlen(user) : 0) == 0 &&
		    rec.username_len == strlen(user) &&
		    strncasecmp(rec.username, user, rec.username_len) == 0 &&
		    memcmp(rec.ed25519_spk, spk, 32) == 0) {
			return 1;
		}
	}
	return 0;
}

/*
 * The optional poisoning check (network.confirm_resolvers = N > 1): an
 * identity fetched through resolvers is pinned only if N of the
 * configured resolvers, asked one by one, return it. Signatures make a
 * record self-authenticating only once its key is known; the first fetch
 * of a name is exactly where a poisoned resolver could hand us its own
 * key, so that is where agreement is required.
 * @return 0, DMP_EDISAGREE or DMP_ENOMEM
 */
static int confirm_identity(struct dmp_engine *e, const char *const *q,
			    size_t nq, int anchored_first, const char *user,
			    const uint8_t spk[32])
{
	unsigned agree = 0, asked = 0;
	char d[256];

	for (unsigned i = 0; i < e->conf.resolvers.n; i++) {
		struct dmp_resolver_result res[2];
		int has = 0;

		memset(res, 0, sizeof(res));
		if (dmp_eng_read_at(e, e->conf.resolvers.v[i], q, nq, res,
				    DMP_ENG_BATCH_TIMEOUT_MS) == 0) {
			asked++;
			for (size_t k = 0; k < nq && !has; k++) {
				has = answer_has_identity(
				    &res[k], anchored_first && k == 0, user,
				    spk);
			}
		}
		for (size_t k = 0; k < nq; k++) {
			dmp_resolver_result_clear(&res[k]);
		}
		agree += has != 0;
	}
	if (agree >= (unsigned)e->conf.confirm_resolvers) {
		return 0;
	}
	snprintf(d, sizeof(d),
		 "identity of %s: %u of %u resolvers returned this key, "
		 "network.confirm_resolvers wants %lld",
		 user, agree, asked, e->conf.confirm_resolvers);
	DMP_LOG_W("rejected: %s", d);
	dmp_eng_emit(e, DMP_EV_REJECTED, user, NULL, DMP_EDISAGREE, d);
	return DMP_EDISAGREE;
}

static int contact_add(struct dmp_engine *e, const char *address,
		       const char *alias, const char *fingerprint)
{
	char user[DMP_ADDR_MAX + 1], zone[DMP_ADDR_MAX + 1];
	char names[2][DMP_NAME_MAX];
	const char *q[2];
	size_t nq = 0;
	struct dmp_resolver_result res[2];
	struct dmp_identity_record found[16];
	size_t nfound = 0;
	struct dmp_store_contact c, old;
	const struct dmp_identity_record *pick = NULL;
	int rc, anchored_ok = 0;
	const char *at = strchr(address, '@');

	memset(res, 0, sizeof(res));
	if (at) {
		char canon[DMP_ADDR_MAX + 1];

		rc = dmp_addr_canonical(canon, address, strlen(address));
		if (rc < 0) {
			return DMP_EINVAL;
		}
		at = strchr(canon, '@');
		snprintf(user, sizeof(user), "%.*s", (int)(at - canon), canon);
		snprintf(zone, sizeof(zone), "%s", at + 1);
		if (dmp_name_identity_anchored(names[nq], sizeof(names[0]),
					       zone) >= 0) {
			q[nq] = names[nq];
			nq++;
			anchored_ok = 1;
		}
	} else {
		snprintf(user, sizeof(user), "%s", address);
		snprintf(zone, sizeof(zone), "%s", e->conf.domain);
	}
	if (!user[0] || strlen(user) > DMP_IDENTITY_USERNAME_MAX) {
		return DMP_EINVAL;
	}
	/* Before the network: an alias dmpfs could not show or send to. */
	if (dmp_alias_problem(alias && *alias ? alias : user)) {
		return DMP_EINVAL;
	}
	rc = dmp_name_identity(names[nq], sizeof(names[0]), user, strlen(user),
			       zone);
	if (rc < 0) {
		return DMP_EINVAL;
	}
	q[nq] = names[nq];
	nq++;
	rc = dmp_eng_read(e, q, nq, res, NULL);
	if (rc < 0) {
		return rc;
	}
	rc = DMP_ENOENT;
	for (size_t i = 0; i < nq; i++) {
		int anchored = anchored_ok && i == 0;

		if (res[i].err != 0 && res[i].err != DMP_ENXDOMAIN &&
		    rc == DMP_ENOENT) {
			rc = res[i].err;
		}
		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n;
		     j++) {
			struct dmp_identity_record rec;
			int dup = 0;

			if (dmp_identity_parse_verify(
				&rec, res[i].answer.values[j],
				res[i].answer.lens[j], anchored ? user : NULL,
				anchored ? strlen(user) : 0) < 0) {
				if (rc == DMP_ENOENT) {
					rc = DMP_EBADSIG;
				}
				continue;
			}
			/* The hashed form must name the same user. */
			if (!anchored && (rec.username_len != strlen(user) ||
					  strncasecmp(rec.username, user,
						      rec.username_len) != 0)) {
				continue;
			}
			for (size_t k = 0; k < nfound; k++) {
				if (memcmp(found[k].ed25519_spk,
					   rec.ed25519_spk, 32) == 0) {
					dup = 1;
					/* keep the newest versions list */
					if (rec.ts > found[k].ts) {
						found[k] = rec;
					}
				}
			}
			if (!dup && nfound < DMP_ARRAY_LEN(found)) {
				found[nfound++] = rec;
			}
		}
	}
	for (size_t i = 0; i < nq; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	if (nfound == 0) {
		return rc == DMP_ENXDOMAIN ? DMP_ENOENT : rc;
	}
	if (fingerprint && *fingerprint) {
		for (size_t k = 0; k < nfound; k++) {
			char fp[2 * 8 + 1];

			dmp_hex_encode(fp, found[k].ed25519_spk, 8);
			if (strncasecmp(fp, fingerprint, 16) == 0 &&
			    strlen(fingerprint) == 16) {
				pick = &found[k];
			}
		}
		if (!pick) {
			return DMP_EBADKEY;
		}
	} else if (nfound > 1) {
		return DMP_EAMBIGUOUS;
	} else {
		pick = &found[0];
	}
	/* Names read straight from a node we were told serves them are not
	 * resolver answers: nothing to cross-check. */
	if (e->conf.confirm_resolvers > 1 &&
	    !(e->conf.direct &&
	      dmp_name_equal(zone, strlen(zone), e->conf.domain,
			     strlen(e->conf.domain))) &&
	    !dmp_eng_zone_server(&e->conf, zone)) {
		rc = confirm_identity(e, q, nq, anchored_ok, user,
				      pick->ed25519_spk);
		if (rc < 0) {
			return rc;
		}
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.alias, sizeof(c.alias), "%.64s",
		 alias && *alias ? alias : user);
	snprintf(c.address, sizeof(c.address), "%.64s@%.253s", user, zone);
	snprintf(c.username, sizeof(c.username), "%.64s", user);
	snprintf(c.domain, sizeof(c.domain), "%.253s", zone);
	memcpy(c.x25519_pk, pick->x25519_pk, 32);
	memcpy(c.ed25519_pk, pick->ed25519_spk, 32);
	for (size_t v = 0; v < pick->n_versions; v++) {
		if (pick->versions[v] < 32) {
			c.versions |= 1u << pick->versions[v];
		}
	}
	c.pinned_at = dmp_eng_now(e);
	snprintf(c.pinned_how, sizeof(c.pinned_how), "%s",
		 fingerprint && *fingerprint ? "fingerprint" : "fetched");
	rc = dmp_store_contact_get(e->st, c.alias, &old);
	if (rc == 0 && strcmp(old.alias, c.alias) == 0 &&
	    memcmp(old.ed25519_pk, c.ed25519_pk, 32) != 0) {
		return DMP_EEXIST;
	}
	if (rc == 0) {
		c.blocked = old.blocked;
	}
	rc = dmp_store_contact_put(e->st, &c);
	if (rc < 0) {
		return rc;
	}
	dmp_eng_emit(e, DMP_EV_CONTACT, c.alias, NULL, 0, "pinned");
	(void)dmp_eng_intro_settle(e, &c); /* intro/ mail: now verified */
	/* Best effort: the prekey cache lets submit() offer forward secrecy. */
	(void)dmp_eng_fetch_prekeys(e, &c);
	return 0;
}

int dmp_engine_contact_add(struct dmp_engine *e, const char *address,
			   const char *alias, const char *fingerprint)
{
	int rc = contact_add(e, address, alias, fingerprint);

	/* Issue 6: a failed pin says why in the event log, not only errno. */
	if (rc < 0) {
		const char *bad = dmp_alias_problem(
		    alias && *alias ? alias : (address ? address : ""));
		char why[256];

		if (rc == DMP_EINVAL && bad) {
			snprintf(why, sizeof(why),
				 "contact %s not pinned: alias '%.64s' %s",
				 address ? address : "(none)",
				 alias && *alias ? alias : address, bad);
		} else {
			snprintf(why, sizeof(why), "contact %s not pinned: %s",
				 address ? address : "(none)",
				 dmp_strerror(rc));
		}
		dmp_eng_emit(e, DMP_EV_REJECTED, alias ? alias : address, NULL,
			     rc, why);
	}
	return rc;
}

int dmp_engine_contact_remove(struct dmp_engine *e, const char *alias)
{
	int rc = dmp_store_contact_remove(e->st, alias);

	if (rc == 0) {
		dmp_eng_emit(e, DMP_EV_CONTACT, alias, NULL, 0, "removed");
	}
	return rc;
}

int dmp_engine_contact_rename(struct dmp_engine *e, const char *from,
			      const char *to)
{
	int rc;

	if (dmp_alias_problem(to)) {
		return DMP_EINVAL;
	}
	rc = dmp_store_contact_rename(e->st, from, to);
	if (rc == 0) {
		char d[160];

		snprintf(d, sizeof(d), "renamed to %s", to);
		dmp_eng_emit(e, DMP_EV_CONTACT, from, NULL, 0, d);
	}
	return rc;
}

int dmp_engine_contact_block(struct dmp_engine *e, const char *alias,
			     int blocked)
{
	int rc = dmp_store_contact_set_blocked(e->st, alias, blocked);

	if (rc == 0) {
		dmp_eng_emit(e, DMP_EV_CONTACT, alias, NULL, 0,
			     blocked ? "blocked" : "unblocked");
	}
	return rc;
}

/* ---- prekey caches ------------------------------------------------------- */

struct contact_list {
	struct dmp_store_contact *v;
	size_t n, cap;
};

static int collect_contact(const struct dmp_store_contact *c, void *ud)
{
	struct contact_list *l = ud;

	if (c->blocked) {
		return 0;
	}
	if (dmp_grow(&l->v, &l->cap, l->n, sizeof(*l->v), 8) < 0) {
		return 1;
	}
	l->v[l->n++] = *c;
	return 0;
}

int dmp_eng_contacts_unblocked(struct dmp_engine *e,
			       struct dmp_store_contact **v, size_t *n)
{
	struct contact_list l = {0};
	int rc = dmp_store_contact_each(e->st, collect_contact, &l);

	if (rc < 0) {
		dmp_free(l.v);
		l.v = NULL;
		l.n = 0;
	}
	*v = l.v;
	*n = l.n;
	return rc;
}

/* Re-read every contact's prekey pool in one batch, so the next submit()
 * has fresh one-time keys without touching the network itself. */
void dmp_eng_refresh_prekey_caches(struct dmp_engine *e)
{
	struct contact_list l = {0};
	struct dmp_eng_batch b;

	if (dmp_eng_contacts_unblocked(e, &l.v, &l.n) < 0 || l.n == 0 ||
	    dmp_eng_batch_init(&b, l.n) < 0) {
		dmp_free(l.v);
		return;
	}
	for (b.n = 0; b.n < l.n; b.n++) {
		if (dmp_eng_prekey_name(b.names[b.n], sizeof(b.names[0]),
					&l.v[b.n]) < 0) {
			goto out;
		}
	}
	if (dmp_eng_read(e, b.q, b.n, b.res, NULL) == 0) {
		for (size_t i = 0; i < b.n; i++) {
			(void)dmp_eng_cache_prekeys(e, &l.v[i], &b.res[i]);
		}
	}
out:
	dmp_eng_batch_free(&b);
	dmp_free(l.v);
}
