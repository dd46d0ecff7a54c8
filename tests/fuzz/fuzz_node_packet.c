/*
 * tests/fuzz/fuzz_node_packet.c - dmp_node_handle() over UDP and TCP with an
 * in-memory store. Byte 0 picks the mode: bit 0 set means "sign the rest
 * with the node's key first" (appending a valid hmac-sha256 TSIG), so the
 * UPDATE checks past TSIG (zone, NOTZONE, caps, scope, apply) get fuzzed
 * too; bit 1 selects TCP; bit 2 splits the rest into two messages sent
 * through dmp_node_handle_batch() (group commit); bits 3-7 move the
 * clock forward 0-31 s. Properties: the reply fits the transport, keeps
 * the ID, has QR set, and a UDP reply never exceeds the EDNS cap.
 * Claim UPDATEs without TSIG (7.3) and TSIG-signed AXFR are on.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S 1893456000ULL /* the dns_update.json vectors' time */

static const uint8_t secret[32] = {
    0xca, 0x29, 0x4c, 0x0e, 0xa7, 0xbf, 0xc8, 0x6b, 0x5b, 0xb5, 0xf6,
    0xa2, 0xb3, 0x78, 0xf7, 0xf5, 0xad, 0x27, 0xbb, 0x3d, 0x58, 0xd3,
    0xc0, 0xfe, 0x4f, 0x3c, 0xd2, 0xb9, 0x2e, 0x20, 0xc0, 0x87,
};
static const uint8_t key_wire[] = "\x15"
				  "alice-e6b58e23-541308\x04mesh\x04test";
static const uint8_t alg_wire[] = "\x0bhmac-sha256";

static struct dmp_node *node;
static unsigned long runs;

static void setup(void)
{
	struct dmp_node_opts o;
	const char *scopes[] = {"chunk-*-*.mesh.test", "slot-*.mb-*.mesh.test",
				"mesh.test"};

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	strcpy(o.zones[0].name, "mesh.test");
	o.zones[0].n_a = 1;
	strcpy(o.zones[1].name, "sub.mesh.test");
	strcpy(o.zones[2].name, "other.example");
	o.n_zones = 3;
	strcpy(o.xfr_allow[0], "127.0.0.1");
	o.n_xfr_allow = 1;
	/* The signing key may transfer too (signed AXFR streams), and
	 * unsigned claim UPDATEs (7.3) are on. */
	strcpy(o.xfr_keys[0], "alice-e6b58e23-541308.mesh.test");
	o.n_xfr_keys = 1;
	o.claim_mode = DMP_NODE_CLAIM_PROVIDER;
	if (dmp_node_new(&node, &o, NOW_S * 1000) != 0 ||
	    dmp_node_key_add(node, "alice-e6b58e23-541308.mesh.test", secret,
			     sizeof(secret), scopes, 3, 0) != 0) {
		abort();
	}
}

/* Append a TSIG RR signed at NOW_S (RFC 8945 4.3.3). */
static size_t sign(uint8_t *m, size_t len, size_t cap)
{
	crypto_auth_hmacsha256_state st;
	uint8_t v[16], mac[32];
	size_t o;

	if (len < 12 || len + 200 > cap) {
		return len;
	}
	crypto_auth_hmacsha256_init(&st, secret, sizeof(secret));
	crypto_auth_hmacsha256_update(&st, m, len);
	crypto_auth_hmacsha256_update(&st, key_wire, sizeof(key_wire));
	memcpy(v, "\x00\xff\x00\x00\x00\x00", 6);
	crypto_auth_hmacsha256_update(&st, v, 6);
	crypto_auth_hmacsha256_update(&st, alg_wire, sizeof(alg_wire));
	memset(v, 0, 12);
	v[2] = (uint8_t)(NOW_S >> 24);
	v[3] = (uint8_t)(NOW_S >> 16);
	v[4] = (uint8_t)(NOW_S >> 8);
	v[5] = (uint8_t)NOW_S;
	v[6] = 0x01;
	v[7] = 0x2c;
	crypto_auth_hmacsha256_update(&st, v, 12);
	crypto_auth_hmacsha256_final(&st, mac);
	o = len;
	memcpy(m + o, key_wire, sizeof(key_wire));
	o += sizeof(key_wire);
	memcpy(m + o, "\x00\xfa\x00\xff\x00\x00\x00\x00", 8);
	o += 8;
	m[o++] = 0;
	m[o++] = (uint8_t)(sizeof(alg_wire) + 16 + 32);
	memcpy(m + o, alg_wire, sizeof(alg_wire));
	o += sizeof(alg_wire);
	memcpy(m + o, v, 8); /* time, fudge */
	o += 8;
	m[o++] = 0;
	m[o++] = 32;
	memcpy(m + o, mac, 32);
	o += 32;
	m[o++] = m[0]; /* original ID */
	m[o++] = m[1];
	memset(m + o, 0, 4);
	o += 4;
	/* ARCOUNT + 1 */
	if (++m[11] == 0) {
		m[10]++;
	}
	return o;
}

