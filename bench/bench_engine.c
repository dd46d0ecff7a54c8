/*
 * bench/bench_engine.c - messages per second through one dmp-node, and
 * send-to-receipt latency with a 1 s poll interval (not a test).
 *
 *   bench_engine NODE_IP:PORT ALICE_TSIG BOB_TSIG [COUNT]
 *
 * Run by bench/engine_bench.sh, which starts a dmp-node with a fresh
 * database and keys. Two homes are created in a temp directory; alice
 * sends COUNT 1 KiB messages to bob.
 *
 * 1. throughput: alice submits and publishes each in turn (the chunks in
 *    one UPDATE, then the manifest), then bob polls until all are in.
 * 2. latency: alice sends one message every 100 ms from one thread while
 *    bob polls once a second in another; latency = delivery - submit.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"

#define MAXN 2000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct lat {
	pthread_mutex_t mu;
	char ids[MAXN][33];
	double sent[MAXN];
	double got[MAXN];
	int n_sent, n_got;
};

static void on_bob(const struct dmp_event *ev, void *ud)
{
	struct lat *l = ud;
	char hex[33];

	if (ev->kind != DMP_EV_RECEIVED || !ev->msg_id) {
		return;
	}
	dmp_hex_encode(hex, ev->msg_id, 16);
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->n_sent; i++) {
		if (strcmp(l->ids[i], hex) == 0 && l->got[i] == 0) {
			l->got[i] = now_s();
			l->n_got++;
		}
	}
	l->n_got += 0;
	pthread_mutex_unlock(&l->mu);
}

static void on_alice(const struct dmp_event *ev, void *ud)
{
	struct lat *l = ud;

	if (ev->kind != DMP_EV_QUEUED || !ev->msg_id) {
		return;
	}
	pthread_mutex_lock(&l->mu);
	if (l->n_sent < MAXN) {
		dmp_hex_encode(l->ids[l->n_sent], ev->msg_id, 16);
		l->sent[l->n_sent++] = now_s();
	}
	pthread_mutex_unlock(&l->mu);
}

static struct dmp_engine *open_home(const char *home, const char *pass,
				    dmp_event_fn fn, void *ud)
{
	struct dmp_engine_opts o;
	struct dmp_engine *e = NULL;

	memset(&o, 0, sizeof(o));
	o.home = home;
	o.passphrase = pass;
	o.on_event = fn;
	o.ud = ud;
	if (dmp_engine_open(&e, &o) < 0) {
		fprintf(stderr, "open %s failed\n", home);
		exit(1);
	}
	return e;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bob_ctx {
	const char *home;
	struct lat *l;
	int want;
	volatile int stop;
};

static void *bob_thread(void *arg)
{
	struct bob_ctx *b = arg;
	struct dmp_engine *e = open_home(b->home, "bob-pass", on_bob, b->l);

	while (!b->stop) {
		double t0 = now_s();

		(void)dmp_engine_poll(e);
		pthread_mutex_lock(&b->l->mu);
		if (b->l->n_got >= b->want) {
			b->stop = 1;
		}
		pthread_mutex_unlock(&b->l->mu);
		while (!b->stop && now_s() - t0 < 1.0) {
			usleep(10000);
		}
	}
	dmp_engine_close(e);
	return NULL;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/dmp-bench-XXXXXX", ha[300], hb[300];
	const char *nodes[2] = {NULL, NULL};
	struct dmp_engine_init in;
	struct dmp_engine *a, *b;
	static struct lat l1, l2;
	uint8_t body[1024];
	int count = argc > 4 ? atoi(argv[4]) : 200;
	double t0, t1, t2;

	if (argc < 4 || count <= 0 || count > MAXN) {
		fprintf(stderr, "usage: bench_engine NODE ALICE_TSIG BOB_TSIG "
				"[COUNT]\n");
		return 2;
	}
	if (!mkdtemp(dir)) {
		return 1;
	}
	snprintf(ha, sizeof(ha), "%s/alice", dir);
	snprintf(hb, sizeof(hb), "%s/bob", dir);
	nodes[0] = argv[1];
	memset(&in, 0, sizeof(in));
	in.domain = "mesh.test";
	in.nodes = nodes;
	in.username = "alice";
	in.tsig = argv[2];
	if (dmp_engine_init_home(ha, &in, "alice-pass") < 0) {
		return 1;
	}
	in.username = "bob";
	in.tsig = argv[3];
	if (dmp_engine_init_home(hb, &in, "bob-pass") < 0) {
		return 1;
	}
	pthread_mutex_init(&l1.mu, NULL);
	pthread_mutex_init(&l2.mu, NULL);
	a = open_home(ha, "alice-pass", on_alice, &l1);
	b = open_home(hb, "bob-pass", on_bob, &l1);
	if (dmp_engine_identity_publish(a) < 0 ||
	    dmp_engine_identity_publish(b) < 0 ||
	    dmp_engine_contact_add(a, "bob@mesh.test", NULL, NULL) < 0 ||
	    dmp_engine_contact_add(b, "alice@mesh.test", NULL, NULL) < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	/* The prekey pool (25) would run dry: refill it as we go. */
	t0 = now_s();
	for (int i = 0; i < count; i++) {
		dmp_random(body, sizeof(body));
		if (dmp_engine_submit(a, "bob", body, sizeof(body), 3600,
				      NULL) < 0) {
			fprintf(stderr, "submit failed\n");
			return 1;
		}
		if (dmp_engine_publish(a) != 1) {
			fprintf(stderr, "publish failed\n");
			return 1;
		}
	}
	t1 = now_s();
	while (l1.n_got < count && now_s() - t1 < 120) {
		if (dmp_engine_poll(b) < 0) {
			break;
		}
	}
	t2 = now_s();
	printf("throughput: %d x 1 KiB: send %.1f msg/s (%.3f s), receive "
	       "%.1f msg/s (%.3f s, %d delivered)\n",
	       count, count / (t1 - t0), t1 - t0, l1.n_got / (t2 - t1), t2 - t1,
	       l1.n_got);
	dmp_engine_close(a);
	dmp_engine_close(b);

	/* Latency with a 1 s poll interval. */
	{
		struct bob_ctx bc = {hb, &l2, count / 4 ? count / 4 : 1, 0};
		pthread_t th;
		double lat[MAXN];
		int n = 0;

		a = open_home(ha, "alice-pass", on_alice, &l2);
		pthread_create(&th, NULL, bob_thread, &bc);
		sleep(1);
		for (int i = 0; i < bc.want; i++) {
			dmp_random(body, sizeof(body));
			if (dmp_engine_submit(a, "bob", body, sizeof(body),
					      3600, NULL) < 0 ||
			    dmp_engine_publish(a) != 1) {
				fprintf(stderr, "send failed\n");
				break;
			}
			usleep(100000);
		}
		for (int w = 0; w < 300 && !bc.stop; w++) {
			usleep(100000);
		}
		bc.stop = 1;
		pthread_join(th, NULL);
		for (int i = 0; i < l2.n_sent; i++) {
			if (l2.got[i] > 0) {
				lat[n++] = l2.got[i] - l2.sent[i];
			}
		}
		qsort(lat, (size_t)n, sizeof(lat[0]), cmp_d);
		if (n > 0) {
			printf(
			    "latency (1 s poll): %d messages, median %.3f s, "
			    "p99 %.3f s, max %.3f s\n",
			    n, lat[n / 2],
			    lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
			    lat[n - 1]);
		}
		dmp_engine_close(a);
	}
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0) {
			return 1;
		}
	}
	return 0;
}
