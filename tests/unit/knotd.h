/*
 * tests/unit/knotd.h - run a throw-away Knot DNS server on loopback for the
 * dns layer tests (header-only; included by test_update.c and
 * test_resolver.c). Each server gets a temp dir, a free port on 127.0.0.1,
 * the zone mesh.test. with the records given, and the TSIG key
 * k.mesh.test. allowed to UPDATE. Servers are killed and their dirs
 * removed at exit, also when a test aborts early.
 */
#ifndef DMP_TEST_KNOTD_H
#define DMP_TEST_KNOTD_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/dnsmsg.h"
#include "dmp/err.h"

/* -DKNOTD_BIN=... points the tests at another knotd (or at none, to check
 * that they skip). */
#ifndef KNOTD_BIN
#define KNOTD_BIN "/usr/sbin/knotd"
#endif
#define KNOTD_MAX 4

/* The update key every test server trusts. */
static const uint8_t knotd_secret[32] = {
    0x6b, 0x6e, 0x6f, 0x74, 0x64, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d,
    0x6b, 0x65, 0x79, 0x2d, 0x66, 0x6f, 0x72, 0x2d, 0x64, 0x6d, 0x70,
    0x2d, 0x64, 0x6e, 0x73, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74,
};
#define KNOTD_KEY_NAME "k.mesh.test."

struct knotd {
	pid_t pid;
	unsigned short port;
	char dir[64];
	char addr[32]; /* "127.0.0.1:port" */
};

static struct knotd *knotd_all[KNOTD_MAX];

static __attribute__((unused)) void knotd_stop(struct knotd *k)
{
	char cmd[128];

	if (k->pid > 0) {
		kill(k->pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
				k->pid = 0;
				break;
			}
			usleep(20000);
		}
		if (k->pid > 0) {
			kill(k->pid, SIGKILL);
			waitpid(k->pid, NULL, 0);
			k->pid = 0;
		}
	}
	if (k->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "# could not remove %s\n", k->dir);
		}
		k->dir[0] = 0;
	}
	for (int i = 0; i < KNOTD_MAX; i++) {
		if (knotd_all[i] == k) {
			knotd_all[i] = NULL;
		}
	}
}

static void knotd_atexit(void)
{
	for (int i = 0; i < KNOTD_MAX; i++) {
		if (knotd_all[i]) {
			knotd_stop(knotd_all[i]);
		}
	}
}

/* Give @p k a fresh temp dir from @p tmpl (a mkdtemp template) and have
 * knotd_stop() run on it at exit; also for other servers the tests run
 * (test_resolver_ref.c's refnode.py). 0 or -1. */
static int knotd_track(struct knotd *k, const char *tmpl)
{
	static int registered;

	snprintf(k->dir, sizeof(k->dir), "%s", tmpl);
	if (!mkdtemp(k->dir)) {
		k->dir[0] = 0;
		return -1;
	}
	for (int i = 0; i < KNOTD_MAX; i++) {
		if (!knotd_all[i]) {
			knotd_all[i] = k;
			break;
		}
	}
	if (!registered) {
		atexit(knotd_atexit);
		registered = 1;
	}
	return 0;
}

/* A port free for both UDP and TCP on 127.0.0.1 right now. */
static __attribute__((unused)) unsigned short knotd_free_port(int udp_only)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t al = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t;
		unsigned short port;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(u, (struct sockaddr *)&a, &al) != 0) {
			if (u >= 0) {
				close(u);
			}
			continue;
		}
		port = ntohs(a.sin_port);
		if (udp_only) {
			close(u);
			return port;
		}
		t = socket(AF_INET, SOCK_STREAM, 0);
		if (t >= 0 && bind(t, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(t);
			close(u);
			return port;
		}
		if (t >= 0) {
			close(t);
		}
		close(u);
	}
	return 0;
}

/* One blocking query; @p tcp 0 = UDP. Returns the parse result. */
static __attribute__((unused)) int
knotd_query(const char *ip, unsigned short port, const char *name, int edns,
	    int tcp, struct dmp_txt_answer *ans)
{
	struct dmp_dns_query_opts o;
	struct sockaddr_in a = {.sin_family = AF_INET};
	uint8_t q[512], r[65536];
	size_t ql;
	ssize_t n = -1;
	int fd, rc;

	memset(ans, 0, sizeof(*ans));
	dmp_dns_query_opts_default(&o);
	o.rd = 0;
	o.edns = edns;
	rc = dmp_dns_build_query(q, sizeof(q), &ql, name, DMP_DNS_TYPE_TXT, &o,
				 NULL);
	if (rc != 0) {
		return rc;
	}
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0) {
		return DMP_EIO;
	}
	{
		struct timeval tv = {.tv_sec = 2};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return DMP_EUNREACHABLE;
	}
	if (tcp) {
		uint8_t hdr[2] = {(uint8_t)(ql >> 8), (uint8_t)ql};
		size_t got = 0, want;

		if (send(fd, hdr, 2, 0) != 2 ||
		    send(fd, q, ql, 0) != (ssize_t)ql ||
		    recv(fd, hdr, 2, MSG_WAITALL) != 2) {
			close(fd);
			return DMP_EUNREACHABLE;
		}
		want = (size_t)hdr[0] << 8 | hdr[1];
		while (got < want) {
			ssize_t k = recv(fd, r + got, want - got, 0);

			if (k <= 0) {
				break;
			}
			got += (size_t)k;
		}
		n = (ssize_t)got;
	} else if (send(fd, q, ql, 0) == (ssize_t)ql) {
		n = recv(fd, r, sizeof(r), 0);
	}
	close(fd);
	if (n <= 0) {
		return DMP_EUNREACHABLE;
	}
	return dmp_dns_parse_txt(ans, r, (size_t)n, name);
}

