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

static const char out_of_range[] = "out of range";

/* @p e, or for out_of_range the text with the item's range in @p buf. */
static const char *explain(const struct dmp_cfg_item *it, const char *e,
			   char *buf, size_t cap)
{
	if (e != out_of_range) {
		return e;
	}
	snprintf(buf, cap, "%s (%lld..%lld)", e, it->min, it->max);
	return buf;
}

/* Store one scalar; for lists, append. @return NULL or an error text. */
static const char *store(const struct dmp_cfg_item *it, void *out,
			 const char *v)
{
	char *base = (char *)out + it->offset;

	switch (it->type) {
	case DMP_CFG_STR:
		if (strlen(v) >= it->size) {
			return "string too long";
		}
		memcpy(base, v, strlen(v) + 1);
		return NULL;
	case DMP_CFG_INT: {
		char *end;
		long long x;

		errno = 0;
		x = strtoll(v, &end, 10);
		if (!*v || *end || errno) {
			return "not an integer";
		}
		if (x < it->min || x > it->max) {
			return out_of_range;
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
		return "not a boolean";
	}
	case DMP_CFG_LIST: {
		struct dmp_cfg_list *l = (struct dmp_cfg_list *)(void *)base;

		if (l->n >= DMP_CFG_LIST_MAX) {
			return "too many list items";
		}
		if (strlen(v) >= DMP_CFG_STR_MAX) {
			return "string too long";
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
				if (store(&schema[i], out, tok)) {
					return DMP_ECONFIG;
				}
			}
		} else if (store(&schema[i], out, d)) {
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
	e = store(it, out, value);
	if (e) {
		char rb[96];

		seterr(err, errlen, "%s: %s", section_key,
		       explain(it, e, rb, sizeof(rb)));
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
		seterr(y->err, y->errlen, "%s:%zu:%zu: %s", y->path,
		       y->p.problem_mark.line + 1, y->p.problem_mark.column + 1,
		       y->p.problem ? y->p.problem : "YAML error");
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
	seterr(y->err, y->errlen, "%s:%zu:%zu: %s: %s", y->path,
	       y->ev.start_mark.line + 1, y->ev.start_mark.column + 1, key,
	       msg);
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
		char key[128], rb[96];
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
				e = store(
				    it, out,
				    (const char *)y->ev.data.scalar.value);
				if (e) {
					return fail_val(
					    y, key,
					    explain(it, e, rb, sizeof(rb)));
				}
			}
		} else if (y->ev.type == YAML_SCALAR_EVENT) {
			const char *e;

			if (it->type == DMP_CFG_LIST) {
				reset(it, out);
			}
			e = store(it, out,
				  (const char *)y->ev.data.scalar.value);
			if (e) {
				return fail_val(y, key,
						explain(it, e, rb, sizeof(rb)));
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
