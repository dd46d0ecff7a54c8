/* core/src/client/store_peers.c - discovered peers (store.h, PROTOCOL.md 8). */
#include <string.h>

#include <sqlite3.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

/* ---- discovered peers (PROTOCOL.md 8) ----------------------------------- */

#define PEER_COLS                                                              \
	"operator_spk, endpoint, version, capabilities, claim_provider_zone, " \
	"hb_ts, hb_exp, first_seen, last_seen, source, failures, last_err, "   \
	"last_error"

int dmp_store_peer_seen(struct dmp_store *st, const struct dmp_store_peer *p)
{
	sqlite3_stmt *q;
	/* Heartbeat fields move only forward (newest ts wins, 8); any
	 * verified sighting clears the failure count. */
	int rc = dmp_st_prepare(
	    st, &q,
	    "INSERT INTO peer (" PEER_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '') "
	    "ON CONFLICT (operator_spk, endpoint) DO UPDATE SET "
	    "version = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.version ELSE version END,"
	    "capabilities = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.capabilities ELSE capabilities END,"
	    "claim_provider_zone = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.claim_provider_zone ELSE claim_provider_zone END,"
	    "source = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.source ELSE source END,"
	    "hb_exp = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.hb_exp ELSE hb_exp END,"
	    "hb_ts = max(hb_ts, excluded.hb_ts),"
	    "last_seen = max(last_seen, excluded.last_seen),"
	    "failures = 0, last_err = 0, last_error = ''");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, p->operator_spk, DMP_ED25519_PK_BYTES,
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, p->endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, p->version, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 4, p->capabilities);
	sqlite3_bind_text(q, 5, p->claim_provider_zone, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 6, (int64_t)p->hb_ts);
	sqlite3_bind_int64(q, 7, (int64_t)p->hb_exp);
	sqlite3_bind_int64(q, 8, p->first_seen);
	sqlite3_bind_int64(q, 9, p->last_seen);
	sqlite3_bind_text(q, 10, p->source, -1, SQLITE_TRANSIENT);
	return dmp_st_step_done(st, q);
}

int dmp_store_peer_fail(struct dmp_store *st, const char *source, int64_t now,
			int err, const char *text)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q,
				"UPDATE peer SET failures = failures + 1, "
				"last_err = ?, last_error = ? "
				"WHERE source = ? AND last_seen < ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int(q, 1, err);
	sqlite3_bind_text(q, 2, text ? text : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 4, now);
	rc = dmp_st_step_done(st, q);
	return rc < 0 ? rc : sqlite3_changes(st->db);
}

static void read_peer(sqlite3_stmt *q, struct dmp_store_peer *p)
{
	memset(p, 0, sizeof(*p));
	dmp_st_copy_blob(p->operator_spk, DMP_ED25519_PK_BYTES, q, 0);
	dmp_st_copy_text(p->endpoint, sizeof(p->endpoint), q, 1);
	dmp_st_copy_text(p->version, sizeof(p->version), q, 2);
	p->capabilities = (uint16_t)sqlite3_column_int(q, 3);
	dmp_st_copy_text(p->claim_provider_zone, sizeof(p->claim_provider_zone),
			 q, 4);
	p->hb_ts = (uint64_t)sqlite3_column_int64(q, 5);
	p->hb_exp = (uint64_t)sqlite3_column_int64(q, 6);
	p->first_seen = sqlite3_column_int64(q, 7);
	p->last_seen = sqlite3_column_int64(q, 8);
	dmp_st_copy_text(p->source, sizeof(p->source), q, 9);
	p->failures = sqlite3_column_int(q, 10);
	p->last_err = sqlite3_column_int(q, 11);
	dmp_st_copy_text(p->last_error, sizeof(p->last_error), q, 12);
}

int dmp_store_peer_each(struct dmp_store *st, dmp_store_peer_fn fn, void *ud)
{
	sqlite3_stmt *q;
	struct dmp_store_peer p;
	int rc = dmp_st_prepare(st, &q,
				"SELECT " PEER_COLS " FROM peer "
				"ORDER BY hb_ts DESC, endpoint, operator_spk");

	if (rc < 0) {
		return rc;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_peer(q, &p);
		if (fn(&p, ud) != 0) {
			break;
		}
	}
	dmp_st_release(st, q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : dmp_st_fail(st, "peers");
}

int dmp_store_peer_reap(struct dmp_store *st, int64_t before)
{
	return dmp_st_delete_where(st, "DELETE FROM peer WHERE hb_exp < ?",
				   before);
}

/* ---- measured relay round trips (docs/protocol.md 8.7.8) ---------------- */

uint32_t dmp_store_srtt_next(uint32_t srtt, uint32_t sample)
{
	uint64_t v;

	if (srtt == 0) {
		v = sample;
	} else {
		/* SRTT = 7/8 SRTT + 1/8 R (RFC 6298 2.3), rounded */
		v = ((uint64_t)srtt * 7 + sample + 4) / 8;
	}
	return v == 0 ? 1 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int dmp_store_relay_rtt_get(struct dmp_store *st, const char *url, int64_t now,
			    uint32_t *srtt_ms)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q,
				"SELECT srtt_ms FROM relay_rtt "
				"WHERE url = ? AND updated_at >= ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, now - DMP_STORE_RELAY_RTT_MAX_AGE);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(q, 0);

		*srtt_ms = v < 1	    ? 1
			   : v > UINT32_MAX ? UINT32_MAX
					    : (uint32_t)v;
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : dmp_st_fail(st, "relay rtt");
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_relay_rtt_add(struct dmp_store *st, const char *url,
			    uint32_t sample_ms, int64_t now, uint32_t *srtt_ms)
{
	sqlite3_stmt *q;
	uint32_t old = 0, v;
	int rc = dmp_store_relay_rtt_get(st, url, now, &old);

	if (rc < 0 && rc != DMP_ENOENT) {
		return rc;
	}
	v = dmp_store_srtt_next(rc == 0 ? old : 0, sample_ms);
	rc = dmp_st_prepare(st, &q,
			    "INSERT INTO relay_rtt (url, srtt_ms, updated_at) "
			    "VALUES (?, ?, ?) ON CONFLICT (url) DO UPDATE SET "
			    "srtt_ms = excluded.srtt_ms, "
			    "updated_at = excluded.updated_at");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, v);
	sqlite3_bind_int64(q, 3, now);
	rc = dmp_st_step_done(st, q);
	if (rc == 0) {
		/* bounded: the most recently updated rows stay */
		rc = dmp_st_delete_where(
		    st,
		    "DELETE FROM relay_rtt WHERE url NOT IN (SELECT url FROM "
		    "relay_rtt ORDER BY updated_at DESC, url LIMIT ?)",
		    DMP_STORE_RELAY_RTT_ROWS);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && srtt_ms) {
		*srtt_ms = v;
	}
	return rc;
}
