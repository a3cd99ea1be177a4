/* Which paths a git repository tracks, read from its index file
 * ($GIT_DIR/index, gitformat-index(5)) without running git. A masked file
 * reads as empty inside the sandbox, so a tracked one would be committed
 * as empty by `git commit -a`; the plan builder warns about those.
 *
 * The index is untrusted: the agent in an earlier sandbox, or whoever
 * invokes cordon, can write it. The parser is pure (the caller hands it
 * the bytes; nothing here makes a system call beyond memory allocation),
 * bounds-checks every read, and refuses anything git would not write
 * rather than guess at it. It does not verify the trailing checksum (no
 * hash library), only that one is present. */
#ifndef CORDON_GITINDEX_H
#define CORDON_GITINDEX_H

#include <stdbool.h>
#include <stddef.h>

#define GIT_INDEX_MAX_ENTRIES (1u << 21) /* 2097152; an index this large is at least 128 MiB */
#define GIT_INDEX_MAX_PATH    4096       /* bytes in one path, without the NUL */
#define GIT_INDEX_MAX_HASH    32         /* SHA-256 */

struct git_index {
	/* Every entry's path, as stored (relative to the work tree, '/'
	 * separated), in index order; NULL-terminated, so paths[n] == NULL.
	 * Each is non-empty, at most GIT_INDEX_MAX_PATH bytes, has no leading
	 * slash and no empty, "." or ".." component. A path may repeat
	 * (unmerged entries, one per stage). Entries of a split index that
	 * replace an entry of the shared index may be stored without a name;
	 * those are left out here (their names are in the shared index). */
	char **paths;
	size_t n;
	/* The index has a "link" extension: entries live partly in a shared
	 * index file, $GIT_DIR/sharedindex.<shared_index>, which is itself an
	 * index this parser reads. shared_index is that name's hex hash, ""
	 * when not split or when the link names no shared index. */
	bool split;
	char shared_index[2 * GIT_INDEX_MAX_HASH + 1];
	/* Has sparse-directory entries: a path ending in '/' (mode 040000)
	 * stands for a whole tracked directory; or the "sdir" extension. */
	bool sparse;
};

/* Parses an index of version 2, 3 or 4 whose object names are hash_len
 * bytes (20 for SHA-1, 32 for SHA-256; the repository's
 * extensions.objectFormat says which). Returns false with a static reason
 * in *why on malformed input; out is then empty (and needs no free).
 * Limits: at most GIT_INDEX_MAX_ENTRIES entries, paths at most
 * GIT_INDEX_MAX_PATH bytes, no NUL inside a path. */
bool git_index_parse(const void *data, size_t len, size_t hash_len, struct git_index *out, const char **why);

/* Frees what git_index_parse filled in and empties idx; safe on an empty
 * or already freed index. */
void git_index_free(struct git_index *idx);

/* True when path (relative to the work tree; no leading slash, trailing
 * slashes ignored) is an entry, a directory some entry lies beneath, or
 * lies beneath a sparse-directory entry. "a" does not cover "ab/x"; ""
 * (the work tree itself) is covered when there is any entry. */
bool git_index_covers(const struct git_index *idx, const char *path);

#endif
