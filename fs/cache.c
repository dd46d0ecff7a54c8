/*
 * fs/cache.c - per-file cache lifetimes on libfuse's high-level API.
 *
 * The high-level API has one entry and attribute timeout for the whole
 * mount (fuse_config). dmpfs sets it long (DMPFS_CACHE_LONG_S), which is
 * right for the Maildir files of inbox/, intro/ and sent/: once delivered
 * they change only through dmpfs (the kernel sees those changes) or by new
 * files appearing (lookups of unknown names are never cached, and the
 * engine thread invalidates the folders after each pass). Every other file
 * is generated and changes behind the kernel's back, so its lifetime is
 * made short here: getattr notes its path (dmpfs_cache_touch), and the
 * expiry thread drops the kernel's attributes of every path noted within
 * the last DMPFS_CACHE_KEEP_MS, each DMPFS_CACHE_TICK_MS. A generated
 * file's size is thus never older than a tick, as with a global short
 * timeout, while a listing of 10,000 messages stays cached.
 *
 * The kernel orders an invalidation against a reply in flight (attribute
 * versions), and a path stays noted for more than one tick, so a reply
 * that raced a tick is dropped at the next one.
 *
 * Maildir files are rewritten in place by the engine in two cases: a
 * delivery receipt marks the sent/ copy, and pinning a sender re-heads
 * its messages in inbox/ and intro/ (keeping their names). The engine's
 * event for either sets exp_sweep, and the expiry thread then drops the
 * kernel's attributes and pages of every file in the three Maildirs.
 *
 * Own hash table rather than hsearch(3) (one global table per process)
 * or tsearch(3) (no removal while walking).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmpfs.h"

struct dmpfs_cache_ent {
	struct dmpfs_cache_ent *next;
	int64_t touched_ms; /* CLOCK_MONOTONIC */
	char path[];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t bucket_of(const char *path)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *path; path++) {
		h = (h ^ (unsigned char)*path) * 1099511628211ull;
	}
	return (size_t)(h % DMPFS_CACHE_BUCKETS);
}

void dmpfs_cache_touch(struct dmpfs *fs, const char *path)
{
	size_t b = bucket_of(path), n = strlen(path);
	struct dmpfs_cache_ent *e;
	int64_t t = now_ms();

	pthread_mutex_lock(&fs->exp_lock);
	for (e = fs->exp_tab[b]; e; e = e->next) {
		if (strcmp(e->path, path) == 0) {
			e->touched_ms = t;
			break;
		}
	}
	if (!e && (e = malloc(sizeof(*e) + n + 1)) != NULL) {
		memcpy(e->path, path, n + 1);
		e->touched_ms = t;
		e->next = fs->exp_tab[b];
		fs->exp_tab[b] = e;
		fs->exp_n++;
		pthread_cond_signal(&fs->exp_cond);
	}
	pthread_mutex_unlock(&fs->exp_lock);
	if (!e) {
		/* Out of memory: the short lifetime cannot be kept, so drop
		 * the attributes now (the reply may still win the race). */
		if (fs->fuse) {
			(void)fuse_invalidate_path(fs->fuse, path);
		}
	}
}

/* Take out the paths to invalidate now (a NULL-terminated list, in one
 * allocation with the strings) and forget those older than KEEP. */
static char **collect(struct dmpfs *fs, int64_t t)
{
	size_t bytes = 0, n = 0;
	char **list, *p;

	for (size_t b = 0; b < DMPFS_CACHE_BUCKETS; b++) {
		for (struct dmpfs_cache_ent *e = fs->exp_tab[b]; e;
		     e = e->next) {
			bytes += strlen(e->path) + 1;
			n++;
		}
	}
	list = malloc((n + 1) * sizeof(*list) + bytes);
	if (!list) {
		return NULL;
	}
	p = (char *)(list + n + 1);
	n = 0;
	for (size_t b = 0; b < DMPFS_CACHE_BUCKETS; b++) {
		struct dmpfs_cache_ent **pp = &fs->exp_tab[b];

		while (*pp) {
			struct dmpfs_cache_ent *e = *pp;
			size_t l = strlen(e->path) + 1;

			list[n++] = memcpy(p, e->path, l);
			p += l;
			if (t - e->touched_ms > DMPFS_CACHE_KEEP_MS) {
				*pp = e->next;
				free(e);
				fs->exp_n--;
			} else {
				pp = &e->next;
			}
		}
	}
	list[n] = NULL;
	return list;
}

