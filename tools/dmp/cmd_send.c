/*
 * tools/dmp/cmd_send.c - `dmp send`: queue a message durably, then publish it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/multipart.h"
#include "dmp/store.h"

/* The parts of a multi-part whole still pending (ids from `from`). */
struct parts_pending {
	int64_t from;
	char alias[65];
	int n, failed;
	struct dmp_outbox_msg first;
};

static int part_pending(const struct dmp_outbox_msg *m, void *ud)
{
	struct parts_pending *p = ud;

	if (m->id >= p->from && strcmp(m->recipient, p->alias) == 0) {
		if (p->n++ == 0) {
			p->first = *m;
		}
		p->failed += m->state == DMP_OUTBOX_FAILED;
	}
	return 0;
}

/* Count the file's parts still pending into @p pp (reset first). */
static void count_pending(struct dmp_engine *e, struct parts_pending *pp)
{
	pp->n = pp->failed = 0;
	(void)dmp_store_outbox_each_pending(dmp_engine_store(e), part_pending,
					    pp);
}

/* @p n with thousands separators ("2,926"), as the user reads counts. */
static const char *grouped(char out[32], long long n)
{
	char d[24];
	int len = snprintf(d, sizeof(d), "%lld", n), o = 0;

	for (int i = 0; i < len; i++) {
		if (i > 0 && d[i - 1] != '-' && (len - i) % 3 == 0) {
			out[o++] = ',';
		}
		out[o++] = d[i];
	}
	out[o] = '\0';
	return out;
}

/* `dmp send --wait`: publish the file's windows as they come due until
 * no part is pending, one failed, or @p deadline (dmpcli_clock) passes;
 * a line each time the published count moves. @return 0 all published,
 * 1 still pending, -1 a part failed. */
static int wait_published(struct dmpcli *c, struct dmp_engine *e,
			  struct parts_pending *pp, int total, int64_t deadline)
{
	int last = -1;

	for (;;) {
		int64_t now = dmpcli_clock(c), due = 0;
		char a[32], b[32];

		count_pending(e, pp);
		if (total - pp->n != last) {
			last = total - pp->n;
			fprintf(stderr, "dmp: %s of %s parts published\n",
				grouped(a, last), grouped(b, total));
		}
		if (pp->n == 0 || pp->failed > 0) {
			return pp->failed > 0 ? -1 : 0;
		}
		if (now >= deadline) {
			return 1;
		}
		if (dmp_store_outbox_next_due(dmp_engine_store(e), &due) == 0 &&
		    due <= now) {
			(void)dmp_engine_publish(e);
			continue;
		}
		sleep(1);
	}
}

static int read_all(FILE *f, uint8_t **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);

	while (b) {
		size_t r = fread(b + n, 1, cap - n, f);

		n += r;
		if (n < cap) {
			break;
		}
		if (cap > DMP_MP_FILE_MAX) {
			break; /* over any messages.max_file: refused */
		}
		cap *= 2;
		uint8_t *nb = realloc(b, cap);
		if (!nb) {
			free(b);
			b = NULL;
		}
		b = nb;
	}
	if (!b || ferror(f)) {
		free(b);
		return -1;
	}
	*out = b;
	*len = n;
	return 0;
}

static void usage_send(FILE *f)
{
	fprintf(f, "usage: dmp send [--lifetime SECONDS] [--wait[=SECONDS]] "
		   "CONTACT [FILE|-]\n"
		   "Queue the message durably, then publish it. A message "
		   "that cannot be\npublished now stays queued and is "
		   "retried by the next send or recv.\n"
		   "--lifetime: how long the node keeps it, 60..2592000 s "
		   "(default\nmessages.lifetime, 7 days; at most "
		   "messages.max_lifetime).\n"
		   "--wait: a large file goes in windows (messages."
		   "part_window): keep publishing\nthem until every part "
		   "is out (exit 0) or SECONDS pass, 1..2592000\n(default "
		   "3600; then exit 75, the rest stays queued).\n");
}

