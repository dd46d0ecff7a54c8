/*
 * fs/dmpfs.h - private to dmpfs: the mount's context and what the files of
 * fs/ share. Each file has one responsibility:
 *
 *   main.c     options, passphrase, the probe open, libfuse's main loop
 *   ops.c      the FUSE operations table: classify the path, dispatch
 *   path.c     path -> kind of node (classification), names shown
 *   render.c   generated read-only files (queue/, contacts/, identity/,
 *              peers/, resolvers, .status)
 *   outbox.c   write handles: outbox/<contact> messages, editor scratch
 *              and temporary files, contacts/<alias> pins
 *   send.c     what a finished outbox/ file becomes: a message held in its
 *              undo-send window (replacing the writer's previous save),
 *              or nothing (writer killed, too large, empty) with an event
 *   maildir.c  pass-through to the engine's real Maildirs (inbox/, intro/,
 *              sent/), the -o maildir mirror, accepting from intro/
 *   worker.c   the engine thread and the engine handles
 *   cache.c    per-file cache lifetimes: long for Maildir files, short
 *              for generated ones (the expiry thread)
 *
 * Threads (all in one process):
 *   main       parses options, unlocks the identity (checks the passphrase
 *              on the terminal: the mount's one Argon2id run), mounts,
 *              daemonizes, then opens the engine handles from it and starts the
 * engine thread (start_mount()), runs libfuse's loop, and joins the engine
 * thread after it. FUSE loop  libfuse's threads (fuse_loop_mt, created after
 * the above): every callback in ops.c. Only these and main take SIGINT, SIGTERM
 * (libfuse's handlers end the loop) and SIGHUP (config reload). engine
 * worker.c: publish, poll, identity upkeep, peer discovery, accepted first
 * contacts, cache invalidation. Created with every signal blocked.
 * expiry     cache.c: drops the kernel's attributes of generated files
 * looked at in the last second, every DMPFS_CACHE_TICK_MS (once a second
 * when none was), and those of every Maildir file after the engine
 * rewrote some in place (exp_sweep). Created with every signal blocked.
 *
 * Engine handles (engine.h: one engine per thread) and locks:
 *   fe  local reads and writes for FUSE threads (store, submit), under
 *       `fe_lock`; never touches the network, so `ls`/`cat` never wait on
 *       it for longer than a store transaction.
 *   ne  the few FUSE operations that must reach the network before they
 *       return (pinning a contact on close, and the sender of a message
 *       moved from intro/ to inbox/), under `ne_lock`.
 *   pe  owned by the engine thread alone: publish, poll, identity upkeep,
 *       peer discovery (peers/ only reads what it stored).
 *   out_lock  the outbox state: scratch and temporary files, open write
 *       handles with the bytes written to them and their flags, the
 *       editors' last saves (recent) and removed contact files (absent).
 *   st_lock   what the engine thread shares with FUSE threads: stop, kick,
 *       exited, accepts, status, resolver stats, next poll; st_cond (on
 *       CLOCK_MONOTONIC) wakes the engine thread, and main when it has
 *       exited (a stop that waits at most a few seconds).
 *   exp_lock  the generated paths noted by getattr (cache.c); exp_cond
 *       (CLOCK_MONOTONIC) wakes the expiry thread. Never held across a
 *       libfuse call.
 * Each critical section holds exactly one of these locks (no nesting, so
 * no lock order). Set before the loop and engine threads start and
 * read-only afterwards: home, mirror, maildir[], events, peers, fuse,
 * started, foreground, poll_interval, fe/ne/pe (the pointers).
 */
#ifndef DMPFS_H
#define DMPFS_H

#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "dmp/engine.h"
#include "dmp/peers.h"
#include "dmp/resolver.h"

#define DMPFS_VERSION "0.1.0"
#define DMPFS_PATH_MAX 4096
#define DMPFS_MAX_RESOLVERS 32
/* Largest contacts/<alias> write ("user@zone FINGERPRINT" or key=value). */
#define DMPFS_CONTACT_WRITE_MAX 4096
/* The undo-send window (-o send_delay): default and largest, seconds. */
#define DMPFS_SEND_DELAY_DEFAULT 5
#define DMPFS_SEND_DELAY_MAX 3600
/* Cache lifetimes (cache.c): the mount's entry and attribute timeout,
 * kept by Maildir files; generated files lose theirs within a tick. */
