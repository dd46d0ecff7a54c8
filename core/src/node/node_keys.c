/*
 * core/src/node/node_keys.c - TSIG keys and HTTP tokens in the node
 * database, and the scope match both are checked with.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "node/node_i.h"

/* Lower-case name and scopes CSV as the key and token tables keep them;
 * at least @p min_scopes scopes. */
static int name_scopes(const char *name, const char *const *scopes,
		       size_t n_scopes, size_t min_scopes,
		       char lname[DMP_NODE_NAME_MAX], char *csv, size_t cap)
{
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen, off = 0;

	if (n_scopes < min_scopes || n_scopes > DMP_NODE_MAX_SCOPES ||
	    dmp_dnswire_from_text(name, wire, &wlen) < 0 || wlen < 2) {
		return DMP_EINVAL;
	}
	dmp_dnswire_to_text(wire, lname);
	csv[0] = '\0';
	for (size_t i = 0; i < n_scopes; i++) {
		size_t l = strlen(scopes[i]);

		if (l == 0 || l >= DMP_NODE_NAME_MAX ||
		    strchr(scopes[i], ',') || off + l + 2 > cap) {
			return DMP_EINVAL;
		}
		off += (size_t)snprintf(csv + off, cap - off, "%s%s",
					i ? "," : "", scopes[i]);
	}
	for (size_t i = 0; csv[i]; i++) {
		if (csv[i] >= 'A' && csv[i] <= 'Z') {
			csv[i] = (char)(csv[i] - 'A' + 'a');
		}
	}
	return 0;
}