static void check(const uint8_t *q, size_t qlen, const uint8_t *resp, int r,
		  enum dmp_node_transport t, size_t cap)
{
	if (r < 0 || (size_t)r > cap) {
		abort();
	}
	if (r > 0) {
		if (r < 12 || qlen < 12 || resp[0] != q[0] || resp[1] != q[1] ||
		    !(resp[2] & 0x80)) {
			abort();
		}
		if (t == DMP_NODE_UDP && r > 1232 + 200) {
			abort(); /* + room for a TSIG on UPDATE replies */
		}
	}
}

struct stream_ctx {
	const uint8_t *q;
	size_t qlen;
	int msgs;
};

/* Every streamed message (AXFR parts included) answers the request. */
static int stream_out(const uint8_t *msg, size_t len, void *ud)
{
	struct stream_ctx *c = ud;

	check(c->q, c->qlen, msg, (int)len, DMP_NODE_TCP, 65535);
	c->msgs++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[2][70000], resp[2][65535];
	enum dmp_node_transport t;
	size_t len[2] = {0, 0};
	uint64_t now;
	int parts;

	if (!node) {
		setup();
	}
	if (size < 1 || size > 65535) {
		return 0;
	}
	t = (data[0] & 2) ? DMP_NODE_TCP : DMP_NODE_UDP;
	now = NOW_S * 1000 + (data[0] >> 3) * 1000ULL;
	/* Bit 2: two messages (split in the middle) through the batch API. */
	parts = (data[0] & 4) ? 2 : 1;
	for (int p = 0; p < parts; p++) {
		size_t from = 1 + (p ? (size - 1) / 2 : 0);
		size_t to = parts == 1 || p ? size : 1 + (size - 1) / 2;

		len[p] = to - from;
		memcpy(msg[p], data + from, len[p]);
		if (data[0] & 1) {
			len[p] = sign(msg[p], len[p], sizeof(msg[p]));
			if (len[p] > 65535) {
				return 0;
			}
		}
	}
	if (parts == 1 && t == DMP_NODE_TCP) {
		/* TCP goes through the streaming entry point, from an
		 * address allowed to transfer the zone. */
		struct sockaddr_in a;
		struct stream_ctx c = {msg[0], len[0], 0};

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(0x7f000001);
		if (dmp_node_handle_stream(node, msg[0], len[0],
					   (struct sockaddr *)&a, stream_out,
					   &c, now) != 0) {
			abort();
		}
	} else if (parts == 1) {
		int r = dmp_node_handle(node, msg[0], len[0], t, NULL, resp[0],
					sizeof(resp[0]), now);

		check(msg[0], len[0], resp[0], r, t, sizeof(resp[0]));
	} else {
		struct dmp_node_msg m[2];

		for (int p = 0; p < 2; p++) {
			m[p] = (struct dmp_node_msg){
			    msg[p], len[p], resp[p], sizeof(resp[p]), -1, NULL};
		}
		dmp_node_handle_batch(node, m, 2, t, now);
		for (int p = 0; p < 2; p++) {
			check(msg[p], len[p], resp[p], m[p].resp_len, t,
			      sizeof(resp[p]));
		}
	}
	if (++runs % 4096 == 0) {
		(void)dmp_node_maintain(node, NOW_S * 1000 + runs);
	}
	return 0;
}
