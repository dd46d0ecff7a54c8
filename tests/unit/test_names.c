/* tests/unit/test_names.c - owner names (PROTOCOL.md 3.1-3.2) against
 * protocol_facts, identity_derivation, chunk_records, claim_record and
 * full_send, plus the zone and buffer edge cases. */
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/names.h"
#include "tap.h"
#include "vec.h"

/* Replace every "{key}" in @p tmpl by @p val (in place, into @p out). */
static void subst(char *out, size_t cap, const char *tmpl, const char *key,
		  const char *val)
{
	char buf[512];
	size_t klen = strlen(key), o = 0;

	for (const char *p = tmpl; *p && o + 1 < sizeof(buf);) {
		if (strncmp(p, key, klen) == 0) {
			size_t vl = strlen(val);

			if (o + vl + 1 >= sizeof(buf)) {
				break;
			}
			memcpy(buf + o, val, vl);
			o += vl;
			p += klen;
		} else {
			buf[o++] = *p++;
		}
	}
	buf[o] = '\0';
	snprintf(out, cap, "%s", buf);
}

static void test_facts(void)
{
	json_t *v = vec_load("protocol_facts.json");
	json_t *names = json_object_get(v, "names");
	const json_t *mk = json_object_get(v, "msg_key");
	const json_t *mki = json_object_get(mk, "sample_inputs");
	const json_t *ss = json_object_get(v, "slot_selection");
	uint8_t msg_id[16], rid[32], spk[32];
	char key[13], mb[13], uh16[17], uh12[13], got[DMP_NAME_MAX];
	char want[512];
	const char *zone = "mesh.test", *user = "alice";
	int rc;

	vec_hex_fixed(json_object_get(v, "msg_id"), "sample_hex", msg_id, 16);
	is_int(dmp_slot_of(msg_id), vec_int(ss, "sample_slot"),
	       "facts: sample slot");
	is_int(DMP_SLOT_COUNT, vec_int(ss, "slot_count"), "facts: slot count");
	vec_hex_fixed(mki, "msg_id_hex", msg_id, 16);
	vec_hex_fixed(mki, "recipient_id_hex", rid, 32);
	vec_hex_fixed(mki, "sender_spk_hex", spk, 32);
	dmp_msg_key(key, msg_id, rid, spk);
	is_str(key, vec_str(mk, "sample"), "facts: msg_key sample");

	dmp_mailbox_hash(mb, rid);
	dmp_sha256_hex_prefix(uh16, 16, user, strlen(user));
	dmp_sha256_hex_prefix(uh12, 12, user, strlen(user));

	/* Each template, filled with the same values our builders get. */
	static const char *const zone_keys[] = {
	    "{zone}",	     "{domain}",      "{provider_zone}",
	    "{base_domain}", "{user_domain}", "{identity_domain}",
	};
	const char *keys[] = {"chunk",
			      "slot_manifest",
			      "claim",
			      "identity_hash",
			      "identity_zone_anchored",
			      "prekeys",
			      "heartbeat",
			      "seen_graph",
			      "cluster_manifest",
			      "bootstrap"};
	for (size_t i = 0; i < DMP_ARRAY_LEN(keys); i++) {
		snprintf(want, sizeof(want), "%s", vec_str(names, keys[i]));
		for (size_t z = 0; z < DMP_ARRAY_LEN(zone_keys); z++) {
			subst(want, sizeof(want), want, zone_keys[z], zone);
		}
		subst(want, sizeof(want), want, "{i:04d}", "0007");
		subst(want, sizeof(want), want, "{msg_key}", key);
		subst(want, sizeof(want), want, "{0..9}", "3");
		subst(want, sizeof(want), want, "{slot}", "3");
		subst(want, sizeof(want), want,
		      "{sha256(recipient_id).hex[0:12]}", mb);
		subst(want, sizeof(want), want, "{sha256(username).hex[0:16]}",
		      uh16);
		subst(want, sizeof(want), want, "{sha256(username).hex[0:12]}",
		      uh12);
		switch (i) {
		case 0:
			rc = dmp_name_chunk(got, sizeof(got), 7, key, zone);
			break;
		case 1:
			rc = dmp_name_slot(got, sizeof(got), 3, rid, zone);
			break;
		case 2:
			rc = dmp_name_claim(got, sizeof(got), 3, rid, zone);
			break;
		case 3:
			rc = dmp_name_identity(got, sizeof(got), user,
					       strlen(user), zone);
			break;
		case 4:
			rc = dmp_name_identity_anchored(got, sizeof(got), zone);
			break;
		case 5:
			rc = dmp_name_prekeys(got, sizeof(got), user,
					      strlen(user), zone);
			break;
		case 6: rc = dmp_name_heartbeat(got, sizeof(got), zone); break;
		case 7: rc = dmp_name_seen(got, sizeof(got), zone); break;
		case 8: rc = dmp_name_cluster(got, sizeof(got), zone); break;
		default: rc = dmp_name_bootstrap(got, sizeof(got), zone); break;
		}
		ok(strchr(want, '{') == NULL, "facts: template %s fully filled",
		   keys[i]);
		is_int(rc, (long long)strlen(want), "facts: %s length",
		       keys[i]);
		is_str(got, want, "facts: %s", keys[i]);
	}
	json_decref(v);
}