int dmpcli_cmd_send(struct dmpcli *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"lifetime", required_argument, NULL, 'l'},
	    {"wait", optional_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	struct dmp_engine *e = NULL;
	struct dmp_outbox_msg m = {0};
	uint8_t *body = NULL;
	size_t len = 0;
	long long lifetime = 0, wait_s = 0;
	int64_t qid = 0;
	const char *contact, *file = "-";
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'l':
			/* The config's range for messages.lifetime. */
			if (dmpcli_number("--lifetime", optarg, 60, 2592000,
					  &lifetime) < 0) {
				return EX_USAGE;
			}
			break;
		case 'w':
			wait_s = 3600;
			if (optarg && dmpcli_number("--wait", optarg, 1,
						    2592000, &wait_s) < 0) {
				return EX_USAGE;
			}
			break;
		case 'h': usage_send(stdout); return 0;
		default: usage_send(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage_send(stderr);
		return EX_USAGE;
	}
	contact = argv[optind];
	if (argc - optind == 2) {
		file = argv[optind + 1];
	}
	{
		FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");

		if (!f) {
			fprintf(stderr, "dmp: %s: %s\n", file, strerror(errno));
			return EX_FAIL;
		}
		rc = read_all(f, &body, &len);
		if (f != stdin) {
			fclose(f);
		}
		if (rc < 0) {
			fprintf(stderr, "dmp: cannot read %s\n", file);
			return EX_FAIL;
		}
	}
	if (len == 0) {
		/* The engine's rule, for `dmp send` and ~/dmp/outbox alike. */
		fprintf(stderr,
			"dmp: %s is empty: nothing sent (an empty "
			"message is never sent)\n",
			strcmp(file, "-") == 0 ? "the input" : file);
		free(body);
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		free(body);
		return rc;
	}
	if (c->no_tsig) {
		free(body);
		dmp_engine_close(e);
		return dmpcli_no_tsig("send");
	}
	rc = dmp_engine_submit(e, contact, body, len, (uint32_t)lifetime, &qid);
	if (rc == DMP_ENOENT && strchr(contact, '@')) {
		/* An address, not a contact yet: fetch, verify and pin it as
		 * `contacts add` would (refusing an ambiguous name), then
		 * send. The user named the recipient; nothing is pinned on
		 * receipt. */
		int ar;
		struct dmp_store_contact ct;

		c->quiet_rejected = 1;
		ar = dmp_engine_contact_add(e, contact, NULL, NULL);
		c->quiet_rejected = 0;
		if (ar < 0) {
			free(body);
			if (ar == DMP_ENOENT) {
				fprintf(stderr,
					"dmp: no identity record found for "
					"%s: check the spelling, or ask them "
					"to run `dmp identity publish`\n",
					contact);
				dmp_engine_close(e);
				return EX_NOTFOUND;
			}
			ar = dmpcli_fail_read(e, contact, ar);
			dmp_engine_close(e);
			return ar;
		}
		if (dmp_store_contact_get(dmp_engine_store(e), contact, &ct) ==
		    0) {
			char f[DMP_FINGERPRINT_CHARS + 1];

			dmp_fingerprint_hex(f, ct.ed25519_pk);
			fprintf(
			    stderr,
			    "dmp: pinned %s as %s (fingerprint %s); compare "
			    "it with your contact's\n",
			    ct.address, ct.alias, f);
		}
		rc = dmp_engine_submit(e, contact, body, len,
				       (uint32_t)lifetime, &qid);
	}
	free(body);
	if (rc == DMP_ENOENT) {
		fprintf(stderr,
			"dmp: no contact %s: add it with `dmp contacts "
			"add`\n",
			contact);
		dmp_engine_close(e);
		return EX_NOTFOUND;
	}
	if (rc == DMP_EACCES) {
		fprintf(stderr, "dmp: contact %s is blocked\n", contact);
		dmp_engine_close(e);
		return EX_FAIL;
	}
	if (rc == DMP_EFBIG) {
		fprintf(stderr,
			"dmp: message too large: %zu bytes is over "
			"messages.max_file in config.yaml (0 sends nothing "
			"over %u bytes; at most %u)\n",
			len, DMP_ENGINE_MAX_BODY, DMP_MP_FILE_MAX);
		dmp_engine_close(e);
		return EX_FAIL;
	}
	if (rc == DMP_EUNSUPPORTED) {
		fprintf(stderr,
			"dmp: message too large for %s: %zu bytes is over the "
			"%u of one message, and %s "
			"is not listed in messages.multipart in config.yaml: "
			"add it there if its client is dmp (a reference client "
			"would get the parts as separate messages)\n",
			contact, len, DMP_ENGINE_MAX_BODY, contact);
		dmp_engine_close(e);
		return EX_FAIL;
	}
	if (rc < 0) {
		dmp_engine_close(e);
		return dmpcli_fail("send", rc);
	}
	rc = dmp_engine_publish(e);
	dmpcli_claim_note(c, contact);
	if (len > DMP_ENGINE_MAX_BODY) {
		/* A multi-part whole: its parts are queue ids qid, qid + 1,
		 * ... to this contact; any still pending is reported. */
		struct dmp_store_contact ct;
		struct parts_pending pp = {qid, "", 0, 0, {0}};
		int total = 0, pub = 0;

		if (dmp_store_contact_get(dmp_engine_store(e), contact, &ct) ==
		    0) {
			snprintf(pp.alias, sizeof(pp.alias), "%s", ct.alias);
		}
		count_pending(e, &pp);
		if (pp.n > 0) {
			(void)dmp_store_outbox_whole(
			    dmp_engine_store(e), pp.first.whole, &total, &pub);
		}
		if (pp.n > 0 && wait_s > 0 &&
		    wait_published(c, e, &pp, total,
				   dmpcli_clock(c) + wait_s) == 0) {
			rc = 0;
		}
		m.state = DMP_OUTBOX_PUBLISHED;
		if (pp.n > 0) {
			char a[32], b[32];

			m = pp.first;
			(void)dmp_store_outbox_whole(dmp_engine_store(e),
						     m.whole, &total, &pub);
			if (pub > 0 && pp.failed == 0) {
				/* Paced, not failing: say what happens. */
				fprintf(stderr,
					"dmp: queued (id %lld): %s parts, %s "
					"published now; the rest go out in "
					"windows (messages.part_window) as "
					"%s's client drains them,\n"
					"     while your `dmp recv --watch` or "
					"mount runs (or `dmp send --wait`); "
					"see `dmp queue`\n",
					(long long)qid, grouped(a, total),
					grouped(b, pub), contact);
				dmp_engine_close(e);
				return EX_QUEUED;
			}
			fprintf(stderr,
				"dmp: %d part%s of the file not "
				"published yet:\n",
				pp.n, pp.n == 1 ? "" : "s");
		}
	} else if (dmp_store_outbox_get(dmp_engine_store(e), qid, &m) != 0) {
		m.state = DMP_OUTBOX_PUBLISHED;
	}
	if (m.state != DMP_OUTBOX_PUBLISHED) {
		int code =
		    dmpcli_exit_code(rc < 0		  ? rc
				     : c->last_retry_code ? c->last_retry_code
							  : DMP_EUNREACHABLE);

		char why[512];

		dmp_store_outbox_why(dmp_engine_store(e), &m, dmpcli_clock(c),
				     why, sizeof(why));
		if (rc < 0 && strstr(why, "not tried yet")) {
			snprintf(why, sizeof(why), "%s", dmp_strerror(rc));
		}
		fprintf(stderr,
			"dmp: message queued (id %lld) but not yet published: "
			"%s\n     it stays queued and is retried by the next "
			"`dmp send` or `dmp recv` (`dmp queue` lists it)\n",
			(long long)qid, why);
		if (code == EX_REFUSED && len <= DMP_ENGINE_MAX_BODY &&
		    m.expires > (uint64_t)m.created) {
			/* The other usual cause besides the key's scope: a
			 * node with a shorter max_ttl refuses, never clamps. */
			fprintf(
			    stderr,
			    "     if your key covers your names, the node's "
			    "max_ttl is below this message's lifetime (%llu "
			    "s):\n     set messages.max_lifetime in "
			    "config.yaml to the node's max_ttl (86400 on a "
			    "reference node),\n     then `dmp cancel %lld` (it "
			    "keeps its lifetime and holds newer messages to "
			    "%s) "
			    "and send it again\n",
			    (unsigned long long)(m.expires -
						 (uint64_t)m.created),
			    (long long)qid, contact);
		}
		dmp_engine_close(e);
		return code == EX_FAIL ? EX_QUEUED : code;
	}
	printf("sent to %s (queue id %lld%s%s)\n", contact, (long long)qid,
	       m.last_error[0] ? ", " : "", m.last_error);
	dmp_engine_close(e);
	return 0;
}