#define DMPFS_CACHE_LONG_S 3600.0
#define DMPFS_CACHE_TICK_MS 250
#define DMPFS_CACHE_KEEP_MS 1000
#define DMPFS_CACHE_BUCKETS 256
/* how long a write to .reload waits for the engine thread to reload */
#define DMPFS_RELOAD_WAIT_MS 5000
/* Largest editor scratch file in outbox/. */
#define DMPFS_SCRATCH_MAX (1u << 20)

/* A first contact accepted by `mv intro/... inbox/...`: pinned by the
 * engine thread (a network fetch) so the rename itself returns at once. */
struct dmpfs_accept {
	struct dmpfs_accept *next;
	char address[320];
	char fingerprint[17];
};

/* A scratch file of an editor in outbox/ (never sent), or a temporary
 * file (mkstemp) that is sent when renamed onto a contact's name. */
struct dmpfs_scratch {
	struct dmpfs_scratch *next;
	char name[256];
	char *buf;
	size_t len;
	int64_t mtime;
	int temp; /* created by mkstemp() under a name that is no contact */
};

/* A process that read outbox/<name> (an editor loading it), and the last
 * message it queued from it (under out_lock): its next save within the
 * undo-send window replaces that message (send.c). */
struct dmpfs_recent {
	struct dmpfs_recent *next;
	char name[256];
	pid_t owner;
	int editor;	   /* opened the file for reading */
	int64_t qid;	   /* its last message from it, 0: none */
	int64_t window_ms; /* CLOCK_MONOTONIC: end of qid's window */
	int64_t until_ms;  /* CLOCK_MONOTONIC: forget the record then */
};

/* outbox/<contact> removed by `rm` (mv removes it before it creates the
 * file afresh with O_EXCL): absent until it is created again. */
struct dmpfs_absent {
	struct dmpfs_absent *next;
	char name[256];
};

struct dmpfs_fh;
struct dmpfs_cache_ent;

struct dmpfs {
	/* configuration (main.c), read-only once the loop runs */
	char home[DMPFS_PATH_MAX];
	char mirror[DMPFS_PATH_MAX]; /* maildir= ; "" = none */
	int poll_interval;	     /* seconds; 0 = config.yaml's */
	int send_delay;	  /* seconds a message is held in queue/ (undo send) */
	char *passphrase; /* wiped and freed once unlocked */
	struct dmp_engine_unlocked *unlocked; /* freed once handles open */
	int foreground;

	/* engine handles (see the file comment) */
	struct dmp_engine *fe, *ne, *pe;
	pthread_mutex_t fe_lock, ne_lock;
	char maildir[3][DMPFS_PATH_MAX]; /* inbox, intro, sent */
	char events[DMPFS_PATH_MAX];

	/* outbox state (under `out_lock`): editor scratch files and the
	 * outbox/ and contacts/ write handles */
	pthread_mutex_t out_lock;
	struct dmpfs_scratch *scratch;
	struct dmpfs_fh *open_files;
	struct dmpfs_recent *recent;
	struct dmpfs_absent *absent;

	/* engine thread and what it shares (under `st_lock`) */
	pthread_t worker;
	int worker_started;
	pthread_mutex_t st_lock;
	pthread_cond_t st_cond; /* CLOCK_MONOTONIC */
	int stop, kick;
	int reload; /* config.yaml to be read again (.reload, SIGHUP) */
	/* .reload's hand-shake: a writer takes the number reload_asked
	 * gives it and waits for reload_done to reach it; reload_rc is that
	 * reload's result (dmp_engine_reload()) */
	uint64_t reload_asked, reload_done;
	int reload_rc;
	int exited; /* the engine thread has left its loop */
	struct dmpfs_accept *accepts;
	struct dmp_engine_status status; /* after the last pass */
	int have_status;
	int64_t next_poll;
	struct dmp_resolver_stat res[DMPFS_MAX_RESOLVERS];
	size_t n_res;
	struct dmp_peers_conf peers; /* discovery settings (read-only) */
	struct fuse *fuse; /* for cache invalidation after deliveries */
	int64_t started;

	/* generated paths whose kernel attributes expire (cache.c), under
	 * `exp_lock`; exp_cond (CLOCK_MONOTONIC) wakes the expiry thread */
	pthread_t exp_thread;
	int exp_started, exp_stop;
	pthread_mutex_t exp_lock;
	pthread_cond_t exp_cond;
	struct dmpfs_cache_ent *exp_tab[DMPFS_CACHE_BUCKETS];
	size_t exp_n;
	/* set by the engine handles' event callback (any thread, maybe
	 * under fe_lock or ne_lock, so no lock): Maildir files were
	 * rewritten in place (receipt, re-headed after a pin) */
	atomic_int exp_sweep;
};