int dmp_node_key_add(struct dmp_node *n, const char *name,
		     const uint8_t *secret, size_t secret_len,
		     const char *const *scopes, size_t n_scopes,
		     uint64_t now_ms)
{
	char lname[DMP_NODE_NAME_MAX],
	    csv[DMP_NODE_MAX_SCOPES * DMP_NODE_NAME_MAX];
	int rc;

	if (secret_len == 0 || secret_len > 64) {
		return DMP_EINVAL;
	}
	rc = name_scopes(name, scopes, n_scopes, 0, lname, csv, sizeof(csv));
	if (rc < 0) {
		return rc;
	}
	pthread_mutex_lock(&n->wlock);
	rc = dmp_st_key_put(n->db, lname, secret, secret_len, csv,
			    now_ms / 1000);
	if (rc == 0) {
		rc = dmp_ni_keys_reload(n);
		(void)dmp_st_data_version(n->db, &n->data_version);
	}
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

/* @p name as the key and token tables keep it (lower case, no dot). */
static int table_name(const char *name, char lname[DMP_NODE_NAME_MAX])
{
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;

	if (dmp_dnswire_from_text(name, wire, &wlen) < 0) {
		return DMP_EINVAL;
	}
	dmp_dnswire_to_text(wire, lname);
	return 0;
}

/* Delete @p name from the key or token table (@p del) under wlock; keys
 * are reloaded after a key is gone. */
static int revoke(struct dmp_node *n, const char *name,
		  int (*del)(sqlite3 *, const char *), int keys)
{
	char lname[DMP_NODE_NAME_MAX];
	int rc;

	if (table_name(name, lname) < 0) {
		return DMP_EINVAL;
	}
	pthread_mutex_lock(&n->wlock);
	rc = del(n->db, lname);
	if (rc == 0 && keys) {
		rc = dmp_ni_keys_reload(n);
	}
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

int dmp_node_key_revoke(struct dmp_node *n, const char *name)
{
	return revoke(n, name, dmp_st_key_del, 1);
}

int dmp_node_key_mint(struct dmp_node *n, const char *name,
		      const char *const *scopes, size_t n_scopes, char *line,
		      size_t cap, uint64_t now_ms)
{
	char lname[DMP_NODE_NAME_MAX], b64[DMP_B64_LEN(32) + 1];
	uint8_t secret[32];
	int rc;

	if (n_scopes == 0 || table_name(name, lname) < 0) {
		return DMP_EINVAL;
	}
	/* Fail before storing a key nobody would see. */
	if (cap < sizeof("hmac-sha256::") + strlen(lname) + DMP_B64_LEN(32)) {
		return DMP_ENOBUFS;
	}
	dmp_random(secret, sizeof(secret));
	rc = dmp_node_key_add(n, lname, secret, sizeof(secret), scopes,
			      n_scopes, now_ms);
	if (rc == 0) {
		(void)dmp_b64_encode(b64, sizeof(b64), secret, sizeof(secret));
		(void)snprintf(line, cap, "hmac-sha256:%s:%s", lname, b64);
		dmp_wipe(b64, sizeof(b64));
	}
	dmp_wipe(secret, sizeof(secret));
	return rc;
}

int dmp_node_token_add(struct dmp_node *n, const char *name,
		       const char *const *scopes, size_t n_scopes,
		       char token[DMP_NODE_TOKEN_LEN + 1], uint64_t now_ms)
{
	char lname[DMP_NODE_NAME_MAX],
	    csv[DMP_NODE_MAX_SCOPES * DMP_NODE_NAME_MAX], hex[65];
	uint8_t raw[32], h[32];
	int rc;

	token[0] = '\0';
	rc = name_scopes(name, scopes, n_scopes, 1, lname, csv, sizeof(csv));
	if (rc < 0) {
		return rc;
	}
	dmp_random(raw, sizeof(raw));
	dmp_hex_encode(token, raw, sizeof(raw));
	dmp_sha256(h, token, DMP_NODE_TOKEN_LEN);
	dmp_hex_encode(hex, h, sizeof(h));
	pthread_mutex_lock(&n->wlock);
	rc = dmp_st_tok_put(n->db, lname, hex, csv, now_ms / 1000);
	pthread_mutex_unlock(&n->wlock);
	dmp_wipe(raw, sizeof(raw));
	if (rc < 0) {
		dmp_wipe(token, DMP_NODE_TOKEN_LEN + 1);
	}
	return rc;
}

int dmp_node_token_revoke(struct dmp_node *n, const char *name)
{
	return revoke(n, name, dmp_st_tok_del, 0);
}

/* A listing of the key or token table, under wlock. */
static int list_locked(struct dmp_node *n,
		       int (*list)(sqlite3 *, dmp_node_key_fn, void *),
		       dmp_node_key_fn fn, void *ud)
{
	int rc;

	pthread_mutex_lock(&n->wlock);
	rc = list(n->db, fn, ud);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

int dmp_node_token_list(struct dmp_node *n, dmp_node_key_fn fn, void *ud)
{
	return list_locked(n, dmp_st_tok_list, fn, ud);
}

int dmp_node_key_list(struct dmp_node *n, dmp_node_key_fn fn, void *ud)
{
	return list_locked(n, dmp_st_key_list, fn, ud);
}

/* One label of @p pat against one of @p s; '*' matches any run of bytes
 * within the label, including none. */
static int glob_label(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < sl) {
		if (pi < pl && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pl && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < pl && p[pi] == '*') {
		pi++;
	}
	return pi == pl;
}

int dmp_node_scope_match(const char *scope, const char *owner)
{
	size_t sl = strlen(scope), ol = strlen(owner);

	if (sl > 0 && scope[sl - 1] == '.') {
		sl--;
	}
	if (ol > 0 && owner[ol - 1] == '.') {
		ol--;
	}
	if (sl == 0) {
		return 0;
	}
	/* Compare label by label from the right. */
	while (sl > 0) {
		size_t ps = sl, os = ol;

		while (ps > 0 && scope[ps - 1] != '.') {
			ps--;
		}
		if (ol == 0) {
			return 0;
		}
		while (os > 0 && owner[os - 1] != '.') {
			os--;
		}
		if (!glob_label(scope + ps, sl - ps, owner + os, ol - os)) {
			return 0;
		}
		sl = ps ? ps - 1 : 0;
		ol = os ? os - 1 : 0;
		if (ps == 0) {
			break;
		}
		if (os == 0) {
			return 0; /* owner ran out of labels first */
		}
	}
	return 1;
}
