/*
 * core/include/dmp/settings.h - the client's settings (config.yaml of a
 * home) read and changed one at a time: `dmp config`. The schema, the
 * parsers and the ranges are the loader's own (client_config.c,
 * config.c), so what this accepts the engine loads.
 */
#ifndef DMP_SETTINGS_H
#define DMP_SETTINGS_H

#include <stddef.h>

#include "dmp/common.h"

/** One setting: "section.key", its value and its default as text (lists
 *  comma-separated; "" for none), and whether the value is the default.
 *  @p range is "MIN..MAX" for an integer, "true|false", or "". */
typedef void (*dmp_settings_cb)(const char *name, const char *value,
				const char *def, int is_default,
				const char *range, void *ud);

/**
 * Every setting of the client in schema order, as config.yaml in
 * @p home gives it (the defaults where it is silent), to @p cb.
 * @return 0, DMP_ENOENT (no config.yaml), DMP_ECONFIG (it does not load:
 *         "file:line:col: why" in @p err)
 */
DMP_MUST_CHECK int dmp_settings_list(const char *home, dmp_settings_cb cb,
				     void *ud, char *err, size_t errlen);

/**
 * Set "section.key" to @p value in @p home's config.yaml, or with
 * @p value NULL remove it (back to its default). The value is checked by
 * the loader's parsers ("section.key: why (allowed MIN..MAX)" in @p err);
 * only that key's line changes (comments and other lines kept); the new
 * file is loaded before it replaces the old one, atomically (a temporary
 * file, fsync, rename; its mode kept).
 * @return 0, DMP_ENOENT (no config.yaml; or unset of a key the file does
 *         not set: nothing to do), DMP_ECONFIG, DMP_EIO, DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_settings_set(const char *home, const char *name,
				    const char *value, char *err,
				    size_t errlen);

#endif /* DMP_SETTINGS_H */
