/* core/src/base/alias.c - what a contact alias may be (dmp/alias.h). */
#include <string.h>

#include "dmp/alias.h"
#include "dmp/text.h"

int dmp_scratch_name(const char *name)
{
	size_t n = strlen(name);

	/* vim: .name.swp/.swx, name~, 4913 (its write test); emacs: #name#,
	 * name~; many tools: name.tmp, dotfiles. */
	if (n == 0 || name[0] == '.' || name[n - 1] == '~' ||
	    strcmp(name, "4913") == 0 ||
	    (name[0] == '#' && name[n - 1] == '#')) {
		return 1;
	}
	return n > 4 && (strcmp(name + n - 4, ".swp") == 0 ||
			 strcmp(name + n - 4, ".swx") == 0 ||
			 strcmp(name + n - 4, ".tmp") == 0);
}

const char *dmp_alias_problem(const char *alias)
{
	size_t n = alias ? strlen(alias) : 0;

	if (n == 0) {
		return "is empty";
	}
	if (n > DMP_ALIAS_MAX) {
		return "is longer than 64 bytes";
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)alias[i];

		if (c == '/') {
			return "contains '/' (it names a file in contacts/ "
			       "and outbox/)";
		}
		if (c < 0x20 || c == 0x7f) {
			return "contains a control character";
		}
	}
	if (!dmp_utf8_valid((const unsigned char *)alias, n)) {
		return "is not valid UTF-8";
	}
	if (strcmp(alias, ".") == 0 || strcmp(alias, "..") == 0) {
		return "is '.' or '..'";
	}
	if (alias[0] == '.') {
		return "starts with '.' (a hidden file, which dmpfs never "
		       "sends)";
	}
	if (dmp_scratch_name(alias)) {
		return "looks like an editor scratch file (*~, *.swp, *.swx, "
		       "*.tmp, 4913, #...#), which dmpfs never sends";
	}
	return NULL;
}
