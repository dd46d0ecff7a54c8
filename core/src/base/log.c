/* core/src/base/log.c - the process-wide log sink (see STYLE: the one global).
 *
 * Threads log while the main thread may swap the handler (dmp-node on
 * SIGHUP): the level and "is there a handler" are relaxed atomics, read
 * on every DMP_LOG*() before formatting; the handler and its argument are
 * read and called under a read lock, so dmp_log_set_handler() returns
 * only once no thread is still inside the old handler.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "dmp/log.h"

static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static dmp_log_fn log_fn;	/* under log_lock */
static void *log_ud;		/* under log_lock */
static atomic_int log_max = -1; /* -1: no handler */

void dmp_log_set_handler(dmp_log_fn fn, void *ud, int max_level)
{
	pthread_rwlock_wrlock(&log_lock);
	log_fn = fn;
	log_ud = ud;
	atomic_store_explicit(&log_max, fn ? max_level : -1,
			      memory_order_relaxed);
	pthread_rwlock_unlock(&log_lock);
}

int dmp_log_enabled(int level)
{
	return level <= atomic_load_explicit(&log_max, memory_order_relaxed);
}

void dmp_log_write(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_rwlock_rdlock(&log_lock);
	if (log_fn) {
		log_fn(level, msg, log_ud);
	}
	pthread_rwlock_unlock(&log_lock);
}
