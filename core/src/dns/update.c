/* core/src/dns/update.c - RFC 2136 UPDATE + RFC 8945 TSIG writer, reply
 * check and blocking transport (PROTOCOL.md 7.1). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libknot/libknot.h>

#include "dmp/addr.h"
#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/dnsmsg.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/txt.h"
#include "dmp/update.h"

#include "dns/dnswire.h"
#include "dns/net.h"
#include "dns/tsig.h"

#define TSIG_SECRET_MAX 128

struct dmp_tsig_key {
	uint8_t name[DMP_DNS_NAME_WIRE_MAX]; /* lower-case wire */
	size_t name_len;
	uint8_t secret[TSIG_SECRET_MAX];
	size_t secret_len;
};

int dmp_tsig_key_new(struct dmp_tsig_key **out, const char *name,
		     const uint8_t *secret, size_t secret_len)
{
	struct dmp_tsig_key *k;
	int n;

	*out = NULL;
	if (secret_len == 0 || secret_len > TSIG_SECRET_MAX) {
		return DMP_EINVAL;
	}
	k = dmp_calloc(1, sizeof(*k));
	if (!k) {
		return DMP_ENOMEM;
	}
	n = dmp_dns_name_to_wire(k->name, sizeof(k->name), name);
	if (n <= 1) {
		dmp_free(k);
		return DMP_EBADNAME;
	}
	k->name_len = (size_t)n;
	memcpy(k->secret, secret, secret_len);
	k->secret_len = secret_len;
	*out = k;
	return 0;
}

int dmp_tsig_key_parse(struct dmp_tsig_key **out, const char *spec)
{
	const char *c1, *c2, *name, *b64;
	char namebuf[DMP_DNS_NAME_MAX + 2];
	uint8_t secret[TSIG_SECRET_MAX];
	size_t slen = 0, nlen;
	int rc;

	*out = NULL;
	c1 = strchr(spec, ':');
	if (!c1) {
		return DMP_EINVAL;
	}
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		if ((size_t)(c1 - spec) != 11 ||
		    strncasecmp(spec, "hmac-sha256", 11) != 0) {
			return DMP_EUNSUPPORTED;
		}
		name = c1 + 1;
		nlen = (size_t)(c2 - name);
		b64 = c2 + 1;
	} else {
		name = spec;
		nlen = (size_t)(c1 - spec);
		b64 = c1 + 1;
	}
	if (nlen == 0 || nlen >= sizeof(namebuf)) {
		return DMP_EINVAL;
	}
	memcpy(namebuf, name, nlen);
	namebuf[nlen] = 0;
	if (dmp_b64_decode(secret, sizeof(secret), &slen, b64, strlen(b64)) !=
	    0) {
		rc = DMP_EINVAL;
		goto out;
	}
	rc = dmp_tsig_key_new(out, namebuf, secret, slen);
out:
	dmp_wipe(secret, sizeof(secret));
	return rc;
}

void dmp_tsig_key_free(struct dmp_tsig_key *key)
{
	if (!key) {
		return;
	}
	dmp_wipe_free(key, sizeof(*key));
}

/* RFC 8945 4.2: the TSIG RR, last in the additional section; its owner
 * compressed as dnspython does. */
static int sign(struct dmp_wbuf *w, struct dmp_dnswire_ctab *ct,
		const struct dmp_tsig_key *key, uint64_t time_signed,
		uint8_t mac[DMP_TSIG_MAC_BYTES])
{
	const struct dmp_tsig_sign_args a = {
	    .key = key->name,
	    .secret = key->secret,
	    .secret_len = key->secret_len,
	    .time_signed = time_signed,
	    .fudge = DMP_TSIG_FUDGE,
	};

	return dmp_tsig_sign(w, ct, &a, mac); /* growing buffer: ENOMEM */
}