static void test_derivation(void)
{
	json_t *v = vec_load("identity_derivation.json");
	json_t *cases = json_object_get(v, "cases");

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		json_t *in = json_object_get(tc, "inputs");
		const char *user = vec_str(in, "username");
		const char *dom = vec_str(in, "domain");
		const char *desc = vec_str(tc, "description");
		uint8_t pub[32], uid[32], want_uid[32];
		char mb[13], got[DMP_NAME_MAX], label[32];

		vec_hex_fixed(tc, "x25519_pub_hex", pub, 32);
		vec_hex_fixed(tc, "user_id_hex", want_uid, 32);
		dmp_sha256(uid, pub, 32);
		is_mem(uid, 32, want_uid, 32, "%s: user_id = H(pub)", desc);
		dmp_mailbox_hash(mb, uid);
		is_str(mb, vec_str(tc, "mailbox_hash12"), "%s: mailbox_hash12",
		       desc);
		snprintf(label, sizeof(label), "mb-%s", mb);
		is_int(dmp_name_mailbox_label(got, sizeof(got), uid), 15,
		       "%s: mailbox label length", desc);
		is_str(got, label, "%s: mailbox label", desc);
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			json_t *sn = json_object_get(tc, "slot_names");
			json_t *cn = json_object_get(tc, "claim_names");

			ok(dmp_name_slot(got, sizeof(got), s, uid, dom) > 0 &&
			       strcmp(got, json_string_value(
					       json_array_get(sn, s))) == 0,
			   "%s: slot name %u", desc, (unsigned)s);
			ok(dmp_name_claim(got, sizeof(got), s, uid, dom) > 0 &&
			       strcmp(got, json_string_value(
					       json_array_get(cn, s))) == 0,
			   "%s: claim name %u", desc, (unsigned)s);
		}
		ok(dmp_name_identity(got, sizeof(got), user, strlen(user),
				     dom) > 0,
		   "%s: identity name builds", desc);
		is_str(got, vec_str(tc, "identity_name_hash16"),
		       "%s: identity_name_hash16", desc);
		ok(dmp_name_prekeys(got, sizeof(got), user, strlen(user), dom) >
		       0,
		   "%s: prekey name builds", desc);
		is_str(got, vec_str(tc, "prekey_rrset_name"),
		       "%s: prekey_rrset_name", desc);
		if (vec_has(in, "identity_domain")) {
			ok(dmp_name_identity_anchored(
			       got, sizeof(got),
			       vec_str(in, "identity_domain")) > 0,
			   "%s: anchored name builds", desc);
			is_str(got, vec_str(tc, "zone_anchored_identity_name"),
			       "%s: zone_anchored_identity_name", desc);
		} else {
			ok(!vec_has(tc, "zone_anchored_identity_name"),
			   "%s: no anchored name without identity_domain",
			   desc);
		}
	}
	json_decref(v);
}

static void test_chunks(void)
{
	json_t *v = vec_load("chunk_records.json");
	json_t *cases = json_object_get(v, "cases");

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		json_t *in = json_object_get(tc, "inputs");
		json_t *recs = json_object_get(tc, "records");
		const char *desc = vec_str(tc, "description");
		uint8_t msg_id[16], rid[32], spk[32];
		char key[13], got[DMP_NAME_MAX];

		vec_hex_fixed(in, "msg_id_hex", msg_id, 16);
		vec_hex_fixed(in, "recipient_id_hex", rid, 32);
		vec_hex_fixed(in, "sender_spk_hex", spk, 32);
		dmp_msg_key(key, msg_id, rid, spk);
		is_str(key, vec_str(tc, "msg_key"), "%s: msg_key", desc);
		for (size_t i = 0; i < json_array_size(recs); i++) {
			json_t *r = json_array_get(recs, i);

			ok(dmp_name_chunk(got, sizeof(got),
					  (uint32_t)vec_int(r, "chunk_number"),
					  key, vec_str(in, "domain")) > 0,
			   "%s: chunk %zu name builds", desc, i);
			is_str(got, vec_str(r, "name"), "%s: chunk %zu name",
			       desc, i);
		}
	}
	json_decref(v);
}