static struct timespec mono_at(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	return ts;
}

void dmpfs_cache_event(const struct dmp_event *ev, void *ud)
{
	struct dmpfs *fs = ud;

	if (ev->kind == DMP_EV_RECEIPT || ev->kind == DMP_EV_CONTACT) {
		atomic_store(&fs->exp_sweep, 1);
		/* Without exp_lock (the caller may hold fe_lock): a wake-up
		 * lost to the race is made up by the thread's 1 s wait. */
		pthread_cond_signal(&fs->exp_cond);
	}
}

/* Every file of inbox/, intro/ and sent/ (new and cur), and the folders
 * themselves (a pin moves messages from intro/ to inbox/). */
static void sweep(struct dmpfs *fs)
{
	static const char *const sub[2] = {"new", "cur"};
	char dir[DMPFS_PATH_MAX + 8], path[600];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/%s", dmpfs_folders[i]);
		(void)fuse_invalidate_path(fs->fuse, path);
		for (int j = 0; j < 2; j++) {
			DIR *d;
			struct dirent *de;

			snprintf(path, sizeof(path), "/%s/%s", dmpfs_folders[i],
				 sub[j]);
			(void)fuse_invalidate_path(fs->fuse, path);
			snprintf(dir, sizeof(dir), "%.4000s/%s", fs->maildir[i],
				 sub[j]);
			if (!(d = opendir(dir))) {
				continue;
			}
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.') {
					continue;
				}
				snprintf(path, sizeof(path), "/%s/%s/%s",
					 dmpfs_folders[i], sub[j], de->d_name);
				(void)fuse_invalidate_path(fs->fuse, path);
			}
			closedir(d);
		}
	}
}

static void *expiry_main(void *arg)
{
	struct dmpfs *fs = arg;

	pthread_mutex_lock(&fs->exp_lock);
	while (!fs->exp_stop) {
		struct timespec until;
		char **list;

		if (atomic_exchange(&fs->exp_sweep, 0)) {
			pthread_mutex_unlock(&fs->exp_lock);
			sweep(fs);
			pthread_mutex_lock(&fs->exp_lock);
			continue;
		}
		if (fs->exp_n == 0) {
			/* Nothing generated was looked at: wait for a note,
			 * or a second (for exp_sweep). */
			until = mono_at(now_ms() + 1000);
			(void)pthread_cond_timedwait(&fs->exp_cond,
						     &fs->exp_lock, &until);
			continue;
		}
		until = mono_at(now_ms() + DMPFS_CACHE_TICK_MS);
		while (!fs->exp_stop &&
		       pthread_cond_timedwait(&fs->exp_cond, &fs->exp_lock,
					      &until) != ETIMEDOUT) {
		}
		if (fs->exp_stop) {
			break;
		}
		list = collect(fs, now_ms());
		pthread_mutex_unlock(&fs->exp_lock);
		for (size_t i = 0; list && list[i]; i++) {
			/* -ENOENT: the kernel no longer knows it. */
			(void)fuse_invalidate_path(fs->fuse, list[i]);
		}
		free(list);
		pthread_mutex_lock(&fs->exp_lock);
	}
	pthread_mutex_unlock(&fs->exp_lock);
	return NULL;
}

int dmpfs_cache_init(struct dmpfs *fs)
{
	int rc = pthread_mutex_init(&fs->exp_lock, NULL);

	return rc != 0 ? -rc : dmpfs_cond_init(&fs->exp_cond);
}

int dmpfs_cache_start(struct dmpfs *fs)
{
	int rc = dmpfs_thread_start(&fs->exp_thread, expiry_main, fs);

	if (rc < 0) {
		return rc;
	}
	fs->exp_started = 1;
	return 0;
}

void dmpfs_cache_stop(struct dmpfs *fs)
{
	if (fs->exp_started) {
		pthread_mutex_lock(&fs->exp_lock);
		fs->exp_stop = 1;
		pthread_cond_broadcast(&fs->exp_cond);
		pthread_mutex_unlock(&fs->exp_lock);
		pthread_join(fs->exp_thread, NULL);
		fs->exp_started = 0;
	}
	for (size_t b = 0; b < DMPFS_CACHE_BUCKETS; b++) {
		while (fs->exp_tab[b]) {
			struct dmpfs_cache_ent *e = fs->exp_tab[b];

			fs->exp_tab[b] = e->next;
			free(e);
		}
	}
	fs->exp_n = 0;
}