static int put_op(struct dmp_wbuf *w, struct dmp_dnswire_ctab *ct,
		  const uint8_t *zone, const struct dmp_update_rr *op)
{
	uint8_t owner[DMP_DNS_NAME_WIRE_MAX];
	uint16_t class;
	uint32_t ttl;
	int n = dmp_dns_name_to_wire(owner, sizeof(owner), op->owner);

	if (n < 0) {
		return n;
	}
	/* RFC 2136 3.4.1.3: the node answers NOTZONE; refuse it here. */
	if (!dmp_dnswire_in_zone(owner, (size_t)n, zone,
				 dmp_dnswire_name_len(zone))) {
		return DMP_EBADNAME;
	}
	switch (op->op) {
	case DMP_UPDATE_ADD:
		class = DMP_DNS_CLASS_IN;
		ttl = op->ttl;
		break;
	case DMP_UPDATE_DELETE_VALUE: /* RFC 2136 2.5.4 */
		class = DMP_DNS_CLASS_NONE;
		ttl = 0;
		break;
	case DMP_UPDATE_DELETE_RRSET: /* RFC 2136 2.5.2 */
		class = DMP_DNS_CLASS_ANY;
		ttl = 0;
		break;
	default: return DMP_EINVAL;
	}
	if (op->op != DMP_UPDATE_DELETE_RRSET && !op->value && op->value_len) {
		return DMP_EINVAL;
	}
	dmp_dnswire_put_name(w, ct, owner);
	dmp_wbuf_u16(w, DMP_DNS_TYPE_TXT);
	dmp_wbuf_u16(w, class);
	dmp_wbuf_u32(w, ttl);
	if (op->op == DMP_UPDATE_DELETE_RRSET) {
		dmp_wbuf_u16(w, 0);
	} else {
		/* PROTOCOL.md 1.3, 10.4: split into <= 255-byte strings. */
		size_t need = dmp_txt_rdata_len(op->value_len);
		uint8_t *rd;
		int rl;

		if (need > 65535) {
			return DMP_ETOOBIG;
		}
		dmp_wbuf_u16(w, (uint16_t)need);
		rd = dmp_wbuf_reserve(w, need);
		if (!rd) {
			return DMP_ENOMEM;
		}
		rl = dmp_txt_split(rd, need, op->value ? op->value : "",
				   op->value_len);
		if (rl < 0) {
			return rl;
		}
	}
	return dmp_wbuf_error(w) ? DMP_ENOMEM : 0;
}

int dmp_update_build(uint8_t **wire, size_t *len,
		     uint8_t mac[DMP_TSIG_MAC_BYTES], const char *zone,
		     const struct dmp_update_rr *ops, size_t n,
		     const struct dmp_tsig_key *key, uint16_t id,
		     uint64_t time_signed)
{
	struct dmp_dnswire_ctab ct = {0};
	uint8_t zw[DMP_DNS_NAME_WIRE_MAX], m[DMP_TSIG_MAC_BYTES];
	struct dmp_wbuf w;
	int rc, zl;

	*wire = NULL;
	*len = 0;
	if (mac) {
		memset(mac, 0, DMP_TSIG_MAC_BYTES);
	}
	if (n == 0 || n > 65535 || !ops) {
		return DMP_EINVAL;
	}
	zl = dmp_dns_name_to_wire(zw, sizeof(zw), zone);
	if (zl < 0) {
		return zl;
	}
	dmp_wbuf_init_dyn(&w);
	/* RFC 2136 2.2: id, opcode UPDATE, ZOCOUNT 1, PRCOUNT 0, UPCOUNT n,
	 * ADCOUNT 0 (TSIG added by sign()). */
	dmp_wbuf_u16(&w, id);
	dmp_wbuf_u16(&w, DMP_DNS_OPCODE_UPDATE << 11);
	dmp_wbuf_u16(&w, 1);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_u16(&w, (uint16_t)n);
	dmp_wbuf_u16(&w, 0);
	/* RFC 2136 2.3 zone section: <zone> SOA IN (PROTOCOL.md 7.1). */
	dmp_dnswire_put_name(&w, &ct, zw);
	dmp_wbuf_u16(&w, DMP_DNS_TYPE_SOA);
	dmp_wbuf_u16(&w, DMP_DNS_CLASS_IN);
	for (size_t i = 0; i < n; i++) {
		rc = put_op(&w, &ct, zw, &ops[i]);
		if (rc != 0) {
			goto out;
		}
	}
	if (key) {
		rc = sign(&w, &ct, key, time_signed, m);
		if (rc != 0) {
			goto out;
		}
		if (mac) {
			memcpy(mac, m, sizeof(m));
		}
	}
	if (dmp_wbuf_error(&w)) {
		rc = DMP_ENOMEM;
		goto out;
	}
	if (w.len > DMP_DNS_MSG_MAX) {
		rc = DMP_ETOOBIG;
		goto out;
	}
	*wire = dmp_wbuf_steal(&w, len);
	rc = *wire ? 0 : DMP_ENOMEM;
out:
	dmp_wbuf_clear(&w);
	if (rc != 0 && mac) {
		memset(mac, 0, DMP_TSIG_MAC_BYTES);
	}
	return rc;
}