static void test_claim_names(void)
{
	json_t *v = vec_load("claim_record.json");
	json_t *cases = json_object_get(v, "cases");

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		const char *want, *zone;
		uint8_t rid[32];
		char got[DMP_NAME_MAX];

		if (!vec_has(tc, "rrset_name_for_recipient")) {
			continue;
		}
		want = vec_str(tc, "rrset_name_for_recipient");
		/* The provider zone is everything after "claim-N.mb-<12>.". */
		zone = want + strlen("claim-0.mb-000000000000.");
		vec_hex_fixed(tc, "recipient_id_hex", rid, 32);
		ok(dmp_name_claim(
		       got, sizeof(got),
		       (uint32_t)vec_int(json_object_get(tc, "inputs"), "slot"),
		       rid, zone) > 0,
		   "claim case %zu: name builds", c);
		is_str(got, want, "claim case %zu: rrset name", c);
	}
	json_decref(v);
}

static void test_full_send(void)
{
	json_t *v = vec_load("full_send.json");
	json_t *cases = json_object_get(v, "cases");

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		json_t *in = json_object_get(tc, "inputs");
		json_t *snd = json_object_get(in, "sender");
		json_t *rcp = json_object_get(in, "recipient");
		json_t *pub = json_object_get(tc, "published_records");
		json_t *setup = json_object_get(tc, "setup_records");
		const char *dom = vec_str(in, "domain");
		uint8_t msg_id[16], rid[32], spk[32];
		char key[13], got[DMP_NAME_MAX];
		size_t n = json_array_size(pub);

		vec_hex_fixed(in, "msg_id_hex", msg_id, 16);
		vec_hex_fixed(rcp, "user_id_hex", rid, 32);
		vec_hex_fixed(snd, "ed25519_pub_hex", spk, 32);
		is_int(dmp_slot_of(msg_id), vec_int(tc, "slot"),
		       "full_send %zu: slot", c);
		dmp_msg_key(key, msg_id, rid, spk);
		is_str(key, vec_str(tc, "msg_key"), "full_send %zu: msg_key",
		       c);
		for (size_t i = 0; i + 1 < n; i++) {
			ok(dmp_name_chunk(got, sizeof(got), (uint32_t)i, key,
					  dom) > 0,
			   "full_send %zu: chunk %zu builds", c, i);
			is_str(got, vec_str(json_array_get(pub, i), "name"),
			       "full_send %zu: chunk %zu name", c, i);
		}
		ok(dmp_name_slot(got, sizeof(got), dmp_slot_of(msg_id), rid,
				 dom) > 0,
		   "full_send %zu: slot name builds", c);
		is_str(got, vec_str(json_array_get(pub, n - 1), "name"),
		       "full_send %zu: manifest name", c);
		for (size_t i = 0; i < json_array_size(setup); i++) {
			json_t *r = json_array_get(setup, i);
			const char *u = vec_str(rcp, "username");
			const char *name = vec_str(r, "name");

			if (strncmp(name, "prekeys.", 8) == 0) {
				ok(dmp_name_prekeys(got, sizeof(got), u,
						    strlen(u), dom) > 0,
				   "full_send %zu: prekeys name builds", c);
			} else {
				ok(dmp_name_identity(got, sizeof(got), u,
						     strlen(u), dom) > 0,
				   "full_send %zu: identity name builds", c);
			}
			is_str(got, name, "full_send %zu: setup name %s", c,
			       name);
		}
	}
	json_decref(v);
}

