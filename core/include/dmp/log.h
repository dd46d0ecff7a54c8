/*
 * core/include/dmp/log.h - the one logging sink.
 *
 * core/ never prints. Programs install a handler (stderr, syslog); the
 * macros check the level before formatting anything.
 */
#ifndef DMP_LOG_H
#define DMP_LOG_H

#include <stdarg.h>

/* syslog(3) levels. */
enum dmp_log_level {
	DMP_LOG_ERR = 3,
	DMP_LOG_WARNING = 4,
	DMP_LOG_NOTICE = 5,
	DMP_LOG_INFO = 6,
	DMP_LOG_DEBUG = 7,
};

typedef void (*dmp_log_fn)(int level, const char *msg, void *ud);

/**
 * Install @p fn (NULL: discard) and the most verbose level to pass.
 * Thread-safe: other threads may log meanwhile; on return none is still
 * in the old handler. A handler must not call this function.
 */
void dmp_log_set_handler(dmp_log_fn fn, void *ud, int max_level);
/** 1 if a message at @p level would reach the handler. */
int dmp_log_enabled(int level);
void dmp_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define DMP_LOG(level, ...)                                                    \
	do {                                                                   \
		if (dmp_log_enabled(level)) {                                  \
			dmp_log_write(level, __VA_ARGS__);                     \
		}                                                              \
	} while (0)
#define DMP_LOG_E(...) DMP_LOG(DMP_LOG_ERR, __VA_ARGS__)
#define DMP_LOG_W(...) DMP_LOG(DMP_LOG_WARNING, __VA_ARGS__)
#define DMP_LOG_N(...) DMP_LOG(DMP_LOG_NOTICE, __VA_ARGS__)
#define DMP_LOG_I(...) DMP_LOG(DMP_LOG_INFO, __VA_ARGS__)
#define DMP_LOG_D(...) DMP_LOG(DMP_LOG_DEBUG, __VA_ARGS__)

#endif /* DMP_LOG_H */