static int map_rcode(int rcode)
{
	switch (rcode) {
	case DMP_DNS_RCODE_NOERROR: return 0;
	case DMP_DNS_RCODE_NOTAUTH: return DMP_ENOTAUTH;
	case DMP_DNS_RCODE_REFUSED: return DMP_EREFUSED;
	case DMP_DNS_RCODE_NOTZONE: return DMP_ENOTZONE;
	case DMP_DNS_RCODE_SERVFAIL: return DMP_ESERVFAIL;
	case DMP_DNS_RCODE_NXDOMAIN: return DMP_ENXDOMAIN;
	default: return DMP_EDNS;
	}
}

int dmp_update_check_reply(const uint8_t *wire, size_t len, uint16_t id,
			   const uint8_t mac[DMP_TSIG_MAC_BYTES],
			   const struct dmp_tsig_key *key, uint64_t time_signed,
			   int *rcode, int *tsig_error)
{
	knot_pkt_t *pkt = NULL;
	uint8_t *copy = NULL;
	int rc, rcv, terr = 0;

	if (rcode) {
		*rcode = -1;
	}
	if (tsig_error) {
		*tsig_error = 0;
	}
	if (len < 12 || len > DMP_DNS_MSG_MAX) {
		return DMP_EDNS;
	}
	copy = dmp_malloc(len);
	if (!copy) {
		return DMP_ENOMEM;
	}
	memcpy(copy, wire, len);
	pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
	if (!pkt) {
		rc = DMP_ENOMEM;
		goto out;
	}
	if (knot_pkt_parse(pkt, 0) != KNOT_EOK ||
	    knot_wire_get_id(pkt->wire) != id || !knot_wire_get_qr(pkt->wire) ||
	    knot_wire_get_opcode(pkt->wire) != DMP_DNS_OPCODE_UPDATE) {
		rc = DMP_EDNS;
		goto out;
	}
	rcv = pkt->opt_rr ? knot_pkt_ext_rcode(pkt)
			  : knot_wire_get_rcode(pkt->wire);
	if (rcode) {
		*rcode = rcv;
	}
	if (!key) {
		rc = map_rcode(rcv);
		goto out;
	}
	if (!pkt->tsig_rr) {
		/* RFC 8945 5.3.2 says errors come signed or with an empty
		 * MAC, but a node that cannot find the key at all may drop
		 * TSIG: that is still a rejection of the key, not success. */
		rc = rcv == DMP_DNS_RCODE_NOTAUTH ? DMP_ENOTAUTH : DMP_EBADTSIG;
		goto out;
	}
	terr = knot_tsig_rdata_error(pkt->tsig_rr);
	if (tsig_error) {
		*tsig_error = terr;
	}
	switch (terr) {
	case 0: break;
	case DMP_DNS_RCODE_BADTIME: rc = DMP_ECLOCKSKEW; goto out;
	case DMP_DNS_RCODE_BADSIG:
	case DMP_DNS_RCODE_BADKEY: rc = DMP_ENOTAUTH; goto out;
	default: rc = DMP_EBADTSIG; goto out;
	}
	{
		knot_tsig_key_t kk = {
		    .algorithm = DNSSEC_TSIG_HMAC_SHA256,
		    .name = (knot_dname_t *)(uintptr_t)key->name,
		    .secret = {.size = key->secret_len,
			       .data = (uint8_t *)(uintptr_t)key->secret},
		};
		/* pkt->size excludes the TSIG RR after parsing. */
		int kr = knot_tsig_client_check(
		    pkt->tsig_rr, pkt->wire, pkt->size, mac, DMP_TSIG_MAC_BYTES,
		    &kk, time_signed);

		if (kr == KNOT_TSIG_EBADTIME) {
			rc = DMP_ECLOCKSKEW;
			goto out;
		}
		if (kr != KNOT_EOK) {
			rc = DMP_EBADTSIG;
			goto out;
		}
	}
	/* A NOTAUTH signed with our key and no TSIG error accepted the key:
	 * RFC 2136 2.2's "not authoritative for the zone" (issue 14: it was
	 * reported as a rejected key). */
	rc = rcv == DMP_DNS_RCODE_NOTAUTH ? DMP_ENOTZONE : map_rcode(rcv);
out:
	knot_pkt_free(pkt);
	dmp_free(copy);
	return rc;
}