/* ---- path.c: what a path names ------------------------------------------ */

enum dmpfs_kind {
	DMPFS_K_NONE,
	DMPFS_K_ROOT,
	DMPFS_K_OUTBOX,
	DMPFS_K_OUTFILE,
	DMPFS_K_QUEUE,
	DMPFS_K_QFILE,
	DMPFS_K_PASS,
	DMPFS_K_CONTACTS,
	DMPFS_K_CFILE,
	DMPFS_K_IDENT,
	DMPFS_K_IFILE,
	DMPFS_K_PEERS,
	DMPFS_K_PFILE,
	DMPFS_K_RESOLVERS,
	DMPFS_K_STATUS,
	DMPFS_K_EVENTS,
	DMPFS_K_RELOAD, /* /.reload: opened for writing, config reloaded */
};

struct dmpfs_where {
	enum dmpfs_kind k;
	char name[256];		   /* last component for DMPFS_K_*FILE */
	int folder;		   /* K_PASS: 0 inbox, 1 intro, 2 sent */
	int top;		   /* K_PASS: the folder itself */
	char real[DMPFS_PATH_MAX]; /* K_PASS, K_EVENTS */
};

/* The Maildir folders, by dmpfs_where.folder. */
extern const char *const dmpfs_folders[3];
/* The files of identity/, in listing order. */
extern const char *const dmpfs_ident_files[];
extern const size_t dmpfs_n_ident_files;
/* The entries of the root directory, in listing order. */
extern const char *const dmpfs_root_entries[];
extern const size_t dmpfs_n_root_entries;

void dmpfs_classify(const struct dmpfs *fs, const char *path,
		    struct dmpfs_where *w);
/** 1 if @p name is an editor's scratch file (never sent). */
int dmpfs_is_scratch(const char *name);
/** queue/<id>: the id, or -ENOENT for anything but a positive decimal. */
int dmpfs_parse_id(const char *name, int64_t *id);
/** A dmp code as the errno a callback returns (positive). */
int dmpfs_errno(int code);

/* ---- render.c: generated files ------------------------------------------ */

/** The contents of a generated file; *mtime gets its time.
 *  @return 0 (buf: malloc'd) or a negative errno */
int dmpfs_render(struct dmpfs *fs, const struct dmpfs_where *w, char **buf,
		 size_t *len, int64_t *mtime);

/* ---- outbox.c: file handles and the write side -------------------------- */

enum dmpfs_fh_kind {
	DMPFS_FH_BUF,	  /* rendered, read-only */
	DMPFS_FH_FD,	  /* a real file */
	DMPFS_FH_OUT,	  /* a message being written to outbox/ */
	DMPFS_FH_SCRATCH, /* an editor's scratch file in outbox/ */
	DMPFS_FH_CONTACT, /* contacts/<alias> being written */
};

struct dmpfs_fh {
	struct dmpfs_fh *next; /* in dmpfs.open_files (FH_OUT, FH_CONTACT) */
	enum dmpfs_fh_kind kind;
	int fd;
	char *buf; /* FH_OUT, FH_CONTACT: under out_lock */
	size_t len, cap;
	char name[256];
	int64_t mtime;
	pid_t owner; /* process that opened it (FH_OUT, FH_CONTACT) */
	int append;  /* FH_OUT opened O_APPEND: a message of its own */
	int refused; /* errno of a failed write (EFBIG): nothing is sent */
	int aborted; /* the writer was killed by a signal: nothing is sent */
	int sent;    /* a message (or "empty") came from this handle */
	int noted;   /* the refusal is in .events already */
	size_t max;  /* FH_OUT: the largest message (at open) */
};

static inline struct dmpfs *dmpfs_ctx(void)
{
	return fuse_get_context()->private_data;
}

static inline struct dmpfs_fh *dmpfs_fh_of(const struct fuse_file_info *fi)
{
	return fi ? (struct dmpfs_fh *)(uintptr_t)fi->fh : NULL;
}

