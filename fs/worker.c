/*
 * fs/worker.c - dmpfs's engine thread: publishes the queue, polls on the
 * interval (with jitter), keeps the identity and prekeys published, pins
 * contacts accepted from intro/, refreshes discovered nodes (peers/) on
 * discovery.interval, reloads config.yaml when asked (.reload, SIGHUP),
 * and tells the kernel when mail arrived.
 * All protocol work is the engine's; this file only schedules it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmpfs.h"

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/store.h"

/* Publish retries are scheduled by the engine (next_attempt); waking this
 * often lets a due retry go out without waiting for the next poll. */
#define WAKE_MAX 5
#define UPKEEP_EVERY 3600
#define UPKEEP_RETRY 60

/* The mount's engine handles: fe from the identity unlocked before the
 * fork, ne and pe its siblings (engine.h), so no Argon2id run here. */
int dmpfs_open_engines(struct dmpfs *fs)
{
	/* Their events tell cache.c when Maildir files change in place. */
	int rc = dmp_engine_open_unlocked(&fs->fe, fs->unlocked,
					  dmpfs_cache_event, fs);

	if (rc == 0) {
		rc = dmp_engine_open_sibling(&fs->ne, fs->fe, dmpfs_cache_event,
					     fs);
	}
	if (rc == 0) {
		rc = dmp_engine_open_sibling(&fs->pe, fs->fe, dmpfs_cache_event,
					     fs);
	}
	dmp_engine_unlocked_free(fs->unlocked);
	fs->unlocked = NULL;
	if (rc == 0) {
		rc = dmp_peers_conf_load(dmp_engine_home(fs->pe), &fs->peers);
	}
	if (rc == 0) {
		/* The handles that reach the network build their resolver
		 * pools here, in one thread: c-ares 1.18's
		 * ares_library_init() is not thread-safe. NULL (no usable
		 * resolver) is reported when a pass needs one. */
		(void)dmp_engine_resolver(fs->pe);
		(void)dmp_engine_resolver(fs->ne);
	}
	if (rc < 0) {
		dmpfs_close_engines(fs);
		return rc;
	}
	snprintf(fs->home, sizeof(fs->home), "%s", dmp_engine_home(fs->fe));
	for (int i = 0; i < 3; i++) {
		snprintf(fs->maildir[i], sizeof(fs->maildir[i]), "%s",
			 dmp_engine_maildir(fs->fe, dmpfs_folders[i]));
	}
	if ((size_t)snprintf(fs->events, sizeof(fs->events),
			     "%.4000s/events.log",
			     fs->home) >= sizeof(fs->events)) {
		dmpfs_close_engines(fs);
		return DMP_EINVAL;
	}
	return 0;
}

void dmpfs_close_engines(struct dmpfs *fs)
{
	dmp_engine_close(fs->fe);
	dmp_engine_close(fs->ne);
	dmp_engine_close(fs->pe);
	fs->fe = fs->ne = fs->pe = NULL;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Monotonic milliseconds: the engine thread's schedule and waits do not
 * jump with the wall clock. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_at(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	return ts;
}

int dmpfs_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);

	if (rc != 0) {
		return -rc;
	}
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0) {
		rc = pthread_cond_init(c, &ca);
	}
	pthread_condattr_destroy(&ca);
	return -rc;
}

int dmpfs_sync_init(struct dmpfs *fs)
{
	int rc;

	if ((rc = pthread_mutex_init(&fs->fe_lock, NULL)) != 0 ||
	    (rc = pthread_mutex_init(&fs->ne_lock, NULL)) != 0 ||
	    (rc = pthread_mutex_init(&fs->out_lock, NULL)) != 0 ||
	    (rc = pthread_mutex_init(&fs->st_lock, NULL)) != 0) {
		return -rc;
	}
	return dmpfs_cond_init(&fs->st_cond);
}

/* When the next queued message is due (held in its undo-send window, or
 * waiting for a retry), as a CLOCK_MONOTONIC time; INT64_MAX: none. */