/* ---- transport ---------------------------------------------------- */

struct dmp_update_conn {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char zone[DMP_DNS_NAME_MAX + 2];
	const struct dmp_tsig_key *key;
	struct dmp_update_opts opts;
	int tcp_fd;
};

void dmp_update_opts_default(struct dmp_update_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 5000;
	o->attempts = 3;
	o->backoff_ms = 500;
	o->udp_max = DMP_DNS_EDNS_PAYLOAD;
}

int dmp_update_conn_new(struct dmp_update_conn **out, const char *server,
			const char *zone, const struct dmp_tsig_key *key,
			const struct dmp_update_opts *opts)
{
	struct dmp_update_conn *c;
	uint8_t zw[DMP_DNS_NAME_WIRE_MAX];
	int rc;

	*out = NULL;
	if (!zone || strlen(zone) >= sizeof(c->zone)) {
		return DMP_EBADNAME;
	}
	rc = dmp_dns_name_to_wire(zw, sizeof(zw), zone);
	if (rc < 0) {
		return rc;
	}
	c = dmp_calloc(1, sizeof(*c));
	if (!c) {
		return DMP_ENOMEM;
	}
	rc = dmp_addr_parse(server, 53, 0, &c->addr, &c->addr_len);
	if (rc != 0) {
		dmp_free(c);
		return rc;
	}
	strcpy(c->zone, zone);
	c->key = key;
	if (opts) {
		c->opts = *opts;
	} else {
		dmp_update_opts_default(&c->opts);
	}
	if (!c->opts.timeout_ms) {
		c->opts.timeout_ms = 5000;
	}
	if (!c->opts.attempts) {
		c->opts.attempts = 3;
	}
	if (!c->opts.udp_max) {
		c->opts.udp_max = DMP_DNS_EDNS_PAYLOAD;
	}
	c->tcp_fd = -1;
	*out = c;
	return 0;
}

static void tcp_close(struct dmp_update_conn *c)
{
	if (c->tcp_fd >= 0) {
		close(c->tcp_fd);
		c->tcp_fd = -1;
	}
}

void dmp_update_conn_free(struct dmp_update_conn *c)
{
	if (!c) {
		return;
	}
	tcp_close(c);
	dmp_free(c);
}

/* Wait for @p ev on @p fd until @p deadline (monotonic ms). */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = ev};
		int64_t left = deadline - dmp_net_mono_ms();
		int r;

		if (left <= 0) {
			return DMP_ETIMEDOUT;
		}
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0) {
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			return DMP_EIO;
		}
	}
}

