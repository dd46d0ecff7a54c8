/*
 * tools/dmp/cmd_status.c - `dmp status`: address, state, queue (failing,
 * failed), last poll, last error with its time (and when it was
 * resolved), unreadable mailbox slots, the next step, prekeys. What the
 * last `dmp recv` or dmpfs pass saw (the engine keeps it in the store).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/engine.h"
#include "dmp/text.h"

/* "2026-12-06T17:05:09Z (1796490309)", or "never". */
static const char *when(char *out, size_t cap, int64_t t)
{
	char iso[32];

	if (t <= 0) {
		snprintf(out, cap, "never");
	} else {
		snprintf(out, cap, "%s (%lld)",
			 dmp_time_utc(iso, sizeof(iso), t), (long long)t);
	}
	return out;
}

int dmpcli_cmd_status(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_engine_status s;
	struct dmp_identity_info in;
	char t1[64], t2[64];
	int rc;

	if (argc > 1) {
		printf("usage: dmp status\nShow the address, state, queue, "
		       "last error and what to do next.\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	dmp_engine_status(e, &s);
	printf("address:    %s\nstate:      %s\n", s.address,
	       dmp_engine_state_name(s.state));
	printf("queued:     %d", s.queued);
	if (s.failing > 0) {
		printf(" (%d failing, waiting for a retry)", s.failing);
	}
	printf("\nfailed:     %d%s\n", s.failed,
	       s.failed > 0 ? " (expired unsent; text kept in queue/<id>)"
			    : "");
	printf("last poll:  %s\n", when(t1, sizeof(t1), s.last_poll));
	printf("last ok:    %s\n", when(t1, sizeof(t1), s.last_ok));
	if (s.last_error[0]) {
		printf("last error: %s, at %s\n", s.last_error,
		       when(t1, sizeof(t1), s.last_error_at));
	} else if (s.prev_error[0]) {
		printf("last error: - (\"%s\" at %s, resolved at %s)\n",
		       s.prev_error, when(t1, sizeof(t1), s.last_error_at),
		       when(t2, sizeof(t2), s.resolved_at));
	} else {
		printf("last error: -\n");
	}
	if (s.unreadable > 0) {
		printf("unreadable: %d mailbox slot%s: %s\n", s.unreadable,
		       s.unreadable == 1 ? "" : "s", s.unreadable_detail);
	}
	if (s.partial > 0) {
		/* Large files arriving in parts: "<id> <held>/<parts>" each
		 * (the mount's .status partial_detail). */
		printf("receiving:  %d large file%s in parts: %s\n", s.partial,
		       s.partial == 1 ? "" : "s", s.partial_detail);
	}
	if (s.hint[0]) {
		printf("next step:  %s\n", s.hint);
	}
	if (dmp_engine_identity(e, &in) == 0) {
		printf("prekeys:    %d\npublished:  %s\n", in.prekeys_left,
		       when(t1, sizeof(t1), in.published));
	}
	dmp_engine_close(e);
	return 0;
}
