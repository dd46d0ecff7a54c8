/*
 * fs/main.c - dmpfs: mount a DMP mailbox (see dmpfs(1)).
 *
 *   dmpfs [options] MOUNTPOINT
 *
 * sshfs conventions: -f, -d (implies -f), -s, -o opt[,opt...], -h, -V.
 * Our -o options are taken out by a fuse_opt table; everything else goes
 * to libfuse. The passphrase is read (DMP_PASSPHRASE, -o passfile=, or a
 * prompt) and checked before libfuse daemonizes, so a wrong one fails on
 * the terminal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dmpfs.h"
#include <fuse_lowlevel.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/text.h"

struct opts {
	char *home;
	char *config;
	char *maildir;
	char *passfile;
	char *poll;	  /* seconds, 1..86400 (opt_seconds) */
	char *send_delay; /* seconds, 0..DMPFS_SEND_DELAY_MAX */
	int help;
	int version;
	int foreground;
	int debug;
};

#define OPT(t, p)                                                              \
	{                                                                      \
		t, offsetof(struct opts, p), 1                                 \
	}

static const struct fuse_opt opt_spec[] = {
    OPT("home=%s", home),
    OPT("config=%s", config),
    OPT("maildir=%s", maildir),
    OPT("passfile=%s", passfile),
    OPT("poll=%s", poll),
    OPT("send_delay=%s", send_delay),
    OPT("-h", help),
    OPT("--help", help),
    OPT("-V", version),
    OPT("--version", version),
    /* Seen, and kept for libfuse too (FUSE_OPT_KEY_KEEP below). */
    FUSE_OPT_KEY("-f", 1),
    FUSE_OPT_KEY("-d", 2),
    FUSE_OPT_KEY("debug", 2),
    FUSE_OPT_END,
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct opts *o = data;

	(void)arg;
	(void)out;
	if (key == 1) {
		o->foreground = 1;
	} else if (key == 2) {
		o->debug = o->foreground = 1;
	}
	return 1; /* keep everything we do not consume */
}

/* A -o NAME=SECONDS option, through the one strict integer parser.
 * @return 0 or -1 after saying why, with the range */
static int opt_seconds(const char *name, const char *v, long long min,
		       long long max, long long *out)
{
	int rc = dmp_parse_int(v, min, max, out);

	if (rc < 0) {
		fprintf(stderr,
			"dmpfs: -o %s=%s: %s (allowed %lld..%lld seconds)\n",
			name, v,
			rc == DMP_ERANGE ? "out of range" : "not an integer",
			min, max);
		return -1;
	}
	return 0;
}

static void usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n\n"
	       "Mount a DMP mailbox: outbox/, queue/, inbox/, intro/, sent/,\n"
	       "contacts/, identity/, peers/, resolvers, .status, .events.\n\n"
	       "dmpfs options:\n"
	       "    -o home=DIR          DMP home (default $DMP_HOME, else "
	       "~/.dmp)\n"
	       "    -o config=FILE       config.yaml of the home to use (its "
	       "directory\n"
	       "                         is the home)\n"
	       "    -o poll=SECONDS      receive interval, 1..86400 (default: "
	       "config.yaml's\n"
	       "                         messages.poll_interval)\n"
	       "    -o maildir=DIR       mirror inbox/ and sent/ into DIR "
	       "(symlinks to\n"
	       "                         the real Maildirs, for inotify "
	       "tools)\n"
	       "    -o passfile=FILE     read the passphrase from FILE (mode "
	       "0400/0600)\n"
	       "    -o send_delay=SECONDS  keep each message in queue/ this "
	       "long before\n"
	       "                         sending (undo send: rm queue/ID); 0 "
	       "sends at\n"
	       "                         once (default %d, at most %d)\n"
	       "    -h, --help           this help\n"
	       "    -V, --version        versions\n\n"
	       "The passphrase comes from $DMP_PASSPHRASE, -o passfile, or a "
	       "prompt.\n"
	       "Unmount with `fusermount3 -u MOUNTPOINT`.\n\n",
	       prog, DMPFS_SEND_DELAY_DEFAULT, DMPFS_SEND_DELAY_MAX);
}

