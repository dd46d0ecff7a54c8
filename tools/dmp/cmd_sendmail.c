/*
 * tools/dmp/cmd_sendmail.c - `dmp sendmail`: a sendmail-compatible entry
 * point for mail programs (mutt's `set sendmail="dmp sendmail"`).
 *
 *   dmp sendmail [-t] [-i|-oi] [-oX...] [-f FROM] [-F NAME] [--] RCPT...
 *
 * Reads one RFC 5322 message on stdin, keeps its Subject, threading and
 * MIME fields as the body's header block (mail.h: dmp_mail_import), drops
 * the transport fields (From, To, Date, Received, ...: DMP authenticates
 * the sender and time) and queues one DMP message per recipient, then
 * tries to publish them as `dmp send` does. Recipients are contacts'
 * aliases or addresses, from argv and with -t from To, Cc and Bcc.
 *
 * Exit codes follow sendmail's (sysexits.h, whose names clash with
 * cli.h's, hence the numbers): 0 once every message is queued durably
 * (published now or retried later, as an MTA's queue), 64 usage, 65 a
 * message too large, 67 an unknown recipient (nothing is queued for
 * anyone), 75 a temporary failure (the store busy), 77 a blocked
 * recipient, 78 no usable home or passphrase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "dmp/common.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/mail.h"
#include "dmp/store.h"

#define SM_EX_USAGE 64
#define SM_EX_DATAERR 65
#define SM_EX_NOUSER 67
#define SM_EX_SOFTWARE 70
#define SM_EX_TEMPFAIL 75
#define SM_EX_NOPERM 77
#define SM_EX_CONFIG 78

#define RCPT_MAX 32
/* What we read of stdin at most: the largest body, with room for the
 * transport fields that are dropped. */
#define INPUT_MAX (64u * 1024)

struct rcpts {
	char v[RCPT_MAX][320];
	int n, over;
};

static int add_rcpt(const char *a, void *ud)
{
	struct rcpts *r = ud;

	for (int i = 0; i < r->n; i++) {
		if (strcmp(r->v[i], a) == 0) {
			return 0;
		}
	}
	if (r->n >= RCPT_MAX || strlen(a) >= sizeof(r->v[0])) {
		r->over = 1;
		return 1;
	}
	snprintf(r->v[r->n++], sizeof(r->v[0]), "%s", a);
	return 0;
}

/* An argv recipient may be a list ("a@b, Name <c@d>"), as sendmail's. */
static int add_arg(struct rcpts *r, const char *arg)
{
	size_t n = strlen(arg);
	char *m = malloc(n + 8);
	int rc;

	if (!m) {
		return -1;
	}
	memcpy(m, "To: ", 4);
	memcpy(m + 4, arg, n);
	memcpy(m + 4 + n, "\n\n", 3);
	rc = dmp_mail_addresses((const uint8_t *)m, n + 6, "To", add_rcpt, r);
	free(m);
	return rc;
}

/* stdin, up to INPUT_MAX + 1 bytes; without -i a line "." ends it. */
static int read_input(int dots_end, uint8_t **out, size_t *len)
{
	uint8_t *b = malloc(INPUT_MAX + 2);
	size_t n = 0, line = 0;
	int c;

	if (!b) {
		return -1;
	}
	while (n <= INPUT_MAX && (c = getchar()) != EOF) {
		b[n++] = (uint8_t)c;
		if (c != '\n') {
			continue;
		}
		if (dots_end && ((n - line == 2 && b[line] == '.') ||
				 (n - line == 3 && b[line] == '.' &&
				  b[line + 1] == '\r'))) {
			n = line;
			break;
		}
		line = n;
	}
	if (ferror(stdin)) {
		free(b);
		return -1;
	}
	*out = b;
	*len = n;
	return 0;
}

static void usage_sendmail(FILE *f)
{
	fprintf(f,
		"usage: dmp sendmail [-t] [-i|-oi] [-f FROM] [-F NAME] [--] "
		"RECIPIENT...\n"
		"Send the RFC 5322 message on stdin to each recipient (a "
		"contact's alias or\naddress; with -t also To, Cc and Bcc). "
		"Subject, In-Reply-To, References and\nthe MIME fields travel "
		"in the body; the sender and date come from DMP.\n"
		"Other sendmail flags (-oem, -odb, -v, ...) are accepted and "
		"ignored.\nExit: 0 queued, 64 usage, 65 too large, 67 unknown "
		"recipient, 75 try\nagain, 77 blocked recipient, 78 no home or "
		"passphrase.\n");
}

/* Flags that take a value, as the next argument or glued to the flag. */
static int takes_value(char f)
{
	return strchr("fFrBNRVLOCXhp", f) != NULL;
}

/* Every recipient a contact (pinning an address as `dmp send` does);
 * @return 0 or the sendmail exit code, after saying why. */