/* `dmp cancel QUEUE_ID`: take back a message not yet published (the CLI's
 * `rm ~/dmp/queue/<id>`), e.g. one a node keeps refusing, which holds the
 * newer messages to its recipient. */
int dmpcli_cmd_cancel(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_outbox_msg m;
	long long qid;
	int rc;

	if (argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: dmp cancel QUEUE_ID\nTake back a queued message "
		       "that is not published yet (`dmp status` and\n"
		       "`dmp send` show the queue id). Records already "
		       "written for it expire.\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: dmp cancel QUEUE_ID\n");
		return EX_USAGE;
	}
	if (dmpcli_number("QUEUE_ID", argv[1], 1, INT64_MAX, &qid) < 0) {
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	rc = dmp_store_outbox_get(dmp_engine_store(e), qid, &m);
	if (rc == 0) {
		rc = dmp_engine_cancel(e, m.msg_id);
	}
	dmp_engine_close(e);
	if (rc == DMP_ENOENT) {
		fprintf(stderr,
			"dmp: no queued message %lld (published already, or "
			"never queued)\n",
			qid);
		return EX_NOTFOUND;
	}
	if (rc < 0) {
		return dmpcli_fail("cancel", rc);
	}
	printf("cancelled message %lld to %s\n", qid, m.recipient);
	return 0;
}
