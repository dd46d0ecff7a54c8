/*
 * tools/dmp/cmd_recv.c - `dmp recv [--watch]`: publish the queue, then poll and
 * print what arrives (the engine's events, see cli.c).
 */
#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#include "dmp/engine.h"
#include "dmp/err.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage_recv(FILE *f)
{
	fprintf(f, "usage: dmp recv [--watch] [--interval SECONDS]\n"
		   "Publish queued messages, then fetch new ones into the "
		   "Maildirs and print\neach (sender, time, body).\n");
}

int dmpcli_cmd_recv(struct dmpcli *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"watch", no_argument, NULL, 'w'},
	    {"interval", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	struct dmp_engine *e = NULL;
	unsigned interval = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'w': c->watch = 1; break;
		case 'i': {
			long long v; /* messages.poll_interval's range */

			if (dmpcli_number("--interval", optarg, 1, 86400, &v) <
			    0) {
				return EX_USAGE;
			}
			interval = (unsigned)v;
			break;
		}
		case 'h': usage_recv(stdout); return 0;
		default: usage_recv(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage_recv(stderr);
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		struct dmp_engine_status s;

		(void)dmp_engine_publish(e);
		rc = dmp_engine_poll(e);
		if (rc < 0 && !c->watch) {
			break;
		}
		if (rc < 0) {
			fprintf(stderr, "dmp: poll: %s\n", dmp_strerror(rc));
		}
		if (!c->watch) {
			break;
		}
		dmp_engine_status(e, &s);
		for (unsigned left =
			 interval ? interval
				  : (unsigned)(s.next_poll - s.last_poll);
		     left > 0 && !stop_flag; left--) {
			sleep(1);
		}
	} while (!stop_flag);
	dmp_engine_close(e);
	if (rc < 0 && !c->watch) {
		return dmpcli_fail("recv", rc);
	}
	if (c->new_msgs == 0 && !c->watch) {
		fprintf(stderr, "dmp: no new messages\n");
	}
	return 0;
}