static char *read_passfile(const char *path)
{
	char *p = NULL;
	int rc = dmp_passfile_read(path, &p);

	if (rc == DMP_EACCES) {
		fprintf(stderr,
			"dmpfs: %s: readable by others; chmod 0400 it first\n",
			path);
	} else if (rc < 0) {
		fprintf(stderr, "dmpfs: %s: %s\n", path, dmp_strerror(rc));
	}
	return p;
}

static char *prompt(void)
{
	char *p = NULL;

	if (dmp_passphrase_prompt("Passphrase: ", &p) == DMP_ENOENT) {
		fprintf(stderr, "dmpfs: no passphrase: set DMP_PASSPHRASE, use "
				"-o passfile=FILE, or run on a terminal\n");
	}
	return p;
}

static char *get_passphrase(const struct opts *o)
{
	const char *env = getenv("DMP_PASSPHRASE");

	if (o->passfile) {
		return read_passfile(o->passfile);
	}
	if (env && *env) {
		return strdup(env);
	}
	return prompt();
}

/*
 * Check the home and passphrase now, on the terminal, and learn the home's
 * absolute path. This is the mount's only Argon2id run: what it unlocks
 * holds no open file, so it crosses libfuse's fork, and the handles that
 * serve the mount are opened from it after the fork (start_mount()).
 */
static int probe(struct dmpfs *fs)
{
	struct dmp_engine_opts eo;
	int rc;

	memset(&eo, 0, sizeof(eo));
	eo.home = fs->home[0] ? fs->home : NULL;
	eo.passphrase = fs->passphrase;
	rc = dmp_engine_unlock(&fs->unlocked, &eo);
	dmp_wipe(fs->passphrase, strlen(fs->passphrase));
	free(fs->passphrase);
	fs->passphrase = NULL;
	if (rc < 0) {
		fprintf(stderr, "dmpfs: %s: %s%s\n",
			fs->home[0] ? fs->home : "DMP home", dmp_strerror(rc),
			rc == DMP_ENOENT ? " (run `dmp init` first)" : "");
		return rc;
	}
	snprintf(fs->home, sizeof(fs->home), "%s",
		 dmp_engine_unlocked_home(fs->unlocked));
	return 0;
}

/* Logs: stderr in the foreground, syslog once detached. */
static void log_sink(int level, const char *msg, void *ud)
{
	const struct dmpfs *fs = ud;

	if (fs->foreground) {
		fprintf(stderr, "dmpfs: %s\n", msg);
	} else {
		syslog(level, "%s", msg);
	}
}

/*
 * After libfuse has forked and before its loop threads exist: the engine
 * handles, the maildir mirror and the engine thread. Everything they set
 * in *fs is then read-only for the loop threads (created after this).
 */
static int start_mount(struct fuse *f, struct dmpfs *fs)
{
	int rc = dmpfs_open_engines(fs);

	if (rc < 0) {
		DMP_LOG_E("cannot open %s: %s", fs->home, dmp_strerror(rc));
		return -1;
	}
	fs->fuse = f;
	dmpfs_mirror_setup(fs);
	rc = dmpfs_worker_start(fs);
	if (rc < 0) {
		DMP_LOG_E("cannot start the engine thread: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/*
 * Refuse a mount point that already holds a mount: a dead one (its daemon
 * gone: ENOTCONN) or a live dmpfs. As root, the kernel would stack a
 * second mount on top (issue 14); as a user, fusermount3 would fail with
 * a less helpful message. @return 0 or -1 after saying what to do.
 */
static int dead_mount(const char *mp, int err)
{
	fprintf(stderr,
		"dmpfs: %s: %s: an earlier dmpfs there has died and left its "
		"mount.\n       Unmount it first: fusermount3 -u %s (as "
		"root also: umount %s), then mount again\n",
		mp, strerror(err), mp, mp);
	return -1;
}

/* 1 if a dmpfs (fstype fuse.dmp) is mounted at @p path, per mountinfo. */
static int dmp_mounted_at(const char *path)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE" */
		char point[2048], fstype[64], *dash = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %*s %*s %2047s", point) == 1 &&
		    dash && sscanf(dash + 3, "%63s", fstype) == 1 &&
		    strcmp(point, path) == 0 &&
		    strcmp(fstype, "fuse.dmp") == 0) {
			found = 1;
		}
	}
	if (f) {
		fclose(f);
	}
	return found;
}

