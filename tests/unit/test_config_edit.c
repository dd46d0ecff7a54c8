/* tests/unit/test_config_edit.c - `dmp config`'s line editor and value
 * checks (config.h: dmp_config_edit, dmp_config_yaml_value,
 * dmp_config_format). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/config.h"
#include "dmp/err.h"
#include "tap.h"

struct conf {
	long long lifetime, max_lifetime;
	int on;
	struct dmp_cfg_list nodes;
	char name[16];
};

static const struct dmp_cfg_item schema[] = {
    {"messages", "lifetime", DMP_CFG_INT, offsetof(struct conf, lifetime), 0,
     60, 2592000, "604800"},
    {"messages", "max_lifetime", DMP_CFG_INT,
     offsetof(struct conf, max_lifetime), 0, 60, 2592000, "604800"},
    {"messages", "receipts", DMP_CFG_BOOL, offsetof(struct conf, on), 0, 0, 0,
     "false"},
    {"network", "nodes", DMP_CFG_LIST, offsetof(struct conf, nodes), 0, 0, 0,
     NULL},
    {"identity", "username", DMP_CFG_STR, offsetof(struct conf, name), 16, 0, 0,
     NULL},
};

static void edit(const char *in, const char *sec, const char *key,
		 const char *val, const char *want, const char *what)
{
	char *out = NULL;
	int rc = dmp_config_edit(in, sec, key, val, &out);

	is_int(rc, 0, "%s: edited", what);
	is_str(out ? out : "(null)", want, "%s: text", what);
	free(out);
}

static void value(const char *key, const char *in, int want_rc,
		  const char *want, const char *what)
{
	char yaml[256], err[256] = "";
	int rc = dmp_config_yaml_value(schema, DMP_ARRAY_LEN(schema), key, in,
				       yaml, sizeof(yaml), err, sizeof(err));

	is_int(rc, want_rc, "%s: rc", what);
	if (rc == 0) {
		is_str(yaml, want, "%s: rendered", what);
	} else {
		ok(strstr(err, want) != NULL, "%s: error says '%s' (%s)", what,
		   want, err);
	}
}

int main(void)
{
	static const char base[] = "# my config\n"
				   "identity:\n"
				   "  username: \"alice\"   # me\n"
				   "\n"
				   "messages:\n"
				   "  # how long\n"
				   "  max_lifetime: 604800\n"
				   "  lifetime: 3600 # an hour\n"
				   "network:\n"
				   "  nodes:\n"
				   "    - \"a:53\"\n"
				   "    - \"b:53\"\n"
				   "  # trailing comment\n";
	char *out = NULL, buf[128];
	struct conf c;

	plan(43);

	edit(base, "messages", "lifetime", "7200",
	     "# my config\nidentity:\n  username: \"alice\"   # me\n\n"
	     "messages:\n  # how long\n  max_lifetime: 604800\n"
	     "  lifetime: 7200 # an hour\nnetwork:\n  nodes:\n"
	     "    - \"a:53\"\n    - \"b:53\"\n  # trailing comment\n",
	     "a key's line: value replaced, comments kept, max_lifetime "
	     "untouched");
	edit(base, "messages", "receipts", "true",
	     "# my config\nidentity:\n  username: \"alice\"   # me\n\n"
	     "messages:\n  # how long\n  max_lifetime: 604800\n"
	     "  lifetime: 3600 # an hour\n  receipts: true\nnetwork:\n"
	     "  nodes:\n    - \"a:53\"\n    - \"b:53\"\n"
	     "  # trailing comment\n",
	     "a missing key goes at the end of its section");
	edit(base, "network", "nodes", "[\"c:53\"]",
	     "# my config\nidentity:\n  username: \"alice\"   # me\n\n"
	     "messages:\n  # how long\n  max_lifetime: 604800\n"
	     "  lifetime: 3600 # an hour\nnetwork:\n  nodes: [\"c:53\"]\n"
	     "  # trailing comment\n",
	     "a block sequence is replaced as a whole");
	edit(base, "discovery", "interval", "60",
	     "# my config\nidentity:\n  username: \"alice\"   # me\n\n"
	     "messages:\n  # how long\n  max_lifetime: 604800\n"
	     "  lifetime: 3600 # an hour\nnetwork:\n  nodes:\n"
	     "    - \"a:53\"\n    - \"b:53\"\n  # trailing comment\n"
	     "discovery:\n  interval: 60\n",
	     "a missing section is added at the end");
	edit(base, "messages", "lifetime", NULL,
	     "# my config\nidentity:\n  username: \"alice\"   # me\n\n"
	     "messages:\n  # how long\n  max_lifetime: 604800\nnetwork:\n"
	     "  nodes:\n    - \"a:53\"\n    - \"b:53\"\n"
	     "  # trailing comment\n",
	     "unset removes the one line");
	edit("identity:\n  username: \"a # b\"  # c\n", "identity", "username",
	     "\"x\"", "identity:\n  username: \"x\"  # c\n",
	     "a # inside quotes is not a comment");
	edit("a:\n    k: 1\nb:\n    k: 2\n", "b", "k", "3",
	     "a:\n    k: 1\nb:\n    k: 3\n",
	     "the same key in another section is left alone; indent kept");
	edit("a:\n    k: 1\n", "a", "j", "2", "a:\n    k: 1\n    j: 2\n",
	     "an inserted key takes the section's indent");
	edit("m:\n  x: 1", "m", "y", "2", "m:\n  x: 1\n  y: 2\n",
	     "a file without a final newline");
	edit("m:\n  lifetime_x: 1\n", "m", "lifetime", "5",
	     "m:\n  lifetime_x: 1\n  lifetime: 5\n",
	     "a key that is a prefix of another is not matched by it");

	is_int(dmp_config_edit(base, "messages", "receipts", NULL, &out),
	       DMP_ENOENT, "unset of a key not in the file: ENOENT");
	ok(out == NULL, "...and no text");
	is_int(dmp_config_edit("messages: {lifetime: 5}\n", "messages",
			       "lifetime", "6", &out),
	       DMP_ECONFIG, "a flow-style section is refused");
	is_int(dmp_config_edit("messages:\n\tlifetime: 5\n", "messages",
			       "lifetime", "6", &out),
	       DMP_ECONFIG, "a tab in the indentation is refused");

	value("messages.lifetime", "3600", 0, "3600", "an integer");
	value("messages.lifetime", "59", DMP_ECONFIG, "allowed 60..2592000",
	      "below the range");
	value("messages.lifetime", "1h", DMP_ECONFIG, "not an integer",
	      "not a number");
	value("messages.receipts", "yes", 0, "true", "a boolean");
	value("messages.receipts", "maybe", DMP_ECONFIG, "true or false",
	      "not a boolean");
	value("network.nodes", "a:53, b\"c", 0, "[\"a:53\", \"b\\\"c\"]",
	      "a list, quoted");
	value("identity.username", "0123456789abcdefg", DMP_ECONFIG,
	      "at most 15 bytes", "a string too long");
	value("identity.username", "a\nb", DMP_ECONFIG, "control characters",
	      "a control byte");
	value("messages.nope", "1", DMP_ECONFIG, "unknown setting",
	      "an unknown key");

	memset(&c, 0, sizeof(c));
	c.nodes.n = 2;
	strcpy(c.nodes.v[0], "a");
	strcpy(c.nodes.v[1], "b");
	dmp_config_format(&schema[3], &c, buf, sizeof(buf));
	is_str(buf, "a,b", "a list formatted comma-separated");
	return done_testing();
}
