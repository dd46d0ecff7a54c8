/*
 * tools/dmp/cli.h - private to the `dmp` program: what its command files
 * share (the invocation's options, exit codes, opening the engine,
 * reporting errors). Every command lives in its own cmd_<group>.c; main.c
 * only parses the global options and dispatches.
 */
#ifndef DMPCLI_H
#define DMPCLI_H

#include <stdint.h>

#include "dmp/engine.h"

/* Exit codes: each failure class its own, so scripts can tell them apart. */
enum {
	EX_OK = 0,
	EX_FAIL = 1,
	EX_USAGE = 2,
	EX_PASSPHRASE = 3,
	EX_NOHOME = 4,
	EX_UNREACHABLE = 5,
	EX_NOTAUTH = 6,
	EX_REFUSED = 7,
	EX_CLOCKSKEW = 8,
	EX_CONFIG = 9,
	EX_AMBIGUOUS = 10,
	EX_NOTFOUND = 11,
	EX_QUEUED = 75, /* accepted, but publishing must be retried */
};

struct dmpcli {
	const char *home;
	const char *passfile;
	int verbose;
	int64_t fake_offset; /* DMP_FAKE_NOW - start wall time */
	int have_fake;
	int new_msgs;
	int rejected;
	int last_retry_code; /* code of the last RETRY/FAILED event */
	int watch;
	int quiet_rejected;	      /* the command reports its own failure */
	int clamp_told;		      /* the lifetime note was printed */
	int claims_ok, claims_failed; /* CLAIM events of this run */
	char claim_note[256];	      /* the last failed claim */
	int no_tsig;		      /* the home has no TSIG key */
};

/** The engine's clock: wall time, moved by $DMP_FAKE_NOW (tests). */
int64_t dmpcli_clock(void *ud);
/** The exit code for a dmp code (each failure class its own). */
int dmpcli_exit_code(int rc);
/** Print "dmp: WHAT: error" and a hint; return the exit code. */
int dmpcli_fail(const char *what, int rc);
/** After a send: one note if every first-contact claim failed (none was
 *  taken), else nothing; resets the counts. */
void dmpcli_claim_note(struct dmpcli *c, const char *to);
/** "no TSIG key: ..." with the way to get one; @return EX_NOTAUTH */
int dmpcli_no_tsig(const char *what);
/** As dmpcli_fail(), for a failed read of DNS (contacts add, a send to
 *  a new address): names the zone and the servers that did not answer. */
int dmpcli_fail_read(struct dmp_engine *e, const char *what, int rc);
/** Parse a number flag strictly (dmp_parse_int), or print
 *  "dmp: FLAG VALUE: not an integer (allowed MIN..MAX)". @return 0 or -1 */
int dmpcli_number(const char *flag, const char *v, long long min, long long max,
		  long long *out);
/** The passphrase ($DMP_PASSPHRASE, --passphrase-file, or a prompt,
 *  asked twice with @p confirm); NULL after printing why. */
char *dmpcli_passphrase(const struct dmpcli *c, int confirm);
/** Wipe and free a passphrase; NULL is a no-op. */
void dmpcli_free_pass(char *p);
/** Open the engine with the passphrase; events are printed.
 *  @return 0 or the exit code (after printing why) */
int dmpcli_open_engine(struct dmpcli *c, struct dmp_engine **e);

/* The commands: argv[0] is the command's name. Each returns the exit
 * code. */
int dmpcli_cmd_init(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_identity(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_contacts(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_send(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_cancel(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_recv(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_status(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_flush(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_resolvers(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_peers(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_tsig(struct dmpcli *c, int argc, char **argv);
int dmpcli_cmd_sendmail(struct dmpcli *c, int argc, char **argv);

#endif /* DMPCLI_H */