static int check_mountpoint(const char *mp)
{
	struct stat sb;
	char *real;
	DIR *d;
	int busy;

	if (stat(mp, &sb) != 0) {
		if (errno == ENOTCONN) {
			return dead_mount(mp, errno);
		}
		fprintf(stderr, "dmpfs: %s: %s\n", mp, strerror(errno));
		return -1;
	}
	real = realpath(mp, NULL);
	busy = dmp_mounted_at(real ? real : mp);
	free(real);
	if (!busy) {
		return 0;
	}
	/* stat of the root may come from the kernel's cache; reading the
	 * directory asks the daemon, which a dead mount no longer has. */
	d = opendir(mp);
	if (!d || (errno = 0, readdir(d) == NULL && errno == ENOTCONN)) {
		int err = errno;

		if (d) {
			closedir(d);
		}
		if (err == ENOTCONN) {
			return dead_mount(mp, err);
		}
	} else {
		closedir(d);
	}
	fprintf(stderr,
		"dmpfs: %s: a dmpfs is already mounted there; unmount it "
		"first (fusermount3 -u %s)\n",
		mp, mp);
	return -1;
}

/*
 * fuse_main(), spelled out: the engine thread is started before the loop
 * and joined after it ends, before fuse_destroy() frees the node table it
 * invalidates.
 */
static int run(struct fuse_args *args, struct dmpfs *fs)
{
	struct fuse_cmdline_opts co;
	struct fuse *f = NULL;
	struct fuse_session *se;
	int rc = 1;

	memset(&co, 0, sizeof(co));
	if (fuse_parse_cmdline(args, &co) != 0) {
		return 1;
	}
	if (!co.mountpoint) {
		fprintf(stderr, "dmpfs: no mountpoint (see dmpfs -h)\n");
		goto out;
	}
	if (check_mountpoint(co.mountpoint) < 0) {
		goto out;
	}
	f = fuse_new(args, &dmpfs_ops, sizeof(dmpfs_ops), fs);
	if (!f) {
		goto out;
	}
	if (fuse_mount(f, co.mountpoint) != 0) {
		goto out_destroy;
	}
	if (fuse_daemonize(co.foreground) != 0) {
		goto out_unmount;
	}
	se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0) {
		goto out_unmount;
	}
	{
		/* SIGHUP reloads config.yaml instead of ending the loop. */
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = dmpfs_reload_signal;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGHUP, &sa, NULL);
	}
	if (start_mount(f, fs) < 0) {
		fuse_remove_signal_handlers(se);
		goto out_unmount;
	}
	rc = co.singlethread ? fuse_loop(f) : fuse_loop_mt(f, co.clone_fd);
	rc = rc == 0 ? 0 : 1;
	fuse_remove_signal_handlers(se);
	if (dmpfs_worker_stop(fs, 3) < 0) {
		/* Stuck in a network wait: every accepted message is already
		 * durable in the store, so leave as a crash would. */
		DMP_LOG_W("engine thread busy; exiting without waiting");
		fuse_unmount(f);
		_exit(rc);
	}
	fs->fuse = NULL;
out_unmount:
	fuse_unmount(f);
out_destroy:
	(void)dmpfs_worker_stop(fs, 0);
	fs->fuse = NULL;
	fuse_destroy(f);