static int64_t next_due_ms(struct dmpfs *fs)
{
	struct timespec now;
	int64_t due = 0, wall_ms;

	if (dmp_store_outbox_next_due(dmp_engine_store(fs->pe), &due) < 0 ||
	    due <= 0) {
		return INT64_MAX;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	wall_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	/* Due at the start of second `due` (publish() compares seconds).
	 * Already due means publish() just tried and could not: the usual
	 * schedule (WAKE_MAX) retries, not a busy loop. */
	if (due * 1000 <= wall_ms) {
		return INT64_MAX;
	}
	return mono_ms() + (due * 1000 - wall_ms) + 20;
}

/* interval +- 20 % in ms, so a fleet of clients does not poll in step. */
static int64_t jittered_ms(int interval)
{
	uint32_t r;
	int64_t ms = (int64_t)interval * 1000, span = ms / 5;

	dmp_random(&r, sizeof(r));
	return ms - span + (int64_t)(r % (uint32_t)(2 * span + 1));
}

static void invalidate(struct dmpfs *fs)
{
	static const char *const paths[] = {
	    "/inbox",	"/inbox/new", "/intro", "/intro/new",
	    "/sent",	"/sent/new",  "/queue", "/.status",
	    "/.events", "/contacts",  "/peers",
	};
	int stop;

	pthread_mutex_lock(&fs->st_lock);
	stop = fs->stop;
	pthread_mutex_unlock(&fs->st_lock);
	if (!fs->fuse || stop) {
		return;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		/* -ENOENT: the kernel has not looked it up; nothing cached. */
		(void)fuse_invalidate_path(fs->fuse, paths[i]);
	}
}

static void do_accepts(struct dmpfs *fs, struct dmpfs_accept *a)
{
	while (a) {
		struct dmpfs_accept *next = a->next;
		int rc = dmp_engine_contact_add(fs->pe, a->address, NULL,
						a->fingerprint);

		if (rc < 0) {
			DMP_LOG_W("accepting %s (%s): %s", a->address,
				  a->fingerprint, dmp_strerror(rc));
		}
		free(a);
		a = next;
	}
}

static void upkeep(struct dmpfs *fs, int64_t *next)
{
	struct dmp_identity_info id;
	int rc = dmp_engine_identity(fs->pe, &id);

	if (rc == 0 && id.published == 0) {
		rc = dmp_engine_identity_publish(fs->pe);
	} else if (rc == 0) {
		rc = dmp_engine_prekeys_refresh(fs->pe);
	}
	if (rc < 0) {
		DMP_LOG_W("identity upkeep: %s", dmp_strerror(rc));
	}
	*next = now_s() + (rc < 0 ? UPKEEP_RETRY : UPKEEP_EVERY);
}

/* Node discovery (peers.h) on its own interval; peers/ reads the store. */
static void discover(struct dmpfs *fs, int64_t *next)
{
	int rc;

	if (fs->peers.n_seeds == 0) {
		*next = INT64_MAX;
		return;
	}
	rc = dmp_peers_refresh(dmp_engine_resolver(fs->pe),
			       dmp_engine_store(fs->pe), &fs->peers, now_s());
	if (rc < 0) {
		DMP_LOG_W("peer discovery: %s", dmp_strerror(rc));
	} else {
		DMP_LOG_D("peer discovery: %d verified heartbeats", rc);
	}
	*next = now_s() + fs->peers.interval;
}

/* The engine thread's snapshot for .status and resolvers (st_lock). */
static void share_status(struct dmpfs *fs, const struct dmp_engine_status *s)
{
	struct dmp_resolver *r = dmp_engine_resolver(fs->pe);

	pthread_mutex_lock(&fs->st_lock);
	fs->status = *s;
	fs->have_status = 1;
	fs->next_poll = s->next_poll;
	fs->n_res = r ? dmp_resolver_stats(r, fs->res, DMPFS_MAX_RESOLVERS) : 0;
	if (fs->n_res > DMPFS_MAX_RESOLVERS) {
		fs->n_res = DMPFS_MAX_RESOLVERS;
	}
	pthread_mutex_unlock(&fs->st_lock);
}

/*
 * SIGHUP's flag. A signal handler gets no context pointer, so this one
 * flag is process-wide (one mount per process); the handler only sets it
 * (a lock-free atomic: async-signal-safe, and a synchronised hand-over to
 * the engine thread, which takes it at its next wake).
 */
static atomic_int hup_pending;

void dmpfs_reload_signal(int sig)
{
	(void)sig;
	atomic_store(&hup_pending, 1);
}

/* config.yaml again, in every engine handle, each under its own lock;
 * the engine thread's handle reports what changed (DMP_EV_CONFIG). */
static int reload(struct dmpfs *fs, int *interval, int64_t *next_poll)
{
	int rc = dmp_engine_reload(fs->pe, 1);

	if (rc < 0) {
		return rc;
	}
	pthread_mutex_lock(&fs->fe_lock);
	(void)dmp_engine_reload(fs->fe, 0);
	pthread_mutex_unlock(&fs->fe_lock);
	pthread_mutex_lock(&fs->ne_lock);
	(void)dmp_engine_reload(fs->ne, 0);
	pthread_mutex_unlock(&fs->ne_lock);
	/* -o poll= wins over the file; else the new interval from the next
	 * pass, which starts now. */
	*interval = fs->poll_interval;
	*next_poll = 0;
	return 0;
}

static void *worker_main(void *arg)
{
	struct dmpfs *fs = arg;
	int64_t next_upkeep = 0, next_poll = 0; /* next_poll: mono_ms() */
	int64_t next_discover = 0;
	int interval = fs->poll_interval;

	pthread_mutex_lock(&fs->st_lock);
	while (!fs->stop) {
		struct dmpfs_accept *acc = fs->accepts;
		struct dmp_engine_status s;
		struct timespec until;
		int64_t now = now_s(), wake, due;
		int re = atomic_exchange(&hup_pending, 0) | fs->reload;
		uint64_t gen = fs->reload_asked; /* the writers this serves */

		fs->accepts = NULL;
		fs->kick = 0;
		fs->reload = 0;
		pthread_mutex_unlock(&fs->st_lock);

		if (re) {
			int rc = reload(fs, &interval, &next_poll);

			pthread_mutex_lock(&fs->st_lock);
			fs->reload_done = gen;
			fs->reload_rc = rc;
			pthread_cond_broadcast(&fs->st_cond);
			pthread_mutex_unlock(&fs->st_lock);
		}
		do_accepts(fs, acc);
		if (now >= next_upkeep) {
			upkeep(fs, &next_upkeep);
		}
		if (now >= next_discover) {
			discover(fs, &next_discover);
		}
		/* A (re)mount retries the whole queue at once. */
		(void)(next_poll == 0 ? dmp_engine_flush(fs->pe)
				      : dmp_engine_publish(fs->pe));
		due = next_due_ms(fs);
		if (mono_ms() >= next_poll) {
			(void)dmp_engine_poll(fs->pe);
			(void)dmp_engine_status(fs->pe, &s);
			if (interval <= 0) {
				/* The configured interval, as the engine
				 * reports it. */
				interval = (int)(s.next_poll - s.last_poll);
				if (interval <= 0) {
					interval = 30;
				}
			}
			next_poll = mono_ms() + jittered_ms(interval);
		}
		(void)dmp_engine_status(fs->pe, &s);
		/* Shown as wall-clock seconds. */
		s.next_poll = now_s() + (next_poll - mono_ms() + 999) / 1000;
		share_status(fs, &s);
		/* .status and .events change on every pass. */
		invalidate(fs);

		pthread_mutex_lock(&fs->st_lock);
		wake = next_poll;
		if (wake > mono_ms() + WAKE_MAX * 1000) {
			wake = mono_ms() + WAKE_MAX * 1000;
		}
		if (wake > due) {
			wake = due; /* a held message's window ends */
		}
		until = mono_at(wake);
		while (!fs->stop && !fs->kick && !fs->accepts && !fs->reload &&
		       !atomic_load(&hup_pending)) {
			/* st_cond waits on CLOCK_MONOTONIC (dmpfs_sync_init) */
			if (pthread_cond_timedwait(&fs->st_cond, &fs->st_lock,
						   &until) == ETIMEDOUT) {
				break;
			}
		}
	}
	fs->exited = 1; /* for dmpfs_worker_stop()'s timed wait */
	pthread_cond_broadcast(&fs->st_cond);
	pthread_mutex_unlock(&fs->st_lock);
	return NULL;
}

int dmpfs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	/* Only libfuse's loop threads take SIGINT/SIGTERM (its handlers end
	 * the loop) and SIGHUP (dmpfs_reload_signal): our threads start
	 * with every signal blocked, and this thread's mask is put back. */
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc != 0) {
		return -rc;
	}
	rc = pthread_create(t, NULL, fn, arg);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

