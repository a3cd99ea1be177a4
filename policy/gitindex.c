/* A strict reader of git's index file (gitformat-index(5)), for the list
 * of tracked paths only. The bytes are untrusted: every read is checked
 * against the end of the entry area (the checksum is never read as an
 * entry), every length is bounded by a small constant before any
 * arithmetic on it, and the entry count is checked against the bytes that
 * could hold it before anything is allocated. */
#include <stdint.h>
#include <string.h>

#include "gitindex.h"
#include "util.h"

#define HEADER_SIZE 12 /* "DIRC", version, entry count */
/* ctime and mtime (seconds, nanoseconds), dev, ino, mode, uid, gid, size:
 * ten 32-bit fields before the object name. */
#define STAT_SIZE   40
#define MODE_OFFSET 24

#define FLAG_EXTENDED 0x4000 /* a second 16-bit flags field follows (version 3 and later) */
#define NAME_MASK     0x0fff /* name length, or 0xfff for "at least 0xfff" */
/* The only extended flags git defines: skip-worktree and intent-to-add.
 * Git itself refuses an entry with any other bit set. */
#define EXTENDED_KNOWN 0x6000

#define S_TYPE_MASK 0170000
#define S_TYPE_DIR  0040000 /* a sparse-directory entry */

static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Git's offset varint (as for OFS_DELTA in pack-format): 7 bits a byte,
 * most significant first, each continuation byte adding one so that every
 * value has exactly one encoding. A value above max is refused as soon as
 * it exceeds it, which also keeps the shifts from overflowing. */
static bool read_varint(const unsigned char *p, size_t end, size_t *pos, size_t max, size_t *val)
{
	size_t i = *pos;
	if (i >= end)
		return false;
	unsigned char c = p[i++];
	size_t v = c & 127;
	while (c & 128) {
		v += 1;
		if (v > max || i >= end)
			return false;
		c = p[i++];
		v = (v << 7) + (c & 127);
	}
	if (v > max)
		return false;
	*pos = i;
	*val = v;
	return true;
}

/* Git writes neither of these (verify_path refuses them), so an index
 * holding one was not written by git. A path ending in '/' is a sparse
 * directory, which git marks with a directory mode as well. */
static bool check_path(const char *path, size_t n, uint32_t mode, const char **why)
{
	bool dir_mode = (mode & S_TYPE_MASK) == S_TYPE_DIR;
	bool slash = n > 0 && path[n - 1] == '/';
	if (slash && !dir_mode)
		return fail(why, "an index path ends in '/' but is not a sparse directory entry");
	if (dir_mode && !slash)
		return fail(why, "a sparse directory entry's path does not end in '/'");
	if (n == 0)
		return true;
	if (path[0] == '/')
		return fail(why, "an index path is absolute");
	size_t stop = slash ? n - 1 : n;
	for (size_t i = 0; i <= stop;) {
		const char *seg = path + i;
		const char *sep = memchr(seg, '/', stop - i);
		size_t seg_len = sep ? (size_t)(sep - seg) : stop - i;
		if (seg_len == 0)
			return fail(why, "an index path has an empty component");
		if ((seg_len == 1 && seg[0] == '.') || (seg_len == 2 && seg[0] == '.' && seg[1] == '.'))
			return fail(why, "an index path has a '.' or '..' component");
		i += seg_len + 1;
	}
	return true;
}

/* Reads the entry at *pos into path (GIT_INDEX_MAX_PATH + 1 bytes, which
 * holds the previous entry's path of *path_len bytes on entry, the base of
 * version 4's prefix compression) and moves *pos past it. */
