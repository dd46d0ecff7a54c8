/*
 * fs/dmpfs.h - private to dmpfs: the mount's context shared by the FUSE
 * operations (ops.c), the engine thread (worker.c) and main.c.
 *
 * Threads and engine handles (engine.h: one engine per thread):
 *   fe  local reads and writes for FUSE threads (store, submit), under
 *       `fe_lock`; never touches the network, so `ls`/`cat` never wait on
 *       it for longer than a store transaction.
 *   ne  the few FUSE operations that must reach the network before they
 *       return (pinning a contact on close), under `ne_lock`.
 *   pe  owned by the engine thread: publish, poll, identity upkeep,
 *       peer discovery (peers/ only reads what it stored).
 */
#ifndef DMPFS_H
#define DMPFS_H

#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <pthread.h>
#include <stdint.h>

#include "dmp/engine.h"
#include "dmp/peers.h"
#include "dmp/resolver.h"

#define DMPFS_VERSION "0.1.0"
#define DMPFS_PATH_MAX 4096
#define DMPFS_MAX_RESOLVERS 32

/* A first contact accepted by `mv intro/... inbox/...`: pinned by the
 * engine thread (a network fetch) so the rename itself returns at once. */
struct dmpfs_accept {
	struct dmpfs_accept *next;
	char address[320];
	char fingerprint[17];
};

/* A scratch file of an editor in outbox/ (never sent). */
struct dmpfs_scratch {
	struct dmpfs_scratch *next;
	char name[256];
	char *buf;
	size_t len;
	int64_t mtime;
};

struct dmpfs_fh; /* ops.c */

struct dmpfs {
	/* configuration (main.c) */
	char home[DMPFS_PATH_MAX];
	char mirror[DMPFS_PATH_MAX]; /* maildir= ; "" = none */
	int poll_interval;	     /* seconds; 0 = config.yaml's */
	char *passphrase;	     /* wiped and freed once handles open */
	int foreground;

	/* engine handles (see the file comment) */
	struct dmp_engine *fe, *ne, *pe;
	pthread_mutex_t fe_lock, ne_lock;
	char maildir[3][DMPFS_PATH_MAX]; /* inbox, intro, sent */
	char events[DMPFS_PATH_MAX];

	/* outbox state: names open for writing and editor scratch files */
	pthread_mutex_t out_lock;
	struct dmpfs_scratch *scratch;
	struct dmpfs_fh *open_files; /* outbox/ and contacts/ write handles */

	/* engine thread and what it shares (under `st_lock`) */
	pthread_t worker;
	int worker_started;
	pthread_mutex_t st_lock;
	pthread_cond_t st_cond;
	int stop, kick;
	struct dmpfs_accept *accepts;
	struct dmp_engine_status status; /* after the last pass */
	int have_status;
	int64_t next_poll;
	struct dmp_resolver_stat res[DMPFS_MAX_RESOLVERS];
	size_t n_res;
	struct dmp_peers_conf peers; /* discovery settings (read-only) */
	struct fuse *fuse; /* for cache invalidation after deliveries */
	int64_t started;
};

extern const struct fuse_operations dmpfs_ops;

/** Open the three engine handles and wipe the passphrase. 0 or dmp code. */
int dmpfs_open_engines(struct dmpfs *fs);
void dmpfs_close_engines(struct dmpfs *fs);

/** Engine thread: start (from the FUSE init callback) and stop. */
int dmpfs_worker_start(struct dmpfs *fs);
/** Stop the engine thread; with @p wait_s > 0 give up after that long
 *  and return -1 (the thread is still running: the caller must _exit
 *  without touching fuse or the engines). */
int dmpfs_worker_stop(struct dmpfs *fs, int wait_s);
/** Ask the engine thread to publish now (after a submit). */
void dmpfs_worker_kick(struct dmpfs *fs);
/** Queue a first-contact acceptance for the engine thread. */
void dmpfs_worker_accept(struct dmpfs *fs, const char *address,
			 const char *fingerprint);

/** 1 if @p name is an editor's scratch file (never sent). */
int dmpfs_is_scratch(const char *name);

#endif /* DMPFS_H */