int dmpfs_worker_start(struct dmpfs *fs)
{
	int rc = dmpfs_thread_start(&fs->worker, worker_main, fs);

	if (rc < 0) {
		return rc;
	}
	fs->worker_started = 1;
	return 0;
}

int dmpfs_worker_stop(struct dmpfs *fs, int wait_s)
{
	struct dmpfs_accept *a;
	struct timespec until;
	int exited = 1;

	if (!fs->worker_started) {
		return 0;
	}
	pthread_mutex_lock(&fs->st_lock);
	fs->stop = 1;
	pthread_cond_broadcast(&fs->st_cond);
	if (wait_s > 0) {
		/* The thread may be inside a network wait (up to the engine's
		 * timeouts): do not hold the unmount up for it. A timed wait
		 * on st_cond (CLOCK_MONOTONIC) rather than
		 * pthread_clockjoin_np, which ThreadSanitizer does not see as
		 * a join. */
		until = mono_at(mono_ms() + (int64_t)wait_s * 1000);
		while (!fs->exited &&
		       pthread_cond_timedwait(&fs->st_cond, &fs->st_lock,
					      &until) != ETIMEDOUT) {
		}
		exited = fs->exited;
	}
	pthread_mutex_unlock(&fs->st_lock);
	if (!exited) {
		pthread_detach(fs->worker);
		return -1;
	}
	pthread_join(fs->worker, NULL);
	fs->worker_started = 0;
	a = fs->accepts;
	fs->accepts = NULL;
	while (a) {
		struct dmpfs_accept *next = a->next;

		free(a);
		a = next;
	}
	return 0;
}

