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
		   "Publish queued messages (retrying failed ones now), then "
		   "fetch new ones\ninto the Maildirs and print each "
		   "(sender, time, body). Exit 1 when a\nmailbox slot could "
		   "not be read (mail may be waiting there unseen).\n");
}

/* Slots that could not be read: said on stderr when it starts (every
 * pass without --watch). @return the count now */
static int report_unreadable(const struct dmp_engine_status *s, int before)
{
	if (s->unreadable > 0 && before == 0) {
		fprintf(stderr,
			"dmp: recv: could not read %d mailbox slot%s, mail "
			"may be waiting there unseen: %s\n",
			s->unreadable, s->unreadable == 1 ? "" : "s",
			s->unreadable_detail);
	} else if (s->unreadable == 0 && before > 0) {
		fprintf(stderr, "dmp: recv: every mailbox slot reads again\n");
	}
	return s->unreadable;
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
	int opt, rc, unreadable = 0, first = 1, stale_told = 0;

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

		/* The first pass retries everything now (a `dmp flush`). */
		int prc = first ? dmp_engine_flush(e) : dmp_engine_publish(e);

		first = 0;
		if (prc == DMP_ESTALEKEY && !stale_told) {
			/* Rotated by another process: the queue waits. */
			fprintf(stderr, "dmp: publish: %s\n",
				dmp_strerror(prc));
			stale_told = 1;
		}
		rc = dmp_engine_poll(e);
		if (rc < 0 && !c->watch) {
			break;
		}
		if (rc < 0) {
			fprintf(stderr, "dmp: poll: %s\n", dmp_strerror(rc));
		}
		dmp_engine_status(e, &s);
		unreadable = report_unreadable(&s, unreadable);
		if (!c->watch) {
			break;
		}
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
	if (unreadable > 0 && !c->watch) {
		/* Never "no new messages" when slots could not be read. */
		return EX_FAIL;
	}
	if (c->new_msgs == 0 && !c->watch) {
		fprintf(stderr, "dmp: no new messages\n");
	}
	return 0;
}

static void usage_flush(FILE *f)
{
	fprintf(f, "usage: dmp flush\n"
		   "Retry every queued message now, oldest first, instead of "
		   "waiting out its\nbackoff. Works while dmpfs has the home "
		   "mounted (a remount flushes too).\n");
}

int dmpcli_cmd_flush(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_engine_status s;
	int rc;

	if (argc > 1) {
		usage_flush(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	rc = dmp_engine_flush(e);
	dmp_engine_status(e, &s);
	dmp_engine_close(e);
	if (rc < 0) {
		return dmpcli_fail("flush", rc);
	}
	printf("published %d message%s; %d still queued\n", rc,
	       rc == 1 ? "" : "s", s.queued);
	return s.queued > 0 ? EX_QUEUED : 0;
}