/** The process (thread group) of a thread id from the FUSE context. */
pid_t dmpfs_tgid_of(pid_t tid);
struct dmpfs_fh *dmpfs_fh_new(enum dmpfs_fh_kind kind, const char *name);
/** Add a write handle to fs->open_files (outbox/ and contacts/). */
void dmpfs_fh_register(struct dmpfs *fs, struct dmpfs_fh *h);
/** Unregister, close, wipe and free. */
void dmpfs_fh_free(struct dmpfs *fs, struct dmpfs_fh *h);
/** The newest open write handle of @p kind named @p name (under out_lock).
 */
struct dmpfs_fh *dmpfs_open_find(struct dmpfs *fs, enum dmpfs_fh_kind kind,
				 const char *name);
/** The scratch file @p name (under out_lock), or NULL. */
struct dmpfs_scratch *dmpfs_scratch_find(struct dmpfs *fs, const char *name);
/** Unlink @p s from fs->scratch (under out_lock), wipe and free it. */
void dmpfs_scratch_remove(struct dmpfs *fs, struct dmpfs_scratch *s);

/** open/create of outbox/<name>: a message or a scratch file. */
int dmpfs_outbox_open(struct dmpfs *fs, const struct dmpfs_where *w,
		      struct fuse_file_info *fi, int creating);
/** open of contacts/<alias> for writing. */
int dmpfs_contact_open(struct dmpfs *fs, const struct dmpfs_where *w,
		       struct fuse_file_info *fi);
/** read of a scratch file. */
int dmpfs_scratch_read(struct dmpfs *fs, struct dmpfs_fh *h, char *buf,
		       size_t size, off_t off);
/** write to a scratch file, a message or a contact: bytes taken or -errno */
int dmpfs_outbox_write(struct dmpfs *fs, struct dmpfs_fh *h, const char *buf,
		       size_t size, off_t off);
/** ftruncate of a message or contact handle. */
int dmpfs_outbox_truncate_fh(struct dmpfs *fs, struct dmpfs_fh *h, off_t size);
/** truncate of outbox/<name> by path (a scratch file). */
int dmpfs_scratch_truncate(struct dmpfs *fs, const char *name, off_t size);
/** Send (or pin) what has been written to @p h so far; @p last: the
 *  release after the last close (flush otherwise). */
int dmpfs_outbox_finish(struct dmpfs *fs, struct dmpfs_fh *h, int last);
/** The writer of @p h was killed by signal @p sig: discard its bytes,
 *  log why, and send nothing at any later close. */
void dmpfs_outbox_abort(struct dmpfs *fs, struct dmpfs_fh *h, int sig);
/** rename within outbox/: a scratch file renamed, or saved as a message. */
int dmpfs_outbox_rename(struct dmpfs *fs, const struct dmpfs_where *a,
			const struct dmpfs_where *b);
/** unlink of outbox/<name>: a scratch file is dropped; a contact's file
 *  is absent until it is created again (mv, install). */
int dmpfs_outbox_unlink(struct dmpfs *fs, const char *name);
/** readdir of outbox/: every contact that can be written to, messages
 *  being written to addresses, scratch and temporary files. */
void dmpfs_outbox_list(struct dmpfs *fs, void *buf, fuse_fill_dir_t filler);
/** getattr of outbox/<name> (@p h: the caller's handle, may be NULL). */
int dmpfs_outbox_getattr(struct dmpfs *fs, const char *name, struct dmpfs_fh *h,
			 struct stat *st);

/* ---- send.c: what a finished outbox/ file becomes ------------------------ */

/** Queue @p len bytes for @p name, held for fs->send_delay seconds; a
 *  rewrite (not @p append) by @p owner within that window replaces the
 *  message @p owner queued from the same name if @p owner read the file
 *  first (an editor, dmpfs_editor_seen()). 0 or -errno. */
int dmpfs_send(struct dmpfs *fs, const char *name, const char *buf, size_t len,
	       pid_t owner, int append);
/** @p reader (a process) opened outbox/<name> for reading, as an editor
 *  does when it loads the file. */
void dmpfs_editor_seen(struct dmpfs *fs, const char *name, pid_t reader);
/** Whether @p name can be written to; an unpinned user@zone is fetched
 *  and pinned first (as `dmp send` does). Failures are logged with a hint
 *  naming `dmp contacts add`. 0 or -errno (ENOENT, EACCES, ...). */
