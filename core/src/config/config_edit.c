/*
 * core/src/config/config_edit.c - dmp_config_edit(): one setting of a
 * YAML config file changed in place, line by line (config.h).
 *
 * Written by hand rather than through libyaml's emitter: an emitter
 * regenerates the whole document and loses the user's comments, blank
 * lines and layout, which `dmp config set` must keep. The files this
 * edits are the two-level "section:\n  key: value" mappings config.c
 * loads; anything else (a flow-style section, tabs) is refused, never
 * guessed at. The result is loaded again by the caller before it is
 * written, so a mis-edit cannot reach the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/config.h"
#include "dmp/err.h"

struct line {
	const char *p; /* start */
	size_t len;    /* without the '\n' */
	size_t indent; /* leading spaces */
	int blank;     /* empty, or only a comment, or a document marker */
};

/* Split @p text into lines. @return the count, or -1 (a tab in the
 * indentation, or no memory) */
static long split(const char *text, struct line **out)
{
	size_t cap = 16, n = 0;
	struct line *v = malloc(cap * sizeof(*v));
	const char *p = text;

	while (v && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p), i = 0;
		struct line *l;

		if (n == cap) {
			struct line *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv) {
				break;
			}
			v = nv;
			cap *= 2;
		}
		l = &v[n++];
		while (i < len && p[i] == ' ') {
			i++;
		}
		l->p = p;
		l->len = len;
		l->indent = i;
		l->blank = i == len || p[i] == '#' || p[i] == '\r' ||
			   (i == 0 && len >= 3 &&
			    (!strncmp(p, "---", 3) || !strncmp(p, "...", 3)));
		if (i < len && p[i] == '\t') {
			free(v);
			return -1;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (!v || *p) {
		free(v);
		return -1;
	}
	*out = v;
	return (long)n;
}

/* If line @p l (after its indent) is "NAME:" followed by a space, a
 * comment or the end, the offset just past the ':'; else 0. */
static size_t is_key(const struct line *l, const char *name)
{
	size_t nl = strlen(name), at = l->indent;

	if (l->blank || l->len < at + nl + 1 ||
	    memcmp(l->p + at, name, nl) != 0 || l->p[at + nl] != ':') {
		return 0;
	}
	at += nl + 1;
	if (at < l->len && l->p[at] != ' ' && l->p[at] != '\r') {
		return 0;
	}
	return at;
}

/* Where a trailing " # comment" starts in @p l after @p from (quotes
 * respected), or l->len. */
static size_t comment_at(const struct line *l, size_t from)
{
	char q = 0;

	for (size_t i = from; i < l->len; i++) {
		char c = l->p[i];

		if (q) {
			if (c == '\\' && q == '"' && i + 1 < l->len) {
				i++;
			} else if (c == q) {
				q = 0;
			}
		} else if (c == '"' || c == '\'') {
			q = c;
		} else if (c == '#' && l->p[i - 1] == ' ') {
			size_t s = i;

			while (s > from && l->p[s - 1] == ' ') {
				s--;
			}
			return s;
		}
	}
	return l->len;
}

static void put(FILE *f, const struct line *l)
{
	fwrite(l->p, 1, l->len, f);
	fputc('\n', f);
}

int dmp_config_edit(const char *text, const char *section, const char *key,
		    const char *yaml_value, char **out)
{
	struct line *v = NULL;
	long n = split(text, &v);
	long sec = -1, end, k = -1, kend = -1, last;
	size_t kind = 2, colon = 0, sz = 0;
	char *buf = NULL;
	FILE *f;
	int rc = 0;

	*out = NULL;
	if (n < 0) {
		return DMP_ECONFIG;
	}
	for (long i = 0; i < n && sec < 0; i++) {
		size_t c = v[i].indent == 0 ? is_key(&v[i], section) : 0;

		if (c && comment_at(&v[i], c) != c &&
		    v[i].p[c + strspn(v[i].p + c, " ")] != '#') {
			free(v);
			return DMP_ECONFIG; /* "section: {...}": flow style */
		}
		sec = c ? i : -1;
	}
	/* The section runs to the next line at indent 0. */
	end = sec < 0 ? n : sec + 1;
	while (sec >= 0 && end < n && (v[end].blank || v[end].indent > 0)) {
		end++;
	}
	last = sec;
	for (long i = sec + 1; sec >= 0 && i < end; i++) {
		if (v[i].blank) {
			continue;
		}
		if (last == sec) {
			kind = v[i].indent; /* the section's key indent */
		}
		last = i;
		if (k < 0 && v[i].indent == kind &&
		    (colon = is_key(&v[i], key)) != 0) {
			k = i;
		}
	}
	if (k >= 0) { /* the key's own lines: it and a block sequence */
		kend = k + 1;
		for (long i = k + 1; i < end; i++) {
			const struct line *l = &v[i];

			if (l->blank) {
				continue;
			}
			if (l->indent > kind ||
			    (l->indent == kind && l->p[l->indent] == '-')) {
				kend = i + 1;
			} else {
				break;
			}
		}
	}
	if (k < 0 && !yaml_value) {
		free(v);
		return DMP_ENOENT;
	}
	f = open_memstream(&buf, &sz);
	if (!f) {
		free(v);
		return DMP_ENOMEM;
	}
	for (long i = 0; i < n; i++) {
		if (i == k && yaml_value) {
			size_t c = comment_at(&v[i], colon);

			fprintf(f, "%.*s %s%.*s\n", (int)colon, v[i].p,
				yaml_value, (int)(v[i].len - c), v[i].p + c);
		} else if (i < k || i >= kend) {
			put(f, &v[i]);
		}
		if (i == last && k < 0 && sec >= 0) {
			fprintf(f, "%*s%s: %s\n", (int)kind, "", key,
				yaml_value);
		}
	}
	if (sec < 0) {
		fprintf(f, "%s:\n  %s: %s\n", section, key, yaml_value);
	}
	if (fclose(f) != 0) {
		free(buf);
		buf = NULL;
		rc = DMP_ENOMEM;
	}
	free(v);
	*out = buf;
	return rc;
}
