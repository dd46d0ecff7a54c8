/*
 * bench/bench_send.c - durable sends per second through one dmp-node (not
 * a test). Run by bench/send_bench.sh, which starts the node, runs this
 * under strace for the fsync counts and without it for the rate.
 *
 *   bench_send NODE_IP:PORT ALICE_TSIG BOB_TSIG COUNT [BATCH [RECV]]
 *
 * Two fresh homes in a temp directory; alice sends COUNT 1 KiB messages
 * to bob: BATCH (default 1) submits, each acknowledged durably as
 * dmp_engine_submit returns, then one publish of the batch (chunks,
 * manifest, sent/ copy). COUNT 0 does only the set-up, so the script can
 * subtract its syscalls. With RECV 1 bob then polls until all are in.
 * BENCH_DELAY in the environment sets alice's privacy.delay (e.g. "off":
 * the send path without the publish delay's deliberate wait, one draw
 * per publish pass, mean 200 ms by default).
 * Prints one line: "send: COUNT msgs BATCH/batch S s R msg/s recv N
 * (publish P s)", P the part of S spent in dmp_engine_publish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/settings.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_bob(const struct dmp_event *ev, void *ud)
{
	if (ev->kind == DMP_EV_RECEIVED) {
		(*(int *)ud)++;
	}
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

int main(int argc, char **argv)
{
	char dir[] = "/tmp/dmp-sendbench-XXXXXX", ha[300], hb[300], cmd[400];
	const char *nodes[2] = {NULL, NULL};
	struct dmp_engine_init in;
	struct dmp_engine *a, *b;
	uint8_t body[1024];
	int count = argc > 4 ? atoi(argv[4]) : -1;
	int batch = argc > 5 ? atoi(argv[5]) : 1;
	int recv = argc > 6 ? atoi(argv[6]) : 0, got = 0, sent = 0;
	double t0, t1, tp = 0, tq;

	if (argc < 5 || count < 0 || batch <= 0) {
		fprintf(stderr, "usage: bench_send NODE ALICE_TSIG BOB_TSIG "
				"COUNT [BATCH [RECV]]\n");
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
	if (getenv("BENCH_DELAY") && *getenv("BENCH_DELAY")) {
		char err[256];

		if (dmp_settings_set(ha, "privacy.delay", getenv("BENCH_DELAY"),
				     err, sizeof(err)) < 0) {
			fprintf(stderr, "BENCH_DELAY: %s\n", err);
			return 2;
		}
	}
	a = open_home(ha, "alice-pass", NULL, NULL);
	b = open_home(hb, "bob-pass", on_bob, &got);
	if (dmp_engine_identity_publish(a) < 0 ||
	    dmp_engine_identity_publish(b) < 0 ||
	    dmp_engine_contact_add(a, "bob@mesh.test", NULL, NULL) < 0 ||
	    dmp_engine_contact_add(b, "alice@mesh.test", NULL, NULL) < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	t0 = now_s();
	while (sent < count) {
		int n = count - sent < batch ? count - sent : batch;

		for (int i = 0; i < n; i++) {
			dmp_random(body, sizeof(body));
			if (dmp_engine_submit(a, "bob", body, sizeof(body),
					      3600, NULL) < 0) {
				fprintf(stderr, "submit failed\n");
				return 1;
			}
		}
		tq = now_s();
		if (dmp_engine_publish(a) != n) {
			fprintf(stderr, "publish failed\n");
			return 1;
		}
		tp += now_s() - tq;
		sent += n;
	}
	t1 = now_s();
	for (int i = 0; recv && i < 600 && got < count; i++) {
		if (dmp_engine_poll(b) < 0) {
			break;
		}
	}
	printf("send: %d msgs %d/batch %.3f s %.1f msg/s recv %d (publish "
	       "%.3f s)\n",
	       count, batch, t1 - t0, count ? count / (t1 - t0) : 0.0, got, tp);
	dmp_engine_close(a);
	dmp_engine_close(b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