static int resolve(struct dmp_engine *e, const struct rcpts *r)
{
	for (int i = 0; i < r->n; i++) {
		struct dmp_store_contact ct;
		int rc =
		    dmp_store_contact_get(dmp_engine_store(e), r->v[i], &ct);

		if (rc == DMP_ENOENT && strchr(r->v[i], '@')) {
			rc = dmp_engine_contact_add(e, r->v[i], NULL, NULL);
			if (rc == 0) {
				fprintf(stderr,
					"dmp sendmail: pinned %s (fetched); "
					"compare its fingerprint with your "
					"contact's\n",
					r->v[i]);
				rc = dmp_store_contact_get(dmp_engine_store(e),
							   r->v[i], &ct);
			}
		}
		if (rc < 0) {
			fprintf(stderr,
				"dmp sendmail: %s: unknown recipient (%s); "
				"add it with `dmp contacts add`\n",
				r->v[i], dmp_strerror(rc));
			return rc == DMP_ENOENT || rc == DMP_ENXDOMAIN
				   ? SM_EX_NOUSER
				   : SM_EX_TEMPFAIL;
		}
		if (ct.blocked) {
			fprintf(stderr, "dmp sendmail: %s is blocked\n",
				r->v[i]);
			return SM_EX_NOPERM;
		}
	}
	return 0;
}

int dmpcli_cmd_sendmail(struct dmpcli *c, int argc, char **argv)
{
	struct rcpts r;
	struct dmp_engine *e = NULL;
	uint8_t *in = NULL, *body = NULL;
	size_t in_len = 0, len = 0;
	int from_headers = 0, dots_end = 1, rc, queued = 0;
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == 0) {
			break;
		}
		if (strcmp(a, "--help") == 0) {
			usage_sendmail(stdout);
			return 0;
		}
		if (strcmp(a, "-t") == 0) {
			from_headers = 1;
		} else if (strcmp(a, "-i") == 0 || strcmp(a, "-oi") == 0) {
			dots_end = 0;
		} else if (takes_value(a[1])) {
			if (a[2] == 0 && ++i >= argc) {
				fprintf(stderr,
					"dmp sendmail: %s needs a value\n", a);
				return SM_EX_USAGE;
			}
		} else if (a[1] == 'b' && strcmp(a, "-bm") != 0) {
			fprintf(stderr,
				"dmp sendmail: %s: only -bm (deliver mail) "
				"is supported\n",
				a);
			return SM_EX_USAGE;
		} else if (!strchr("oevUGAbd", a[1])) {
			fprintf(stderr, "dmp sendmail: unknown flag %s\n", a);
			usage_sendmail(stderr);
			return SM_EX_USAGE;
		}
		/* -o..., -e..., -v, -U, -G, -A..., -bm, -d...: ignored. */
	}
	for (; i < argc; i++) {
		if (add_arg(&r, argv[i]) < 0) {
			fprintf(stderr, "dmp sendmail: bad recipient %s\n",
				argv[i]);
			return SM_EX_USAGE;
		}
	}
	if (read_input(dots_end, &in, &in_len) < 0) {
		fprintf(stderr, "dmp sendmail: cannot read the message\n");
		return SM_EX_SOFTWARE;
	}
	if (from_headers) {
		static const char *const f[] = {"To", "Cc", "Bcc"};

		for (int k = 0; k < 3; k++) {
			(void)dmp_mail_addresses(in, in_len, f[k], add_rcpt,
						 &r);
		}
	}
	rc = 0;
	if (r.over) {
		fprintf(stderr, "dmp sendmail: more than %d recipients\n",
			RCPT_MAX);
		rc = SM_EX_USAGE;
	} else if (r.n == 0) {
		fprintf(stderr, "dmp sendmail: no recipients (name them, or "
				"use -t)\n");
		rc = SM_EX_USAGE;
	} else if (in_len > INPUT_MAX ||
		   dmp_mail_import(in, in_len, &body, &len) < 0 ||
		   len > DMP_ENGINE_MAX_BODY) {
		fprintf(stderr,
			"dmp sendmail: message too large: at most %u bytes "
			"once the transport header fields are dropped\n",
			DMP_ENGINE_MAX_BODY);
		rc = SM_EX_DATAERR;
	}
	free(in);
	if (rc != 0) {
		dmp_free(body);
		return rc;
	}
	if (dmpcli_open_engine(c, &e) != 0) {
		dmp_free(body);
		return SM_EX_CONFIG;
	}
	/* All recipients known before anything is queued for anyone. */
	rc = resolve(e, &r);
	for (int k = 0; rc == 0 && k < r.n; k++) {
		int64_t qid = 0;
		int sr = dmp_engine_submit(e, r.v[k], body, len, 0, &qid);

		if (sr < 0) {
			fprintf(stderr, "dmp sendmail: %s: %s%s\n", r.v[k],
				dmp_strerror(sr),
				queued ? " (the recipients before it are "
					 "queued)"
				       : "");
			rc = sr == DMP_EFBIG ? SM_EX_DATAERR : SM_EX_TEMPFAIL;
		} else {
			queued++;
		}
	}
	dmp_free(body);
	if (queued > 0 && dmp_engine_publish(e) < queued) {
		/* An MTA's queue: accepted now, delivered later. */
		fprintf(stderr,
			"dmp sendmail: queued; not all published yet: they "
			"are retried by dmpfs, `dmp send` or `dmp recv`\n");
	}
	dmp_engine_close(e);
	return rc;
}