out:
	free(co.mountpoint);
	return rc;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct opts o;
	struct dmpfs *fs = NULL;
	long long poll = 0;
	int rc = 1;

	memset(&o, 0, sizeof(o));
	if (fuse_opt_parse(&args, &o, opt_spec, opt_proc) != 0) {
		return 1;
	}
	if (o.help) {
		usage(argv[0]);
		fuse_lib_help(&args);
		printf("\nFUSE options:\n");
		fuse_cmdline_help();
		fuse_opt_free_args(&args);
		return 0;
	}
	if (o.version) {
		printf("dmpfs version %s\n", DMPFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fuse_opt_free_args(&args);
		return 0;
	}
	/* messages.poll_interval's range */
	if (o.poll && opt_seconds("poll", o.poll, 1, 86400, &poll) < 0) {
		goto out;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		goto out;
	}
	if (dmpfs_sync_init(fs) < 0) {
		free(fs);
		fs = NULL;
		goto out;
	}
	fs->foreground = o.foreground;
	fs->poll_interval = (int)poll;
	fs->send_delay = DMPFS_SEND_DELAY_DEFAULT;
	if (o.send_delay) {
		long long v;

		if (opt_seconds("send_delay", o.send_delay, 0,
				DMPFS_SEND_DELAY_MAX, &v) < 0) {
			goto out;
		}
		fs->send_delay = (int)v;
	}
	fs->started = (int64_t)time(NULL);
	dmp_log_set_handler(log_sink, fs,
			    o.debug ? DMP_LOG_DEBUG : DMP_LOG_WARNING);
	if (!o.foreground) {
		openlog("dmpfs", LOG_PID, LOG_USER);
	}
	if (o.config) {
		/* The engine reads config.yaml from its home. */
		const char *slash = strrchr(o.config, '/');

		if (!slash || strcmp(slash, "/config.yaml") != 0) {
			fprintf(
			    stderr,
			    "dmpfs: config=%s: must name HOME/config.yaml\n",
			    o.config);
			goto out;
		}
		snprintf(fs->home, sizeof(fs->home), "%.*s",
			 (int)(slash - o.config), o.config);
	}
	if (o.home) {
		snprintf(fs->home, sizeof(fs->home), "%s", o.home);
	}
	if (fs->home[0] && fs->home[0] != '/') {
		/* libfuse chdirs to / when it daemonizes. */
		char *abs = realpath(fs->home, NULL);

		if (!abs) {
			fprintf(stderr, "dmpfs: %s: %s\n", fs->home,
				strerror(errno));
			goto out;
		}
		snprintf(fs->home, sizeof(fs->home), "%s", abs);
		free(abs);
	}
	if (o.maildir) {
		char *abs;

		(void)mkdir(o.maildir, 0700);
		abs = realpath(o.maildir, NULL);
		if (!abs) {
			fprintf(stderr, "dmpfs: maildir=%s: %s\n", o.maildir,
				strerror(errno));
			goto out;
		}
		snprintf(fs->mirror, sizeof(fs->mirror), "%s", abs);
		free(abs);
	}
	fs->passphrase = get_passphrase(&o);
	if (!fs->passphrase) {
		goto out;
	}
	if (probe(fs) < 0) {
		rc = 1;
		goto out;
	}
	/* default_permissions: the kernel checks the modes we report, so
	 * allow_other never opens the mailbox to other users. */
	if (fuse_opt_add_arg(
		&args, "-ofsname=dmp,subtype=dmp,default_permissions") != 0) {
		rc = 1;
		goto out;
	}
	rc = run(&args, fs);
out:
	if (fs) {
		if (fs->passphrase) {
			dmp_wipe(fs->passphrase, strlen(fs->passphrase));
			free(fs->passphrase);
		}
		dmpfs_close_engines(fs);
		dmp_engine_unlocked_free(fs->unlocked);
		free(fs);
	}
	free(o.home);
	free(o.config);
	free(o.maildir);
	free(o.passfile);
	free(o.poll);
	free(o.send_delay);
	fuse_opt_free_args(&args);
	return rc;
}
