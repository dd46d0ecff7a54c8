/*
 * tools/dmp/cmd_queue.c - `dmp queue [show QUEUE_ID]`: the messages not
 * yet published, as dmpfs's queue/ shows them, without a mount. A failed
 * (expired) message's text is read back with `show` until `dmp cancel`.
 * The rendering is the store's (view.c), shared with queue/<id>.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/err.h"
#include "dmp/store.h"
#include "dmp/text.h"

struct row {
	struct dmp_engine *e;
	int64_t now;
	int n;
	char whole[33]; /* the multi-part file listed last */
};

static int print_row(const struct dmp_outbox_msg *m, void *ud)
{
	struct row *r = ud;
	char created[32], why[512], file[96] = "";

	if (m->whole[0]) {
		/* One row per file (its parts are queued together, so they
		 * come in a run): its first part not yet published. */
		int parts = 0, pub = 0;

		if (strcmp(r->whole, m->whole) == 0) {
			return 0;
		}
		snprintf(r->whole, sizeof(r->whole), "%s", m->whole);
		(void)dmp_store_outbox_whole(dmp_engine_store(r->e), m->whole,
					     &parts, &pub);
		snprintf(file, sizeof(file),
			 "file %.8s, %d of %d parts published; ", m->whole, pub,
			 parts);
	}

	if (r->n++ == 0) {
		printf("%-6s %-10s %-8s %-20s %s\n", "ID", "STATE", "ATTEMPTS",
		       "CREATED", "RECIPIENT: WHY");
	}
	(void)dmp_time_utc(created, sizeof(created), m->created);
	dmp_store_outbox_why(dmp_engine_store(r->e), m, r->now, why,
			     sizeof(why));
	printf("%-6lld %-10s %-8d %-20s %s: %s%s\n", (long long)m->id,
	       dmp_outbox_state_name(m->state), m->attempts, created,
	       m->recipient, file, why);
	return 0;
}

static const char usage_text[] =
    "usage: dmp queue            list the messages not yet "
    "published\n"
    "       dmp queue show QUEUE_ID   one of them, and a failed "
    "one's text\n"
    "`dmp cancel QUEUE_ID` takes one back.\n";

int dmpcli_cmd_queue(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct row r = {NULL, 0, 0, ""};
	long long qid = 0;
	int rc;

	if (argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		return dmpcli_usage(stdout, usage_text);
	}
	if (argc != 1 && !(argc == 3 && strcmp(argv[1], "show") == 0)) {
		return dmpcli_usage(stderr, usage_text);
	}
	if (argc == 3 &&
	    dmpcli_number("QUEUE_ID", argv[2], 1, INT64_MAX, &qid) < 0) {
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	if (qid) {
		rc = dmp_store_outbox_render(dmp_engine_store(e), qid, stdout,
					     NULL);
	} else {
		r.e = e;
		r.now = dmpcli_clock(c);
		rc = dmp_store_outbox_each_pending(dmp_engine_store(e),
						   print_row, &r);
		if (rc >= 0 && r.n == 0) {
			printf("the queue is empty: every message is "
			       "published\n");
		}
	}
	dmp_engine_close(e);
	if (rc == DMP_ENOENT) {
		fprintf(stderr,
			"dmp: no queued message %lld (published already, "
			"cancelled, or never queued)\n",
			qid);
		return EX_NOTFOUND;
	}
	return rc < 0 ? dmpcli_fail("queue", rc) : EX_OK;
}