static void test_forms(void)
{
	uint8_t rid[32] = {0};
	char got[DMP_NAME_MAX], h16[17], want[300];

	dmp_sha256_hex_prefix(h16, 16, "Alice", 5);
	ok(dmp_name_rotation_user(got, sizeof(got), "Alice", 5, "Mesh.Test.") >
	       0,
	   "rotation user builds");
	snprintf(want, sizeof(want), "rotate.id-%s.mesh.test", h16);
	is_str(got, want, "rotation user: hash keeps case, zone lowered");
	ok(dmp_name_rotation_user_anchored(got, sizeof(got), "Alice.Example") >
	       0,
	   "rotation anchored builds");
	is_str(got, "rotate.dmp.alice.example", "rotation, zone-anchored");
	ok(dmp_name_rotation_cluster(got, sizeof(got), "mesh.example.com.") > 0,
	   "rotation cluster builds");
	is_str(got, "rotate.cluster.mesh.example.com", "rotation, cluster");
	ok(dmp_name_rotation_bootstrap(got, sizeof(got), "example.com") > 0,
	   "rotation bootstrap builds");
	is_str(got, "rotate._dmp.example.com", "rotation, bootstrap");
	ok(dmp_name_cluster(got, sizeof(got), "EXAMPLE.com.") > 0 &&
	       strcmp(got, "cluster.example.com") == 0,
	   "cluster name lower-cased, trailing dot dropped");
	ok(dmp_name_bootstrap(got, sizeof(got), "Example.COM") > 0 &&
	       strcmp(got, "_dmp.example.com") == 0,
	   "bootstrap name");
	ok(dmp_name_heartbeat(got, sizeof(got), "n1.mesh") > 0 &&
	       strcmp(got, "_dnsmesh-heartbeat.n1.mesh") == 0,
	   "heartbeat name");
	ok(dmp_name_seen(got, sizeof(got), "n1.mesh") > 0 &&
	       strcmp(got, "_dnsmesh-seen.n1.mesh") == 0,
	   "seen name");
	ok(dmp_name_chunk(got, sizeof(got), 12345, "0123456789ab", "z") > 0 &&
	       strcmp(got, "chunk-12345-0123456789ab.z") == 0,
	   "chunk index past 9999 widens like %%04d");
	ok(dmp_name_identity(got, sizeof(got), "Carol", 5, "mesh.local") > 0 &&
	       strcmp(got, "id-b2dd7d8a70567a0e.mesh.local") == 0,
	   "identity hash keeps the username's case");

	/* Zone validation. */
	static const char *const bad[] = {"",	   ".",		"..",  "a..b",
					  "a..",   ".a",	"a b", "a\tb",
					  "a\x7f", "\xc3\xa9.x"};
	for (size_t i = 0; i < DMP_ARRAY_LEN(bad); i++) {
		is_int(dmp_name_slot(got, sizeof(got), 0, rid, bad[i]),
		       DMP_EBADNAME, "bad zone %zu rejected", i);
		is_str(got, "", "bad zone %zu leaves an empty string", i);
	}
	is_int(dmp_name_heartbeat(got, sizeof(got), NULL), DMP_EBADNAME,
	       "NULL zone rejected");
	memset(want, 'a', 64);
	want[64] = '\0';
	is_int(dmp_name_cluster(got, sizeof(got), want), DMP_EBADNAME,
	       "64-byte label rejected");
	want[63] = '\0';
	is_int(dmp_name_cluster(got, sizeof(got), want), 8 + 63,
	       "63-byte label accepted");
	/* 4 labels of 61 + dots = 247 bytes: "cluster." makes it 255. */
	memset(want, 'b', 247);
	want[61] = want[123] = want[185] = '.';
	want[247] = '\0';
	is_int(dmp_name_seen(got, sizeof(got), want), DMP_EBADNAME,
	       "name over 253 bytes rejected");
	want[240] = '\0';
	is_int(dmp_name_cluster(got, sizeof(got), want), 248,
	       "248-byte name accepted");

	/* Buffers and arguments. */
	is_int(dmp_name_cluster(got, 20, "example.com"), 19, "exact fit");
	is_int(dmp_name_cluster(got, 19, "example.com"), DMP_ENOBUFS,
	       "one byte short: DMP_ENOBUFS");
	is_str(got, "", "short buffer left empty");
	is_int(dmp_name_mailbox_label(got, 15, rid), DMP_ENOBUFS,
	       "mailbox label needs 16 bytes");
	is_int(dmp_name_slot(got, sizeof(got), 10, rid, "z"), DMP_EINVAL,
	       "slot 10 rejected");
	is_int(dmp_name_claim(got, sizeof(got), 10, rid, "z"), DMP_EINVAL,
	       "claim slot 10 rejected");
	is_int(dmp_name_chunk(got, sizeof(got), 0, "0123456789AB", "z"),
	       DMP_EINVAL, "upper-case msg_key rejected");
	is_int(dmp_name_chunk(got, sizeof(got), 0, "0123456789a", "z"),
	       DMP_EINVAL, "short msg_key rejected");
	is_int(dmp_name_identity(got, sizeof(got), "", 0, "z"), DMP_EINVAL,
	       "empty username rejected");
	is_int(dmp_name_prekeys(got, sizeof(got), NULL, 3, "z"), DMP_EINVAL,
	       "NULL username rejected");

	uint8_t id9[16] = {0xff, 0xff, 0xff, 0xff};
	is_int(dmp_slot_of(id9), 4294967295u % 10, "slot of 0xffffffff");
}

static void test_user_scope(void)
{
	ok(dmp_name_user_scope_safe("alice-2"), "scope-safe: lower case");
	ok(!dmp_name_user_scope_safe("Alice"), "scope-safe: upper case is not");
	ok(dmp_name_user_scope_safe(""), "scope-safe: empty has no upper case");
}

int main(void)
{
	plan(304);
	test_facts();
	test_derivation();
	test_chunks();
	test_claim_names();
	test_full_send();
	test_forms();
	test_user_scope();
	return done_testing();
}