static bool read_entry(const unsigned char *p, size_t end, size_t *pos, uint32_t version, size_t hash_len, char *path,
                       size_t *path_len, const char **why)
{
	size_t start = *pos;
	if (end - start < STAT_SIZE + hash_len + 2)
		return fail(why, "an index entry runs past the end");
	size_t off = start + STAT_SIZE + hash_len + 2;
	uint32_t mode = be32(p + start + MODE_OFFSET);
	uint16_t flags = be16(p + start + STAT_SIZE + hash_len);
	if (flags & FLAG_EXTENDED) {
		if (version < 3)
			return fail(why, "a version 2 index entry has extended flags");
		if (end - off < 2)
			return fail(why, "an index entry runs past the end");
		if (be16(p + off) & ~EXTENDED_KNOWN)
			return fail(why, "an index entry has unknown extended flags");
		off += 2;
	}

	size_t n;
	if (version == 4) {
		/* Drop strip bytes from the end of the previous path, then
		 * append a NUL-terminated suffix; no padding follows. */
		size_t strip;
		if (!read_varint(p, end, &off, GIT_INDEX_MAX_PATH, &strip))
			return fail(why, "an index entry has a malformed path prefix length");
		if (strip > *path_len)
			return fail(why, "an index entry strips more than the previous path holds");
		size_t keep = *path_len - strip;
		size_t avail = end - off;
		size_t room = GIT_INDEX_MAX_PATH - keep;
		const unsigned char *nul = memchr(p + off, 0, avail < room + 1 ? avail : room + 1);
		if (!nul)
			return fail(why,
			            avail <= room ? "an index path runs past the end" : "an index path is too long");
		size_t suffix = (size_t)(nul - (p + off));
		memcpy(path + keep, p + off, suffix);
		n = keep + suffix;
		*pos = off + suffix + 1;
	} else {
		/* The path, then 1 to 8 NULs that end the entry on a multiple
		 * of 8 bytes from its start. */
		size_t avail = end - off;
		const unsigned char *nul =
		    memchr(p + off, 0, avail < GIT_INDEX_MAX_PATH + 1 ? avail : GIT_INDEX_MAX_PATH + 1);
		if (!nul)
			return fail(why, avail <= GIT_INDEX_MAX_PATH ? "an index path runs past the end"
			                                             : "an index path is too long");
		n = (size_t)(nul - (p + off));
		size_t size = (off - start + n + 8) & ~(size_t)7;
		if (size > end - start)
			return fail(why, "an index entry's padding runs past the end");
		for (size_t i = off + n; i < start + size; i++)
			if (p[i] != 0)
				return fail(why, "an index entry's padding is not NUL");
		memcpy(path, p + off, n);
		*pos = start + size;
	}
	path[n] = '\0';
	*path_len = n;

	/* The flags hold the length (capped at 0xfff); a NUL inside the path
	 * would end it early and show here. */
	size_t field = flags & NAME_MASK;
	if (field < NAME_MASK ? n != field : n < NAME_MASK)
		return fail(why, "an index path's length does not match its entry");
	return check_path(path, n, mode, why);
}

/* Walks the extensions between the entries and the checksum. Optional
 * ones (first byte 'A' to 'Z') are skipped; of the required ones only
 * "link" (split index) and "sdir" (sparse directories) are known, and any
 * other is refused, as git refuses it. */
static bool read_extensions(const unsigned char *p, size_t pos, size_t end, size_t hash_len, struct git_index *idx,
                            const char **why)
{
	static const char hex[] = "0123456789abcdef";
	while (pos < end) {
		if (end - pos < 8)
			return fail(why, "an index extension header runs past the end");
		const unsigned char *sig = p + pos;
		uint32_t size = be32(p + pos + 4);
		if (size > end - pos - 8)
			return fail(why, "an index extension runs past the end");
		if (memcmp(sig, "link", 4) == 0) {
			if (idx->split)
				return fail(why, "the index has two link extensions");
			if (size < hash_len)
				return fail(why, "the index's link extension is too short");
			idx->split = true;
			/* All zeros: the index needs no shared index file. */
			bool zero = true;
			for (size_t i = 0; i < hash_len; i++)
				zero = zero && sig[8 + i] == 0;
			for (size_t i = 0; !zero && i < hash_len; i++) {
				idx->shared_index[2 * i] = hex[sig[8 + i] >> 4];
				idx->shared_index[2 * i + 1] = hex[sig[8 + i] & 15];
			}
		} else if (memcmp(sig, "sdir", 4) == 0) {
			idx->sparse = true;
		} else if (sig[0] < 'A' || sig[0] > 'Z') {
			return fail(why, "the index has a required extension cordon does not understand");
		}
		pos += 8 + (size_t)size;
	}
	return true;
}

