/*
 * core/include/dmp/alias.h - the rules for a contact's alias, in one place
 * (the CLI, the engine and dmpfs all ask here).
 *
 * An alias is a file name in dmpfs (contacts/<alias>, outbox/<alias>), so
 * it must be one: no '/', no NUL or control character, not "." or "..".
 * It must also not be a name dmpfs treats as an editor's scratch file
 * (never sent): a leading '.', a trailing '~', "*.swp", "*.swx", "*.tmp",
 * "4913" or "#...#". dmp_scratch_name() is that list, the one dmpfs uses.
 */
#ifndef DMP_ALIAS_H
#define DMP_ALIAS_H

/* Longest alias in bytes (the store's column holds 64 + NUL). */
#define DMP_ALIAS_MAX 64

/**
 * Why @p alias cannot be an alias, as text naming the rule (for example
 * "contains '/'"), or NULL if it is fine. The text is static.
 */
const char *dmp_alias_problem(const char *alias);

/**
 * 1 if @p name is an editor's scratch file as dmpfs sees it in outbox/
 * (empty, dotfiles, "*~", "4913", "#*#", "*.swp", "*.swx", "*.tmp"); else 0.
 */
int dmp_scratch_name(const char *name);

#endif /* DMP_ALIAS_H */
