/*
 * tests/fuzz/fuzz_tcp_framing.c - dmp-node's TCP connection table
 * (core/src/node/node_tcpconn.c), the code the server's TCP thread runs,
 * driven by a script: connections opened from a few IPv4 and IPv6
 * addresses, bytes fed to them in arbitrary pieces (partial length
 * prefixes, zero and oversized lengths, several connections interleaved),
 * turns taken, replies queued and partly sent, the clock moved and
 * deadlines expired, connections closed. Every message handed out must be
 * exactly the next frame of that connection's byte stream (a shadow copy
 * is parsed alongside), a turn never hands out more than
 * queries_per_turn, unsent replies stay within output_max plus one
 * reply, and no more than max_clients connections (and per_address from
 * one address) are ever open.
 *
 * Script: 4 bytes of options, then ops of one byte each followed by
 * their arguments (see the switch).
 */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dmp/err.h"
#include "dmp/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXC 8
#define SHADOW (3 * 65537)

struct shadow {
	int open;
	unsigned addr; /* index into the address list */
	uint8_t *b;
	size_t len;
};

static void addr_of(unsigned k, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (k & 4) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr.s6_addr[0] = 0x20;
		s->sin6_addr.s6_addr[1] = 0x01;
		/* k & 1 picks the /64, k & 2 the host inside it. */
		s->sin6_addr.s6_addr[7] = (uint8_t)(k & 1);
		s->sin6_addr.s6_addr[15] = (uint8_t)(k & 2);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(0x0a000000u | (k & 3));
	}
}

/* The address key the table should use, for the per-address check. */
static unsigned addr_class(unsigned k)
{
	return k & 4 ? 4 | (k & 1) : k & 3;
}

static void forget(struct shadow *sh)
{
	free(sh->b);
	memset(sh, 0, sizeof(*sh));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t = NULL;
	struct shadow sh[MAXC];
	size_t i = 4;
	uint64_t now = 1;

	if (size < 4) {
		return 0;
	}
	memset(sh, 0, sizeof(sh));
	dmp_node_tcp_opts_init(&o);
	o.max_clients = 1 + (data[0] & 7);
	o.per_address = data[0] >> 3 & 3;
	o.queries_per_turn = 1 + (data[1] & 3);
	o.output_max = 64u << (data[1] >> 2 & 7);
	o.idle_ms = 100 + 100u * (data[2] & 15);
	o.message_ms = 50 + 50u * (data[2] >> 4);
	o.output_ms = 50 + 50u * (data[3] & 15);
	o.v6_prefix = 64;
	if (dmp_node_tcp_new(&t, &o, NULL) != 0) {
		return 0;
	}
	while (i < size) {
		uint8_t op = data[i++];
		unsigned id = (op >> 4) % o.max_clients;

		switch (op & 7) {
		case 0: { /* open from address (op >> 4) & 7 */
			struct sockaddr_storage ss;
			unsigned k = (op >> 4) & 7, same = 0;
			int ev = 0, nid;

			addr_of(k, &ss);
			for (unsigned c = 0; c < MAXC; c++) {
				same += sh[c].open &&
					addr_class(sh[c].addr) == addr_class(k);
			}
			nid = dmp_node_tcp_open(t, (struct sockaddr *)&ss, now,
						&ev);
			if (nid < 0) {
				break;
			}
			if (nid >= (int)o.max_clients ||
			    (o.per_address && same >= o.per_address) ||
			    (ev != sh[nid].open)) {
				abort();
			}
			forget(&sh[nid]);
			sh[nid].open = 1;
			sh[nid].addr = k;
			break;
		}
		case 1: { /* feed: id, length, bytes */
			size_t len, cap, k;
			uint8_t *b;

			if (i >= size) {
				break;
			}
			len = data[i++];
			len = len < size - i ? len : size - i;
			b = dmp_node_tcp_rbuf(t, id, &cap);
			if (!b) {
				i += len;
				break;
			}
			if (!sh[id].open || cap == 0) {
				abort();
			}
			k = len < cap ? len : cap;
			if (op & 8 && k > 0) {
				/* A big length prefix: as large as allowed. */
				memset(b, 0xff, k);
			} else {
				memcpy(b, data + i, k);
			}
			if (sh[id].len + k > SHADOW) {
				abort(); /* input must stay bounded */
			}
			if (!sh[id].b) {
				sh[id].b = malloc(SHADOW);
				if (!sh[id].b) {
					abort();
				}
			}
			memcpy(sh[id].b + sh[id].len, b, k);
			sh[id].len += k;
			dmp_node_tcp_rdone(t, id, k, now);
			i += len;
			break;
		}
		case 2: { /* a turn: answer each message with op & 8 ? big */
			const uint8_t *m;
			size_t len, pend;
			unsigned got = 0;
			int rc;

			dmp_node_tcp_turn(t, id);
			while ((rc = dmp_node_tcp_next(t, id, &m, &len, now)) ==
			       1) {
				size_t want;

				if (!sh[id].open || sh[id].len < 2) {
					abort();
				}
				want = (size_t)sh[id].b[0] << 8 | sh[id].b[1];
				if (want != len || len < 12 ||
				    sh[id].len < 2 + len ||
				    memcmp(sh[id].b + 2, m, len) != 0 ||
				    ++got > o.queries_per_turn) {
					abort();
				}
				memmove(sh[id].b, sh[id].b + 2 + len,
					sh[id].len - 2 - len);
				sh[id].len -= 2 + len;
				dmp_node_tcp_wbuf(t, id, &pend);
				if (pend >= o.output_max) {
					abort(); /* served over the cap */
				}
				if (dmp_node_tcp_reply(
					t, id, m, op & 8 ? len : 12) != 0) {
					abort();
				}
			}
			if (rc == DMP_EMALFORMED) {
				if (sh[id].len < 2 ||
				    ((size_t)sh[id].b[0] << 8 | sh[id].b[1]) >=
					12) {
					abort();
				}
				dmp_node_tcp_close(t, id);
				forget(&sh[id]);
			}
			break;
		}
		case 3: { /* send part of the replies */
			size_t len;

			dmp_node_tcp_wbuf(t, id, &len);
			if (len && !sh[id].open) {
				abort();
			}
			dmp_node_tcp_wdone(
			    t, id, len * (op >> 3 & 1 ? 1 : 0) + (len >> 1),
			    now);
			break;
		}
		case 4: { /* time passes; deadlines */
			unsigned ids[4];
			size_t k;

			now += 10u * (op >> 3);
			do {
				k = dmp_node_tcp_expire(t, now, ids, 4);
				for (size_t j = 0; j < k; j++) {
					if (ids[j] >= MAXC ||
					    !sh[ids[j]].open) {
						abort();
					}
					forget(&sh[ids[j]]);
				}
			} while (k == 4);
			break;
		}
		case 5: /* the peer goes */
			dmp_node_tcp_close(t, id);
			forget(&sh[id]);
			break;
		default: { /* the want bits agree with the state */
			unsigned w = dmp_node_tcp_want(t, id);

			if (!sh[id].open && w) {
				abort();
			}
			break;
		}
		}
		{
			unsigned n = 0;

			for (unsigned c = 0; c < MAXC; c++) {
				n += sh[c].open;
			}
			if (n != dmp_node_tcp_count(t) || n > o.max_clients) {
				abort();
			}
		}
	}
	for (unsigned c = 0; c < MAXC; c++) {
		forget(&sh[c]);
	}
	dmp_node_tcp_free(t);
	return 0;
}
