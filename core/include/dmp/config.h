/*
 * core/include/dmp/config.h - a schema-table-driven YAML config loader
 * (libyaml), shared by dmp-node and the client.
 *
 * The file is a mapping of sections, each a mapping of keys to scalars or
 * to sequences of scalars:
 *
 *     node:
 *       db: /var/lib/dmp/node.db
 *       zones: [mesh.example]
 *
 * Each key is described by one struct dmp_cfg_item (as in Knot's
 * conf/schema.c): type, offset into the caller's struct, range, default.
 * Unknown sections or keys, wrong types and out-of-range values are errors
 * reported as "file:line:col: message". Sources apply in order: defaults
 * (dmp_config_defaults), then the file (dmp_config_load), then flags
 * (dmp_config_set).
 */
#ifndef DMP_CONFIG_H
#define DMP_CONFIG_H

#include <stddef.h>

#include "dmp/common.h"

#define DMP_CFG_STR_MAX 256
#define DMP_CFG_LIST_MAX 8

enum dmp_cfg_type {
	DMP_CFG_STR,  /* char[size] */
	DMP_CFG_INT,  /* long long, within [min, max] */
	DMP_CFG_BOOL, /* int: true/false, yes/no, on/off, 1/0 */
	DMP_CFG_LIST, /* struct dmp_cfg_list */
};

struct dmp_cfg_list {
	unsigned n;
	char v[DMP_CFG_LIST_MAX][DMP_CFG_STR_MAX];
};

struct dmp_cfg_item {
	const char *section;
	const char *key;
	enum dmp_cfg_type type;
	size_t offset;	    /* into the caller's struct */
	size_t size;	    /* DMP_CFG_STR: buffer size (NUL included) */
	long long min, max; /* DMP_CFG_INT */
	const char *def;    /* default in text form; NULL: zero/empty.
			     * Lists: comma separated. */
};

/**
 * Set every item of @p schema in @p out to its default.
 * @return 0 or DMP_ECONFIG (a default that does not parse: a schema bug)
 */
int dmp_config_defaults(const struct dmp_cfg_item *schema, size_t n, void *out);

/**
 * Read @p path over the values already in @p out. A list key in the file
 * replaces the list.
 * @param err, errlen  "file:line:col: message" on failure
 * @return 0, DMP_ENOENT (cannot open), DMP_ECONFIG
 */
DMP_MUST_CHECK int dmp_config_load(const struct dmp_cfg_item *schema, size_t n,
				   void *out, const char *path, char *err,
				   size_t errlen);

/**
 * Set "section.key" to @p value (a flag). For lists, @p append 0 replaces
 * the list with one element, 1 appends.
 * @return 0 or DMP_ECONFIG (message in @p err)
 */
DMP_MUST_CHECK int dmp_config_set(const struct dmp_cfg_item *schema, size_t n,
				  void *out, const char *section_key,
				  const char *value, int append, char *err,
				  size_t errlen);

/** The item of "section.key" in @p schema; NULL if there is none. */
const struct dmp_cfg_item *dmp_config_find(const struct dmp_cfg_item *schema,
					   size_t n, const char *section_key);

/**
 * Check @p value for "section.key" with the loader's own parsers (a list:
 * comma-separated items) and render it as a YAML value for the file into
 * @p yaml: an integer in decimal, true/false, a double-quoted string, a
 * flow sequence ["a", "b"].
 * @return 0, DMP_ECONFIG ("section.key: why (allowed MIN..MAX)" in
 *         @p err), DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_config_yaml_value(const struct dmp_cfg_item *schema,
					 size_t n, const char *section_key,
					 const char *value, char *yaml,
					 size_t cap, char *err, size_t errlen);

/** The value of @p it in @p conf as text (a list comma-separated). */
void dmp_config_format(const struct dmp_cfg_item *it, const void *conf,
		       char *out, size_t cap);

/**
 * Edit the YAML text @p text line by line: set section.key's value to
 * @p yaml_value (the key's line is rewritten, keeping its indentation and
 * a trailing comment; a missing key is added at the end of its section, a
 * missing section at the end of the file), or with @p yaml_value NULL
 * remove the key's line (and the block-sequence lines under it). Every
 * other line, comments included, is kept byte for byte.
 * @param out  the new text (malloc'd, NUL-terminated), for the caller to
 *             free
 * @return 0, DMP_ENOENT (unset of a key not in the file), DMP_ECONFIG (a
 *         layout this editor does not handle: a flow-style section, a
 *         tab), DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_config_edit(const char *text, const char *section,
				   const char *key, const char *yaml_value,
				   char **out);

#endif /* DMP_CONFIG_H */
