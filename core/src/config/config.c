/* core/src/config/config.c - schema-driven YAML config (see config.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "dmp/config.h"
#include "dmp/err.h"
#include "dmp/text.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct dmp_cfg_item *find(const struct dmp_cfg_item *schema,
				       size_t n, const char *section,
				       const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(schema[i].section, section) == 0 &&
		    (!key || strcmp(schema[i].key, key) == 0)) {
			return &schema[i];
		}
	}
	return NULL;
}

/* Store one scalar; for lists, append. @return NULL, or the error text
 * (in @p why, or static). */
static const char *store(const struct dmp_cfg_item *it, void *out,
			 const char *v, char *why, size_t cap)
{
	char *base = (char *)out + it->offset;

	switch (it->type) {
	case DMP_CFG_STR:
		if (strlen(v) >= it->size) {
			snprintf(why, cap,
				 "string too long (at most %zu bytes)",
				 it->size - 1);
			return why;
		}
		memcpy(base, v, strlen(v) + 1);
		return NULL;
	case DMP_CFG_INT: {
		long long x;
		int rc = dmp_parse_int(v, it->min, it->max, &x);

		if (rc == DMP_ERANGE) {
			snprintf(why, cap,
				 "out of range: %.32s (allowed %lld..%lld)", v,
				 it->min, it->max);
			return why;
		}
		if (rc < 0) {
			snprintf(why, cap,
				 "not an integer: '%.64s' (allowed "
				 "%lld..%lld)",
				 v, it->min, it->max);
			return why;
		}
		*(long long *)(void *)base = x;
		return NULL;
	}
	case DMP_CFG_BOOL: {
		static const char *const t[] = {"true", "yes", "on", "1"};
		static const char *const f[] = {"false", "no", "off", "0"};

		for (size_t i = 0; i < 4; i++) {
			if (strcasecmp(v, t[i]) == 0) {
				*(int *)(void *)base = 1;
				return NULL;
			}
			if (strcasecmp(v, f[i]) == 0) {
				*(int *)(void *)base = 0;
				return NULL;
			}
		}
		snprintf(why, cap, "not a boolean: '%.64s' (true or false)", v);
		return why;
	}
	case DMP_CFG_LIST: {
		struct dmp_cfg_list *l = (struct dmp_cfg_list *)(void *)base;

		if (l->n >= DMP_CFG_LIST_MAX) {
			snprintf(why, cap, "too many list items (at most %d)",
				 DMP_CFG_LIST_MAX);
			return why;
		}
		if (strlen(v) >= DMP_CFG_STR_MAX) {
			snprintf(why, cap, "string too long (at most %d bytes)",
				 DMP_CFG_STR_MAX - 1);
			return why;
		}
		memcpy(l->v[l->n++], v, strlen(v) + 1);
		return NULL;
	}
	}
	return "bad schema type";
}

static void reset(const struct dmp_cfg_item *it, void *out)
{
	char *base = (char *)out + it->offset;

	switch (it->type) {
	case DMP_CFG_STR: base[0] = '\0'; break;
	case DMP_CFG_INT: *(long long *)(void *)base = 0; break;
	case DMP_CFG_BOOL: *(int *)(void *)base = 0; break;
	case DMP_CFG_LIST: ((struct dmp_cfg_list *)(void *)base)->n = 0; break;
	}
}