static int net_err(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNRESET:
	case EPIPE:
	case ETIMEDOUT: return DMP_EUNREACHABLE;
	default: return DMP_EIO;
	}
}

/* One UDP exchange. Replies with another id are strays: keep waiting. */
static int udp_exchange(struct dmp_update_conn *c, const uint8_t *q,
			size_t qlen, uint8_t *r, size_t cap, size_t *rlen)
{
	int64_t deadline = dmp_net_mono_ms() + c->opts.timeout_ms;
	int fd, rc;

	fd = socket(c->addr.ss_family,
		    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return DMP_EIO;
	}
	/* connect() so ICMP unreachable surfaces as ECONNREFUSED. */
	if (connect(fd, (const struct sockaddr *)&c->addr, c->addr_len) != 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen) {
		rc = net_err(errno);
		goto out;
	}
	for (;;) {
		ssize_t n;

		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0) {
			rc = rc == DMP_ETIMEDOUT ? DMP_EUNREACHABLE : rc;
			goto out;
		}
		n = recv(fd, r, cap, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				continue;
			}
			rc = net_err(errno);
			goto out;
		}
		if (n >= 2 && r[0] == q[0] && r[1] == q[1]) {
			*rlen = (size_t)n;
			rc = 0;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

static int io_all(int fd, uint8_t *p, size_t n, int wr, int64_t deadline)
{
	size_t off = 0;

	while (off < n) {
		ssize_t k;
		int rc = wait_fd(fd, wr ? POLLOUT : POLLIN, deadline);

		if (rc != 0) {
			return rc == DMP_ETIMEDOUT ? DMP_EUNREACHABLE : rc;
		}
		k = wr ? send(fd, p + off, n - off, MSG_NOSIGNAL)
		       : recv(fd, p + off, n - off, 0);
		if (k == 0) {
			return DMP_EUNREACHABLE; /* peer closed */
		}
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				continue;
			}
			return net_err(errno);
		}
		off += (size_t)k;
	}
	return 0;
}

