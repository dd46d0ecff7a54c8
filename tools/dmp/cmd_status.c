/*
 * tools/dmp/cmd_status.c - `dmp status`: address, state, queue, last error,
 * prekeys.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/engine.h"

int dmpcli_cmd_status(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_engine_status s;
	int rc;

	if (argc > 1) {
		printf("usage: dmp status\nShow the address, queue and last "
		       "error.\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	dmp_engine_status(e, &s);
	printf("address:    %s\nstate:      %s\nqueued:     %d\n", s.address,
	       dmp_engine_state_name(s.state), s.queued);
	printf("last error: %s\n", s.last_error[0] ? s.last_error : "-");
	{
		struct dmp_identity_info in;

		if (dmp_engine_identity(e, &in) == 0) {
			printf("prekeys:    %d\npublished:  %lld\n",
			       in.prekeys_left, (long long)in.published);
		}
	}
	dmp_engine_close(e);
	return 0;
}