int dmp_config_defaults(const struct dmp_cfg_item *schema, size_t n, void *out)
{
	char why[160];

	for (size_t i = 0; i < n; i++) {
		const char *d = schema[i].def;

		reset(&schema[i], out);
		if (!d) {
			continue;
		}
		if (schema[i].type == DMP_CFG_LIST) {
			char tmp[DMP_CFG_STR_MAX * DMP_CFG_LIST_MAX], *save,
			    *tok;

			snprintf(tmp, sizeof(tmp), "%s", d);
			for (tok = strtok_r(tmp, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (store(&schema[i], out, tok, why,
					  sizeof(why))) {
					return DMP_ECONFIG;
				}
			}
		} else if (store(&schema[i], out, d, why, sizeof(why))) {
			return DMP_ECONFIG;
		}
	}
	return 0;
}

int dmp_config_set(const struct dmp_cfg_item *schema, size_t n, void *out,
		   const char *section_key, const char *value, int append,
		   char *err, size_t errlen)
{
	char sec[64];
	const char *dot = strchr(section_key, '.');
	const struct dmp_cfg_item *it;
	const char *e;
	char why[160];

	if (!dot || (size_t)(dot - section_key) >= sizeof(sec)) {
		seterr(err, errlen, "%s: not section.key", section_key);
		return DMP_ECONFIG;
	}
	memcpy(sec, section_key, (size_t)(dot - section_key));
	sec[dot - section_key] = '\0';
	it = find(schema, n, sec, dot + 1);
	if (!it) {
		seterr(err, errlen, "%s: unknown setting", section_key);
		return DMP_ECONFIG;
	}
	if (it->type == DMP_CFG_LIST && !append) {
		reset(it, out);
	}
	e = store(it, out, value, why, sizeof(why));
	if (e) {
		seterr(err, errlen, "%s: %s", section_key, e);
		return DMP_ECONFIG;
	}
	return 0;
}

struct yp {
	yaml_parser_t p;
	yaml_event_t ev;
	int have;
	const char *path;
	char *err;
	size_t errlen;
};

static int next(struct yp *y)
{
	if (y->have) {
		yaml_event_delete(&y->ev);
		y->have = 0;
	}
	if (!yaml_parser_parse(&y->p, &y->ev)) {
		const char *pr = y->p.problem ? y->p.problem : "YAML error";

		/* libyaml names the symptom; the usual cause is indentation. */
		seterr(y->err, y->errlen, "%s:%zu:%zu: %s%s", y->path,
		       y->p.problem_mark.line + 1, y->p.problem_mark.column + 1,
		       pr,
		       strstr(pr, "tab") ? " (indent with spaces, not tabs)"
		       : strstr(pr, "mapping values") ||
			       strstr(pr, "expected ':'") ||
			       strstr(pr, "expected <block end>")
			   ? " (check this line's indentation: the keys of a "
			     "section line up under each other, two spaces "
			     "in from the section name)"
			   : "");
		return DMP_ECONFIG;
	}
	y->have = 1;
	return 0;
}

static int fail_at(struct yp *y, const char *msg, const char *what)
{
	seterr(y->err, y->errlen, "%s:%zu:%zu: %s%s%s%s", y->path,
	       y->ev.start_mark.line + 1, y->ev.start_mark.column + 1, msg,
	       what ? " '" : "", what ? what : "", what ? "'" : "");
	return DMP_ECONFIG;
}

static int fail_val(struct yp *y, const char *key, const char *msg)
{
	char more[160] = "";

	/* A plain value that runs over several lines is almost always the
	 * next key indented too far: YAML folds it into this value. */
	if (y->ev.type == YAML_SCALAR_EVENT &&
	    y->ev.end_mark.line > y->ev.start_mark.line) {
		snprintf(more, sizeof(more),
			 "; the value runs on to line %zu: is that line "
			 "indented further than this key? Keys of a section "
			 "line up",
			 y->ev.end_mark.line + 1);
	}
	seterr(y->err, y->errlen, "%s:%zu:%zu: %s: %s%s", y->path,
	       y->ev.start_mark.line + 1, y->ev.start_mark.column + 1, key, msg,
	       more);
	return DMP_ECONFIG;
}

static int section_body(struct yp *y, const struct dmp_cfg_item *schema,
			size_t n, void *out, const char *section)
{
	int rc;

	if (y->ev.type == YAML_SCALAR_EVENT && y->ev.data.scalar.length == 0) {
		return 0; /* "mesh:" with nothing under it */
	}
	if (y->ev.type != YAML_MAPPING_START_EVENT) {
		return fail_at(y, "expected a mapping under", section);
	}
	for (;;) {
		char key[128], why[160];
		const struct dmp_cfg_item *it;

		if ((rc = next(y)) < 0) {
			return rc;
		}
		if (y->ev.type == YAML_MAPPING_END_EVENT) {
			return 0;
		}
		if (y->ev.type != YAML_SCALAR_EVENT) {
			return fail_at(y, "expected a key", NULL);
		}
		snprintf(key, sizeof(key), "%s",
			 (const char *)y->ev.data.scalar.value);
		it = find(schema, n, section, key);
		if (!it) {
			return fail_at(y, "unknown key", key);
		}
		if ((rc = next(y)) < 0) {
			return rc;
		}
		if (y->ev.type == YAML_SEQUENCE_START_EVENT) {
			if (it->type != DMP_CFG_LIST) {
				return fail_val(y, key, "not a list");
			}
			reset(it, out);
			for (;;) {
				const char *e;

				if ((rc = next(y)) < 0) {
					return rc;
				}
				if (y->ev.type == YAML_SEQUENCE_END_EVENT) {
					break;
				}
				if (y->ev.type != YAML_SCALAR_EVENT) {
					return fail_at(y, "expected a scalar",
						       NULL);
				}
				e = store(it, out,
					  (const char *)y->ev.data.scalar.value,
					  why, sizeof(why));
				if (e) {
					return fail_val(y, key, e);
				}
			}
		} else if (y->ev.type == YAML_SCALAR_EVENT) {
			const char *e;

			if (it->type == DMP_CFG_LIST) {
				reset(it, out);
			}
			e = store(it, out,
				  (const char *)y->ev.data.scalar.value, why,
				  sizeof(why));
			if (e) {
				return fail_val(y, key, e);
			}
		} else {
			return fail_at(y, "expected a value for", key);
		}
	}
}

int dmp_config_load(const struct dmp_cfg_item *schema, size_t n, void *out,
		    const char *path, char *err, size_t errlen)
{
	struct yp y;
	FILE *f = fopen(path, "rb");
	int rc, depth_ok = 0;

	if (!f) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return DMP_ENOENT;
	}
	memset(&y, 0, sizeof(y));
	y.path = path;
	y.err = err;
	y.errlen = errlen;
	if (!yaml_parser_initialize(&y.p)) {
		fclose(f);
		return DMP_ENOMEM;
	}
	yaml_parser_set_input_file(&y.p, f);
	for (;;) {
		if ((rc = next(&y)) < 0) {
			goto out;
		}
		switch (y.ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT: continue;
		case YAML_STREAM_END_EVENT: rc = 0; goto out;
		case YAML_MAPPING_START_EVENT:
			if (depth_ok) {
				rc = fail_at(&y, "unexpected mapping", NULL);
				goto out;
			}
			depth_ok = 1;
			for (;;) {
				char section[64];

				if ((rc = next(&y)) < 0) {
					goto out;
				}
				if (y.ev.type == YAML_MAPPING_END_EVENT) {
					break;
				}
				if (y.ev.type != YAML_SCALAR_EVENT) {
					rc = fail_at(&y, "expected a section",
						     NULL);
					goto out;
				}
				snprintf(section, sizeof(section), "%s",
					 (const char *)y.ev.data.scalar.value);
				if (!find(schema, n, section, NULL)) {
					rc = fail_at(&y, "unknown section",
						     section);
					goto out;
				}
				if ((rc = next(&y)) < 0) {
					goto out;
				}
				rc = section_body(&y, schema, n, out, section);
				if (rc < 0) {
					goto out;
				}
			}
			continue;
		case YAML_SCALAR_EVENT:
			if (y.ev.data.scalar.length == 0) {
				continue; /* empty document */
			}
			rc =
			    fail_at(&y, "expected a mapping of sections", NULL);
			goto out;
		default:
			rc =
			    fail_at(&y, "expected a mapping of sections", NULL);
			goto out;
		}
	}
out:
	if (y.have) {
		yaml_event_delete(&y.ev);
	}
	yaml_parser_delete(&y.p);
	fclose(f);
	return rc;
}