void dmpfs_worker_kick(struct dmpfs *fs)
{
	pthread_mutex_lock(&fs->st_lock);
	fs->kick = 1;
	pthread_cond_broadcast(&fs->st_cond);
	pthread_mutex_unlock(&fs->st_lock);
}

int dmpfs_worker_reload(struct dmpfs *fs, int wait_ms)
{
	struct timespec until = mono_at(mono_ms() + wait_ms);
	uint64_t mine;
	int rc = -ETIMEDOUT;

	pthread_mutex_lock(&fs->st_lock);
	mine = ++fs->reload_asked;
	fs->reload = 1;
	pthread_cond_broadcast(&fs->st_cond);
	/* st_cond is shared: wake-ups for others are waited through. */
	while (fs->reload_done < mine && !fs->stop && !fs->exited &&
	       pthread_cond_timedwait(&fs->st_cond, &fs->st_lock, &until) !=
		   ETIMEDOUT) {
	}
	if (fs->reload_done >= mine) {
		rc = fs->reload_rc < 0 ? -EIO : 0;
	}
	pthread_mutex_unlock(&fs->st_lock);
	if (rc == -ETIMEDOUT) {
		char d[160];

		snprintf(d, sizeof(d),
			 "reload asked through .reload not done within %d ms "
			 "(the engine thread is busy); it happens at its "
			 "next wake",
			 wait_ms);
		pthread_mutex_lock(&fs->fe_lock);
		dmp_engine_note(fs->fe, DMP_EV_CONFIG, NULL, DMP_ETIMEDOUT, d);
		pthread_mutex_unlock(&fs->fe_lock);
	}
	return rc;
}

void dmpfs_worker_accept(struct dmpfs *fs, const char *address,
			 const char *fingerprint)
{
	struct dmpfs_accept *a = calloc(1, sizeof(*a));

	if (!a) {
		return;
	}
	snprintf(a->address, sizeof(a->address), "%s", address);
	snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", fingerprint);
	pthread_mutex_lock(&fs->st_lock);
	a->next = fs->accepts;
	fs->accepts = a;
	pthread_cond_broadcast(&fs->st_cond);
	pthread_mutex_unlock(&fs->st_lock);
}