static int tcp_connect(struct dmp_update_conn *c, int64_t deadline)
{
	int fd, err = 0, rc;
	socklen_t el = sizeof(err);

	fd = socket(c->addr.ss_family,
		    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return DMP_EIO;
	}
	{
		int one = 1;

		/* Request/response traffic: never wait to coalesce. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	}
	if (connect(fd, (const struct sockaddr *)&c->addr, c->addr_len) != 0) {
		if (errno != EINPROGRESS) {
			rc = net_err(errno);
			close(fd);
			return rc;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc == 0 &&
		    (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
		     err != 0)) {
			rc = net_err(err);
		}
		if (rc != 0) {
			close(fd);
			return rc == DMP_ETIMEDOUT ? DMP_EUNREACHABLE : rc;
		}
	}
	c->tcp_fd = fd;
	return 0;
}

/* One TCP exchange (RFC 1035 4.2.2 length prefix) on the kept connection;
 * a connection the node closed while idle is reopened once. */
static int tcp_exchange(struct dmp_update_conn *c, const uint8_t *q,
			size_t qlen, uint8_t *r, size_t cap, size_t *rlen)
{
	for (int round = 0; round < 2; round++) {
		int64_t deadline = dmp_net_mono_ms() + c->opts.timeout_ms;
		int reused = c->tcp_fd >= 0, rc;
		uint8_t hdr[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
		size_t n;

		if (!reused) {
			rc = tcp_connect(c, deadline);
			if (rc != 0) {
				return rc;
			}
		}
		/*
		 * Length and message in one write: two small writes stall on
		 * Nagle plus the peer's delayed ACK (40 ms per UPDATE).
		 */
		{
			uint8_t *framed = dmp_malloc(qlen + 2);

			if (!framed) {
				return DMP_ENOMEM;
			}
			memcpy(framed, hdr, 2);
			memcpy(framed + 2, q, qlen);
			rc = io_all(c->tcp_fd, framed, qlen + 2, 1, deadline);
			dmp_free(framed);
		}
		if (rc == 0) {
			rc = io_all(c->tcp_fd, hdr, 2, 0, deadline);
		}
		if (rc != 0) {
			tcp_close(c);
			if (reused) {
				DMP_LOG_D("update: node closed the idle TCP "
					  "connection; reopening");
				continue;
			}
			return rc;
		}
		n = (size_t)hdr[0] << 8 | hdr[1];
		if (n > cap || n < 12) {
			tcp_close(c);
			return DMP_EDNS;
		}
		rc = io_all(c->tcp_fd, r, n, 0, deadline);
		if (rc != 0) {
			tcp_close(c);
			return rc;
		}
		*rlen = n;
		return 0;
	}
	return DMP_EUNREACHABLE;
}

static int transient(int rc)
{
	return rc == DMP_EUNREACHABLE || rc == DMP_ESERVFAIL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

int dmp_update_send(struct dmp_update_conn *c, const struct dmp_update_rr *ops,
		    size_t n, uint64_t now, struct dmp_update_result *res)
{
	struct dmp_update_result tmp;
	uint8_t mac[DMP_TSIG_MAC_BYTES];
	uint8_t *q = NULL, *r = NULL;
	size_t qlen = 0, rlen = 0;
	unsigned backoff = c->opts.backoff_ms;
	int rc = DMP_EUNREACHABLE;

	if (!res) {
		res = &tmp;
	}
	memset(res, 0, sizeof(*res));
	res->rcode = -1;
	r = dmp_malloc(DMP_DNS_MSG_MAX);
	if (!r) {
		return DMP_ENOMEM;
	}
	for (unsigned a = 0; a < c->opts.attempts; a++) {
		uint16_t id;
		int use_tcp;

		if (a > 0 && backoff) {
			sleep_ms(backoff);
			backoff *= 2;
		}
		dmp_free(q);
		q = NULL;
		/* A fresh id and time each attempt: the node's replay and
		 * time checks see a new request. */
		dmp_random(&id, sizeof(id));
		rc = dmp_update_build(&q, &qlen, mac, c->zone, ops, n, c->key,
				      id, now);
		if (rc != 0) {
			goto out;
		}
		res->attempts = a + 1;
		use_tcp =
		    c->opts.tcp || c->tcp_fd >= 0 || qlen > c->opts.udp_max;
		if (!use_tcp) {
			rc =
			    udp_exchange(c, q, qlen, r, DMP_DNS_MSG_MAX, &rlen);
			/* RFC 2136 / 1035: TC means retry over TCP. */
			if (rc == 0 && rlen >= 4 && (r[2] & 0x02)) {
				use_tcp = 1;
			}
		}
		if (use_tcp) {
			res->used_tcp = 1;
			rc =
			    tcp_exchange(c, q, qlen, r, DMP_DNS_MSG_MAX, &rlen);
		}
		if (rc == 0) {
			rc = dmp_update_check_reply(r, rlen, id, mac, c->key,
						    now, &res->rcode,
						    &res->tsig_error);
		}
		if (!transient(rc)) {
			break;
		}
		DMP_LOG_D("update: attempt %u: %s", a + 1, dmp_strerror(rc));
	}
out:
	dmp_free(q);
	dmp_free(r);
	dmp_wipe(mac, sizeof(mac));
	return rc;
}

int dmp_update_add(struct dmp_update_conn *c, const char *owner, uint32_t ttl,
		   const char *value, uint64_t now,
		   struct dmp_update_result *res)
{
	struct dmp_update_rr op = {
	    .op = DMP_UPDATE_ADD,
	    .owner = owner,
	    .ttl = ttl,
	    .value = value,
	    .value_len = value ? strlen(value) : 0,
	};

	return dmp_update_send(c, &op, 1, now, res);
}
