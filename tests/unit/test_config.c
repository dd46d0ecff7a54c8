/* tests/unit/test_config.c - the schema-driven YAML loader (config.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmp/config.h"
#include "dmp/err.h"
#include "tap.h"

struct conf {
	char name[16];
	long long port;
	int on;
	struct dmp_cfg_list peers;
	char other[32];
};

static const struct dmp_cfg_item schema[] = {
    {"a", "name", DMP_CFG_STR, offsetof(struct conf, name), 16, 0, 0, "dflt"},
    {"a", "port", DMP_CFG_INT, offsetof(struct conf, port), 0, 1, 65535, "53"},
    {"a", "on", DMP_CFG_BOOL, offsetof(struct conf, on), 0, 0, 0, "yes"},
    {"b", "peers", DMP_CFG_LIST, offsetof(struct conf, peers), 0, 0, 0, "x,y"},
    {"c", "other", DMP_CFG_STR, offsetof(struct conf, other), 32, 0, 0, NULL},
};

static char path[64];

static int load(struct conf *c, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		return -999;
	}
	fputs(text, f);
	fclose(f);
	if (dmp_config_defaults(schema, DMP_ARRAY_LEN(schema), c) != 0) {
		return -998;
	}
	err[0] = '\0';
	return dmp_config_load(schema, DMP_ARRAY_LEN(schema), c, path, err,
			       errlen);
}

int main(void)
{
	struct conf c;
	char err[256], want[300];
	static const struct {
		const char *text, *where, *what;
	} bad[] = {
	    {"a:\n  nmae: x\n", "2:3", "unknown key 'nmae'"},
	    {"zz:\n  name: x\n", "1:1", "unknown section 'zz'"},
	    {"a:\n  port: 0\n", "2:9",
	     "port: out of range: 0 (allowed 1..65535)"},
	    {"a:\n  port: 65536\n", "2:9",
	     "port: out of range: 65536 (allowed 1..65535)"},
	    {"a:\n  port: 5x\n", "2:9",
	     "port: not an integer: '5x' (allowed 1..65535)"},
	    {"a:\n  port: +5\n", "2:9",
	     "port: not an integer: '+5' (allowed 1..65535)"},
	    {"a:\n  port: 99999999999999999999\n", "2:9",
	     "port: out of range: 99999999999999999999 (allowed 1..65535)"},
	    {"a:\n  on: maybe\n", "2:7",
	     "on: not a boolean: 'maybe' (true or false)"},
	    /* Issue 14: an indentation slip folds the next key into the
	     * value; the message names the line and the likely cause. */
	    {"a:\n  port: 53\n    name: x\n", "", "indented further"},
	    {"a:\n  port: 53\n   name x\n", "2:9",
	     "port: not an integer: '53 name x' (allowed 1..65535); the "
	     "value runs on to line 3: is that line indented further than "
	     "this key? Keys of a section line up"},
	    {"a:\n  name: [x]\n", "2:9", "name: not a list"},
	    {"a:\n  name: 0123456789abcdef\n", "2:9",
	     "name: string too long (at most 15 bytes)"},
	    {"a: 5\n", "1:4", "expected a mapping under 'a'"},
	    {"- a\n", "1:1", "expected a mapping of sections"},
	    {"a:\n  name: [\n", "", ""},
	    {"b:\n  peers: [1,2,3,4,5,6,7,8,9]\n", "2:27",
	     "peers: too many list items (at most 8)"},
	};

	plan(54);
	snprintf(path, sizeof(path), "/tmp/test_config_%d.yaml", (int)getpid());

	is_int(load(&c, "", err, sizeof(err)), 0, "empty file");
	is_str(c.name, "dflt", "default string");
	is_int(c.port, 53, "default int");
	is_int(c.on, 1, "default bool");
	ok(c.peers.n == 2 && strcmp(c.peers.v[1], "y") == 0, "default list");

	is_int(load(&c,
		    "# comment\na:\n  name: node1\n  port: 5353\n  on: off\n"
		    "b:\n  peers:\n    - p1\n    - p2\n    - p3\nc:\n",
		    err, sizeof(err)),
	       0, "full file: %s", err);
	is_str(c.name, "node1", "string");
	is_int(c.port, 5353, "int");
	is_int(c.on, 0, "bool");
	ok(c.peers.n == 3 && strcmp(c.peers.v[2], "p3") == 0,
	   "list replaced the default");
	is_int(load(&c, "b:\n  peers: solo\n", err, sizeof(err)), 0,
	       "scalar for a list");
	ok(c.peers.n == 1 && strcmp(c.peers.v[0], "solo") == 0,
	   "one-element list");

	for (size_t i = 0; i < DMP_ARRAY_LEN(bad); i++) {
		int rc = load(&c, bad[i].text, err, sizeof(err));

		is_int(rc, DMP_ECONFIG, "bad %zu rejected", i);
		if (bad[i].where[0]) {
			snprintf(want, sizeof(want), "%s:%s: %s", path,
				 bad[i].where, bad[i].what);
			is_str(err, want, "bad %zu: message", i);
		} else {
			ok(strncmp(err, path, strlen(path)) == 0 &&
			       strstr(err, bad[i].what),
			   "bad %zu: syntax error located: %s", i, err);
		}
	}

	/* Flags override the file. */
	is_int(load(&c, "a:\n  port: 5353\n", err, sizeof(err)), 0, "file");
	is_int(dmp_config_set(schema, DMP_ARRAY_LEN(schema), &c, "a.port",
			      "5300", 0, err, sizeof(err)),
	       0, "flag");
	is_int(c.port, 5300, "flag wins");
	is_int(dmp_config_set(schema, DMP_ARRAY_LEN(schema), &c, "b.peers",
			      "q1", 0, err, sizeof(err)),
	       0, "list flag replaces");
	is_int(dmp_config_set(schema, DMP_ARRAY_LEN(schema), &c, "b.peers",
			      "q2", 1, err, sizeof(err)),
	       0, "list flag appends");
	ok(c.peers.n == 2 && strcmp(c.peers.v[1], "q2") == 0, "q1,q2");
	is_int(dmp_config_set(schema, DMP_ARRAY_LEN(schema), &c, "a.nope", "1",
			      0, err, sizeof(err)),
	       DMP_ECONFIG, "unknown flag");
	is_int(dmp_config_set(schema, DMP_ARRAY_LEN(schema), &c, "noport", "1",
			      0, err, sizeof(err)),
	       DMP_ECONFIG, "flag without a section");
	is_int(dmp_config_set(schema, DMP_ARRAY_LEN(schema), &c, "a.port", "-1",
			      0, err, sizeof(err)),
	       DMP_ECONFIG, "flag out of range");
	unlink(path);
	is_int(dmp_config_load(schema, DMP_ARRAY_LEN(schema), &c, path, err,
			       sizeof(err)),
	       DMP_ENOENT, "missing file");
	return done_testing();
}
