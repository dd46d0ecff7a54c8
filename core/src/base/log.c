/* core/src/base/log.c - the process-wide log sink (see STYLE: the one global).
 */
#include <stdarg.h>
#include <stdio.h>

#include "dmp/log.h"

static dmp_log_fn log_fn;
static void *log_ud;
static int log_max = DMP_LOG_WARNING;

void dmp_log_set_handler(dmp_log_fn fn, void *ud, int max_level)
{
	log_fn = fn;
	log_ud = ud;
	log_max = max_level;
}

int dmp_log_enabled(int level)
{
	return log_fn != NULL && level <= log_max;
}

void dmp_log_write(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log_fn) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_ud);
}