int dmpfs_recipient(struct dmpfs *fs, const char *name);
/** Log an event about outbox/<name> (DMP_EV_REJECTED or _CANCELLED). */
void dmpfs_note(struct dmpfs *fs, int kind, const char *name, int code,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/** The signal that killed thread @p tid while it closes its files (its
 *  exit in progress), or 0 (alive, or exiting normally). */
int dmpfs_killed_by(pid_t tid);
/** At unmount: report scratch and temporary files that are discarded. */
void dmpfs_report_scratch(struct dmpfs *fs);
/** Drop the kernel's cached attributes of outbox/<name> (its size). */
void dmpfs_outbox_forget(struct dmpfs *fs, const char *name);

/* ---- maildir.c: pass-through to the real Maildirs ----------------------- */

int dmpfs_pass_readdir(const char *real, void *buf, fuse_fill_dir_t filler,
		       enum fuse_readdir_flags flags);
int dmpfs_pass_open(struct dmpfs *fs, const struct dmpfs_where *w,
		    struct fuse_file_info *fi, int creating, mode_t mode);
/** rename between Maildir folders; intro -> inbox accepts the sender. */
int dmpfs_pass_rename(struct dmpfs *fs, const struct dmpfs_where *a,
		      const struct dmpfs_where *b, unsigned int flags);
/** -o maildir=DIR: symlinks to the inbox and sent Maildirs. */
void dmpfs_mirror_setup(const struct dmpfs *fs);

/* ---- cache.c: per-file cache lifetimes ---------------------------------- */

/** Initialise exp_lock and exp_cond. 0 or -errno. */
int dmpfs_cache_init(struct dmpfs *fs);
/** getattr of a generated @p path: its kernel attributes expire within
 *  DMPFS_CACHE_TICK_MS (not the mount's long timeout). */
void dmpfs_cache_touch(struct dmpfs *fs, const char *path);
/** The engine handles' event callback (@p ud: the mount): a delivery
 *  receipt marked a sent/ copy, or a pin re-headed inbox/ and intro/
 *  files, in place; the expiry thread then drops the kernel's cached
 *  attributes and pages of every Maildir file (within a second). */
void dmpfs_cache_event(const struct dmp_event *ev, void *ud);
/** Start the expiry thread (after fs->fuse is set). 0 or -errno. */
int dmpfs_cache_start(struct dmpfs *fs);
/** Stop and join it (before fs->fuse goes), free the noted paths. */
void dmpfs_cache_stop(struct dmpfs *fs);

/* ---- worker.c: engine handles and the engine thread --------------------- */

extern const struct fuse_operations dmpfs_ops;

/** A condition variable on CLOCK_MONOTONIC. 0 or -errno. */
int dmpfs_cond_init(pthread_cond_t *c);
/** pthread_create with every signal blocked in the new thread (signals
 *  are for libfuse's loop threads). 0 or -errno. */
int dmpfs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
/** Initialise the locks and st_cond (on CLOCK_MONOTONIC). 0 or -errno. */
int dmpfs_sync_init(struct dmpfs *fs);
/** Open the three engine handles from fs->unlocked, then free it. 0 or
 *  dmp code. */
int dmpfs_open_engines(struct dmpfs *fs);
void dmpfs_close_engines(struct dmpfs *fs);

/** Start the engine thread (main.c, before the FUSE loop), with every
 *  signal blocked in it. 0 or a negative errno. */
int dmpfs_worker_start(struct dmpfs *fs);
/** Stop the engine thread; with @p wait_s > 0 give up after that long
 *  and return -1 (the thread is still running: the caller must _exit
 *  without touching fuse or the engines). */
int dmpfs_worker_stop(struct dmpfs *fs, int wait_s);
/** Ask the engine thread to publish now (after a submit). */
void dmpfs_worker_kick(struct dmpfs *fs);
/**
 * Ask the engine thread to read config.yaml again (an open of .reload for
 * writing) and wait, at most @p wait_ms, until it has.
 * @return 0, -EIO (the file was refused: the CONFIG event says why),
 *         -ETIMEDOUT (not done in time; an event says so, and the reload
 *         still happens at the thread's next wake)
 */
int dmpfs_worker_reload(struct dmpfs *fs, int wait_ms);
/** SIGHUP's handler (main.c installs it over libfuse's): the engine thread
 *  reloads config.yaml at its next wake, within WAKE_MAX seconds. */
void dmpfs_reload_signal(int sig);
/** Queue a first-contact acceptance for the engine thread. */
void dmpfs_worker_accept(struct dmpfs *fs, const char *address,
			 const char *fingerprint);

#endif /* DMPFS_H */