/*
 * Start knotd serving mesh.test. with @p records (zone file lines, may be
 * "") on 127.0.0.1. Returns 0, or -1 if knotd is missing or never came up
 * (callers skip their server tests then).
 */
static int knotd_start_once(struct knotd *k, const char *records)
{
	char path[128], b64[64];
	pid_t parent;
	FILE *f;
	struct dmp_txt_answer ans;

	memset(k, 0, sizeof(*k));
	if (access(KNOTD_BIN, X_OK) != 0) {
		return -1;
	}
	if (knotd_track(k, "/tmp/dmp-knotd-XXXXXX") != 0) {
		return -1;
	}
	k->port = knotd_free_port(0);
	snprintf(k->addr, sizeof(k->addr), "127.0.0.1:%u", k->port);
	if (dmp_b64_encode(b64, sizeof(b64), knotd_secret,
			   sizeof(knotd_secret)) < 0) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/mesh.test.zone", k->dir);
	f = fopen(path, "w");
	if (!f) {
		return -1;
	}
	fprintf(f,
		"$ORIGIN mesh.test.\n$TTL 60\n"
		"@ SOA ns hostmaster 1 3600 900 604800 60\n"
		"@ NS ns\nns A 127.0.0.1\n%s\n",
		records);
	fclose(f);
	snprintf(path, sizeof(path), "%s/knot.conf", k->dir);
	f = fopen(path, "w");
	if (!f) {
		return -1;
	}
	fprintf(f,
		"server:\n"
		"    rundir: \"%s\"\n"
		"    listen: 127.0.0.1@%u\n"
		"    udp-workers: 1\n"
		"    tcp-workers: 1\n"
		"    background-workers: 1\n"
		"    tcp-idle-timeout: 1\n"
		"database:\n"
		"    storage: \"%s\"\n"
		"control:\n"
		"    listen: \"%s/knot.sock\"\n"
		"log:\n"
		"  - target: stderr\n"
		"    any: warning\n"
		"key:\n"
		"  - id: " KNOTD_KEY_NAME "\n"
		"    algorithm: hmac-sha256\n"
		"    secret: %s\n"
		"acl:\n"
		"  - id: upd\n"
		"    key: " KNOTD_KEY_NAME "\n"
		"    action: update\n"
		"template:\n"
		"  - id: default\n"
		"    storage: \"%s\"\n"
		"    zonefile-sync: -1\n"
		"zone:\n"
		"  - domain: mesh.test.\n"
		"    file: mesh.test.zone\n"
		"    acl: upd\n",
		k->dir, k->port, k->dir, k->dir, b64, k->dir);
	fclose(f);

	parent = getpid();
	k->pid = fork();
	if (k->pid < 0) {
		k->pid = 0;
		return -1;
	}
	if (k->pid == 0) {
		char logp[128];
		int lfd;

		/* Die with the test, even if it aborts (no atexit then). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		snprintf(logp, sizeof(logp), "%s/knotd.log", k->dir);
		lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		execl(KNOTD_BIN, "knotd", "-c", path, (char *)NULL);
		_exit(127);
	}
	/* Ready when the apex answers (NOERROR, no TXT). */
	for (int i = 0; i < 250; i++) {
		int st;

		if (waitpid(k->pid, &st, WNOHANG) == k->pid) {
			k->pid = 0;
			return -1;
		}
		if (knotd_query("127.0.0.1", k->port, "mesh.test", 1, 0,
				&ans) == 0) {
			int good = ans.rcode == 0 && ans.aa;

			dmp_txt_answer_clear(&ans);
			if (good) {
				return 0;
			}
		}
		usleep(20000);
	}
	return -1;
}

/* A free port can be taken between the probe and knotd's bind: retry.
 * Returns 0, -2 if knotd is not installed (skip), -1 if it would not
 * start (a failure). */
static __attribute__((unused)) int knotd_start(struct knotd *k,
					       const char *records)
{
	memset(k, 0, sizeof(*k));
	if (access(KNOTD_BIN, X_OK) != 0) {
		return -2;
	}
	for (int i = 0; i < 3; i++) {
		if (knotd_start_once(k, records) == 0) {
			return 0;
		}
		fprintf(stderr, "# knotd did not come up (try %d)\n", i + 1);
		knotd_stop(k);
	}
	return -1;
}

/* A value of @p n bytes: "v=" then a repeating alphabet, deterministic. */
static __attribute__((unused)) char *knotd_value(size_t n, char seed)
{
	char *v = malloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		v[i] = (char)('a' + (seed + i) % 26);
	}
	v[n] = 0;
	return v;
}

/* Zone-file form of @p v as consecutive <=255-byte quoted strings. */
static __attribute__((unused)) void knotd_txt_rdata(char *out, const char *v)
{
	size_t n = strlen(v), o = 0;

	for (size_t i = 0; i < n; i += 255) {
		size_t piece = n - i > 255 ? 255 : n - i;

		out[o++] = '"';
		memcpy(out + o, v + i, piece);
		o += piece;
		out[o++] = '"';
		out[o++] = ' ';
	}
	out[o] = 0;
}

#endif /* DMP_TEST_KNOTD_H */