static void free_paths(char **paths)
{
	for (size_t i = 0; paths && paths[i]; i++)
		free(paths[i]);
	free(paths);
}

bool git_index_parse(const void *data, size_t len, size_t hash_len, struct git_index *out, const char **why)
{
	const unsigned char *p = data;
	struct git_index idx = {0};

	memset(out, 0, sizeof(*out));
	if (hash_len != 20 && hash_len != 32)
		return fail(why, "unsupported object name length (neither SHA-1 nor SHA-256)");
	if (!p || len < HEADER_SIZE + hash_len)
		return fail(why, "the index is shorter than its header and checksum");
	if (memcmp(p, "DIRC", 4) != 0)
		return fail(why, "not a git index (no DIRC signature)");
	uint32_t version = be32(p + 4);
	if (version < 2 || version > 4)
		return fail(why, "unsupported index version (not 2, 3 or 4)");
	uint32_t count = be32(p + 8);
	if (count > GIT_INDEX_MAX_ENTRIES)
		return fail(why, "the index has more entries than cordon reads");

	/* Entries and extensions end where the checksum begins. The smallest
	 * entry bounds how many the file can hold, so a claimed count is
	 * checked before the array for it is allocated. */
	size_t end = len - hash_len;
	size_t fixed = STAT_SIZE + hash_len + 2;
	size_t smallest = version == 4 ? fixed + 2 : (fixed + 8) & ~(size_t)7;
	if (count > (end - HEADER_SIZE) / smallest)
		return fail(why, "the index claims more entries than it holds");

	idx.paths = xcalloc((size_t)count + 1, sizeof(char *));
	char path[GIT_INDEX_MAX_PATH + 1];
	size_t path_len = 0;
	size_t pos = HEADER_SIZE;
	bool unnamed = false;
	for (uint32_t i = 0; i < count; i++) {
		if (!read_entry(p, end, &pos, version, hash_len, path, &path_len, why))
			goto refuse;
		if (path_len == 0) {
			/* Only a split index stores an entry without a name:
			 * its name is the replaced shared entry's. Known only
			 * once the link extension has been read. */
			unnamed = true;
			continue;
		}
		if (path[path_len - 1] == '/')
			idx.sparse = true;
		idx.paths[idx.n] = xmalloc(path_len + 1);
		memcpy(idx.paths[idx.n], path, path_len + 1);
		idx.n++;
	}
	if (!read_extensions(p, pos, end, hash_len, &idx, why))
		goto refuse;
	if (unnamed && !idx.split) {
		fail(why, "an index entry has an empty path");
		goto refuse;
	}
	*out = idx;
	return true;

refuse:
	free_paths(idx.paths);
	return false;
}

void git_index_free(struct git_index *idx)
{
	if (!idx)
		return;
	free_paths(idx->paths);
	memset(idx, 0, sizeof(*idx));
}

bool git_index_covers(const struct git_index *idx, const char *path)
{
	size_t plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	if (plen == 0)
		return idx->n > 0;
	for (size_t i = 0; i < idx->n; i++) {
		const char *e = idx->paths[i];
		size_t elen = strlen(e);
		bool dir = e[elen - 1] == '/';
		if (dir)
			elen--;
		/* The entry itself, or a sparse directory named exactly. */
		if (elen == plen && memcmp(e, path, plen) == 0)
			return true;
		/* A directory the entry lies beneath: "a" covers "a/x", not "ab/x". */
		if (elen > plen && e[plen] == '/' && memcmp(e, path, plen) == 0)
			return true;
		/* Beneath a sparse directory, whose files the index names
		 * only by their tree. */
		if (dir && plen > elen && path[elen] == '/' && memcmp(path, e, elen) == 0)
			return true;
	}
	return false;
}
