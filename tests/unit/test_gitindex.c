/* Unit tests for the git index reader (policy/gitindex.c): index files
 * written by git itself (tests/unit/data/gitindex/README says how), index
 * files built here byte by byte, malformed in one way each, and
 * git_index_covers. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitindex.h"
#include "util.h"

#ifndef GITINDEX_DATA_DIR
#error "GITINDEX_DATA_DIR must name tests/unit/data/gitindex"
#endif

#define SHA1   20
#define SHA256 32

#define MODE_FILE 0100644
#define MODE_DIR  0040000
#define NAME_AUTO 0x10000 /* the flags' length field as git writes it */

/* Every parse and image goes through these, so that the suite's fini
 * frees them even when an assertion ends a test early. */
static struct git_index IDX, IDX2;
static buf_t B;
static unsigned char *FILE_DATA;
static size_t FILE_LEN;
static char PREV[GIT_INDEX_MAX_PATH + 1]; /* the builder's previous path, for version 4 */

static void teardown(void)
{
	git_index_free(&IDX);
	git_index_free(&IDX2);
	buf_free(&B);
	free(FILE_DATA);
	FILE_DATA = NULL;
	FILE_LEN = 0;
	PREV[0] = '\0';
}

TestSuite(real, .fini = teardown);
TestSuite(built, .fini = teardown);
TestSuite(malformed, .fini = teardown);
TestSuite(covers, .fini = teardown);

static void load(const char *name)
{
	char file[512];
	snprintf(file, sizeof(file), "%s/%s", GITINDEX_DATA_DIR, name);
	FILE *f = fopen(file, "rbe");
	cr_assert_not_null(f, "cannot open %s", file);
	free(FILE_DATA);
	FILE_DATA = xmalloc(1 << 16);
	FILE_LEN = fread(FILE_DATA, 1, 1 << 16, f);
	cr_assert(!ferror(f) && feof(f), "cannot read %s whole", file);
	fclose(f);
}

static void parse_ok(const void *data, size_t len, size_t hash_len)
{
	const char *why = NULL;
	git_index_free(&IDX);
	bool ok = git_index_parse(data, len, hash_len, &IDX, &why);
	cr_assert(ok, "refused: %s", why ? why : "(no reason)");
	cr_assert_null(IDX.paths[IDX.n], "paths is not NULL-terminated");
}

static void load_ok(const char *name, size_t hash_len)
{
	load(name);
	parse_ok(FILE_DATA, FILE_LEN, hash_len);
}

/* Requires a refusal whose reason contains needle, with out left empty. */
static void parse_refused(const void *data, size_t len, size_t hash_len, const char *needle)
{
	const char *why = NULL;
	git_index_free(&IDX);
	memset(&IDX, 0xa5, sizeof(IDX));
	bool ok = git_index_parse(data, len, hash_len, &IDX, &why);
	if (ok)
		git_index_free(&IDX);
	cr_assert(!ok, "accepted an index that should be refused (%s)", needle);
	cr_assert_not_null(why);
	cr_expect(strstr(why, needle), "reason \"%s\" does not contain \"%s\"", why, needle);
	cr_expect(IDX.paths == NULL && IDX.n == 0 && !IDX.split && !IDX.sparse && IDX.shared_index[0] == '\0',
	          "out is not empty after a refusal");
}

static void expect_paths(const char *const *want, size_t n)
{
	cr_assert_eq(IDX.n, n, "%zu paths, expected %zu", IDX.n, n);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(IDX.paths[i], want[i], "path %zu", i);
}

static const char *const FIVE[] = {"README.md", "ab/x", "secrets/.env", "src/lib/util.c", "src/main.c"};

/* ---- the builder ---- */

static void put(const void *p, size_t n)
{
	buf_add(&B, p, n);
}

static void put32(uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	                      (unsigned char)v};
	put(b, 4);
}

static void put16(uint16_t v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	put(b, 2);
}

static void zeros(size_t n)
{
	static const char z[64];
	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		put(z, k);
		n -= k;
	}
}

static void header(const char *sig, uint32_t version, uint32_t count)
{
	buf_free(&B);
	B = (buf_t){0};
	PREV[0] = '\0';
	put(sig, 4);
	put32(version);
	put32(count);
}

/* Stat data with the given mode, a zero object name, and the flags. */
static void entry_start(size_t hash_len, uint32_t mode, size_t path_len, unsigned name_field, int ext)
{
	zeros(24);
	put32(mode);
	zeros(12);
	zeros(hash_len);
	uint16_t field = (uint16_t)(name_field == NAME_AUTO ? (path_len < 0xfff ? path_len : 0xfff) : name_field);
	put16((uint16_t)(field | (ext >= 0 ? 0x4000 : 0)));
	if (ext >= 0)
		put16((uint16_t)ext);
}

/* A version 2 or 3 entry: the path, then NULs up to a multiple of 8. */
static void entry23x(size_t hash_len, uint32_t mode, const char *path, size_t path_len, unsigned name_field, int ext)
{
	size_t start = B.len;
	entry_start(hash_len, mode, path_len, name_field, ext);
	put(path, path_len);
	size_t fixed = B.len - start;
	zeros(((fixed + 8) & ~(size_t)7) - fixed);
}

static void entry23(size_t hash_len, const char *path)
{
	entry23x(hash_len, MODE_FILE, path, strlen(path), NAME_AUTO, -1);
}

/* Git's offset varint, as encode_varint writes it. */
static void put_varint(size_t v)
{
	unsigned char b[16];
	size_t pos = sizeof(b) - 1;
	b[pos] = v & 127;
	while (v >>= 7)
		b[--pos] = (unsigned char)(128 | (--v & 127));
	put(b + pos, sizeof(b) - pos);
}

/* A version 4 entry given as strip count and suffix. */
static void entry4x(size_t hash_len, uint32_t mode, size_t strip, const char *suffix, size_t total, unsigned name_field)
{
	entry_start(hash_len, mode, total, name_field, -1);
	put_varint(strip);
	put(suffix, strlen(suffix) + 1);
}

/* A version 4 entry compressed against the previous one, as git does. */
static void entry4(size_t hash_len, const char *path)
{
	size_t common = 0;
	while (PREV[common] && PREV[common] == path[common])
		common++;
	entry4x(hash_len, MODE_FILE, strlen(PREV) - common, path + common, strlen(path), NAME_AUTO);
	snprintf(PREV, sizeof(PREV), "%s", path);
}

static void extension(const char *sig, const void *data, uint32_t size)
{
	put(sig, 4);
	put32(size);
	put(data, size);
}

static void checksum(size_t hash_len)
{
	zeros(hash_len);
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- index files written by git ---- */

Test(real, version_2)
{
	load_ok("v2.index", SHA1);
	cr_assert_eq(FILE_DATA[7], 2);
	expect_paths(FIVE, 5);
	cr_expect(!IDX.split && !IDX.sparse);
}

Test(real, version_3_with_intent_to_add)
{
	load_ok("v3.index", SHA1);
	cr_assert_eq(FILE_DATA[7], 3);
	static const char *const want[] = {"README.md",    "ab/x",           "notes.txt",
	                                   "secrets/.env", "src/lib/util.c", "src/main.c"};
	expect_paths(want, 6);
	cr_expect(!IDX.split && !IDX.sparse);
}

Test(real, version_4)
{
	load_ok("v4.index", SHA1);
	cr_assert_eq(FILE_DATA[7], 4);
	expect_paths(FIVE, 5);
}

Test(real, sha256)
{
	load_ok("sha256.index", SHA256);
	expect_paths(FIVE, 5);
}

Test(real, wrong_hash_length_is_refused)
{
	load("sha256.index");
	parse_refused(FILE_DATA, FILE_LEN, SHA1, "");
	load("v2.index");
	parse_refused(FILE_DATA, FILE_LEN, SHA256, "");
	parse_refused(FILE_DATA, FILE_LEN, 0, "object name length");
	parse_refused(FILE_DATA, FILE_LEN, 21, "object name length");
}

Test(real, split_index_and_its_shared_index)
{
	load_ok("split.index", SHA1);
	cr_expect(IDX.split);
	cr_expect(!IDX.sparse);
	cr_expect_str_eq(IDX.shared_index, "c20c66e0aa598b7a1239948934f7880173bc3eec");
	/* The five replaced entries have no name here. */
	static const char *const want[] = {"added.txt"};
	expect_paths(want, 1);

	load_ok("split.sharedindex", SHA1);
	cr_expect(!IDX.split);
	cr_expect_str_eq(IDX.shared_index, "");
	expect_paths(FIVE, 5);
}

Test(real, sparse_index)
{
	load_ok("sparse.index", SHA1);
	cr_expect(IDX.sparse);
	cr_expect(!IDX.split);
	static const char *const want[] = {"README.md", "ab/", "secrets/", "src/lib/util.c", "src/main.c"};
	expect_paths(want, 5);
}

/* Without extensions after the entries, no prefix of a valid index is one. */
Test(real, every_truncation_is_refused)
{
	static const struct {
		const char *name;
		size_t hash_len;
	} files[] = {{"v2.index", SHA1}, {"v3.index", SHA1}, {"v4.index", SHA1}, {"sha256.index", SHA256}};
	for (size_t f = 0; f < N_ELEMENTS(files); f++) {
		load(files[f].name);
		for (size_t len = 0; len < FILE_LEN; len++) {
			const char *why = NULL;
			bool ok = git_index_parse(FILE_DATA, len, files[f].hash_len, &IDX, &why);
			if (ok)
				git_index_free(&IDX);
			cr_assert(!ok, "%s cut to %zu of %zu bytes was accepted", files[f].name, len, FILE_LEN);
			cr_assert_not_null(why);
		}
	}
}

Test(real, parse_is_repeatable)
{
	load_ok("v4.index", SHA1);
	const char *why = NULL;
	cr_assert(git_index_parse(FILE_DATA, FILE_LEN, SHA1, &IDX2, &why));
	cr_assert_eq(IDX2.n, IDX.n);
	for (size_t i = 0; i < IDX.n; i++)
		cr_expect_str_eq(IDX2.paths[i], IDX.paths[i]);
}

/* ---- index files built here ---- */

Test(built, version_2_control)
{
	header("DIRC", 2, 3);
	entry23(SHA1, "a");
	entry23(SHA1, "b/c");
	entry23(SHA1, "b/c"); /* unmerged: one entry per stage */
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	static const char *const want[] = {"a", "b/c", "b/c"};
	expect_paths(want, 3);
}

Test(built, empty_index)
{
	header("DIRC", 2, 0);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_expect_eq(IDX.n, 0);
	cr_expect(!git_index_covers(&IDX, ""));
	cr_expect(!git_index_covers(&IDX, "a"));
}

Test(built, version_3_known_extended_flags)
{
	header("DIRC", 3, 2);
	entry23x(SHA1, MODE_FILE, "a", 1, NAME_AUTO, 0x2000); /* intent-to-add */
	entry23x(SHA1, MODE_FILE, "b", 1, NAME_AUTO, 0x4000); /* skip-worktree */
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	static const char *const want[] = {"a", "b"};
	expect_paths(want, 2);
}

Test(built, version_4_prefix_compression)
{
	cleanup_free char *long_x = repeat('x', 200);
	header("DIRC", 4, 5);
	entry4(SHA1, "dir/one");
	entry4(SHA1, "dir/two");
	entry4(SHA1, long_x);                              /* strips 7 */
	entry4x(SHA1, MODE_FILE, 150, "z", 51, NAME_AUTO); /* strip 150: a two-byte varint */
	entry4x(SHA1, MODE_FILE, 51, "y", 1, NAME_AUTO);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_assert_eq(IDX.n, 5);
	cr_expect_str_eq(IDX.paths[0], "dir/one");
	cr_expect_str_eq(IDX.paths[1], "dir/two");
	cr_expect_str_eq(IDX.paths[2], long_x);
	cr_expect_eq(strlen(IDX.paths[3]), 51);
	cr_expect_eq(strspn(IDX.paths[3], "x"), 50);
	cr_expect_eq(IDX.paths[3][50], 'z');
	cr_expect_str_eq(IDX.paths[4], "y");
}

Test(built, long_paths_use_the_0xfff_length)
{
	cleanup_free char *p4096 = repeat('p', GIT_INDEX_MAX_PATH);
	header("DIRC", 2, 1);
	entry23(SHA1, p4096);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_assert_eq(IDX.n, 1);
	cr_expect_eq(strlen(IDX.paths[0]), GIT_INDEX_MAX_PATH);

	cleanup_free char *p0xffe = repeat('p', 0xffe);
	header("DIRC", 2, 1);
	entry23(SHA1, p0xffe);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_expect_eq(strlen(IDX.paths[0]), 0xffe);
}

Test(built, sha256_entries)
{
	header("DIRC", 2, 2);
	entry23(SHA256, "a");
	entry23(SHA256, "b");
	checksum(SHA256);
	parse_ok(B.p, B.len, SHA256);
	cr_expect_eq(IDX.n, 2);
}

Test(built, optional_extensions_are_skipped)
{
	header("DIRC", 2, 1);
	entry23(SHA1, "a");
	extension("TREE", "\0-1 0\n", 6);
	extension("ZZZZ", "", 0);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_expect_eq(IDX.n, 1);
	cr_expect(!IDX.split && !IDX.sparse);
}

Test(built, unnamed_entries_of_a_split_index_are_left_out)
{
	unsigned char link[SHA1 + 8] = {0};
	header("DIRC", 2, 2);
	entry23(SHA1, "");
	entry23(SHA1, "a");
	extension("link", link, sizeof(link));
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_expect(IDX.split);
	cr_expect_str_eq(IDX.shared_index, "", "an all-zero link names no shared index");
	static const char *const want[] = {"a"};
	expect_paths(want, 1);
}

Test(built, split_index_names_its_shared_index)
{
	unsigned char link[SHA256 + 8] = {0};
	for (size_t i = 0; i < SHA256; i++)
		link[i] = (unsigned char)(0xf0 + (i & 15));
	header("DIRC", 2, 0);
	extension("link", link, sizeof(link));
	checksum(SHA256);
	parse_ok(B.p, B.len, SHA256);
	cr_expect(IDX.split);
	cr_expect_str_eq(IDX.shared_index, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
}

Test(built, sdir_extension_sets_sparse)
{
	header("DIRC", 2, 1);
	entry23(SHA1, "a");
	extension("sdir", "", 0);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_expect(IDX.sparse);
}

/* ---- malformed ---- */

Test(malformed, too_short_for_header_and_checksum)
{
	parse_refused(NULL, 0, SHA1, "shorter");
	parse_refused("DIRC", 4, SHA1, "shorter");
	header("DIRC", 2, 0);
	parse_refused(B.p, B.len, SHA1, "shorter"); /* no checksum */
	checksum(SHA1 - 1);
	parse_refused(B.p, B.len, SHA1, "shorter");
}

Test(malformed, wrong_signature)
{
	header("DIRD", 2, 0);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "DIRC");
}

Test(malformed, bad_versions)
{
	static const uint32_t bad[] = {0, 1, 5, 0x02000000, 0xffffffff};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		header("DIRC", bad[i], 0);
		checksum(SHA1);
		parse_refused(B.p, B.len, SHA1, "version");
	}
	/* Control: the same with version 2. */
	header("DIRC", 2, 0);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
}

Test(malformed, entries_need_room_before_the_checksum)
{
	/* A valid entry, but the file ends where the checksum should start. */
	header("DIRC", 2, 1);
	entry23(SHA1, "abc");
	parse_refused(B.p, B.len, SHA1, "");
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
}

Test(malformed, too_many_entries_claimed)
{
	header("DIRC", 2, 2);
	entry23(SHA1, "a");
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "");

	header("DIRC", 2, 0xffffffff);
	entry23(SHA1, "a");
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "more entries than cordon reads");

	header("DIRC", 4, GIT_INDEX_MAX_ENTRIES + 1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "more entries than cordon reads");

	header("DIRC", 4, 1000);
	entry4(SHA1, "a");
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "claims more entries than it holds");
}

Test(malformed, path_running_past_the_end)
{
	/* No NUL before the checksum, whose zeros must not end the path. */
	header("DIRC", 2, 1);
	entry_start(SHA1, MODE_FILE, 6, NAME_AUTO, -1);
	put("abcdef", 6);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "runs past the end");

	header("DIRC", 4, 1);
	entry_start(SHA1, MODE_FILE, 6, NAME_AUTO, -1);
	put_varint(0);
	put("abcdef", 6);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "runs past the end");

	/* The path ends, but its padding would not. */
	header("DIRC", 2, 1);
	entry_start(SHA1, MODE_FILE, 2, NAME_AUTO, -1);
	put("ab\0", 3);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "padding runs past the end");
}

Test(malformed, padding_must_be_nul)
{
	header("DIRC", 2, 1);
	entry23(SHA1, "ab"); /* 62 + 2 bytes, then 8 NULs */
	B.p[B.len - 1] = 'x';
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "padding is not NUL");
}

Test(malformed, name_length_must_match)
{
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_FILE, "ab", 2, 3, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "length does not match");

	/* 4096 bytes must be stored as 0xfff, not cut to 12 bits. */
	cleanup_free char *p4096 = repeat('p', 4096);
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_FILE, p4096, 4096, 4096 & 0xfff, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "length does not match");

	/* 0xfff claims at least that many. */
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_FILE, "ab", 2, 0xfff, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "length does not match");

	header("DIRC", 4, 1);
	entry4x(SHA1, MODE_FILE, 0, "ab", 3, NAME_AUTO);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "length does not match");
}

Test(malformed, nul_inside_a_path)
{
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_FILE, "ab\0cd", 5, NAME_AUTO, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "");

	header("DIRC", 4, 1);
	entry_start(SHA1, MODE_FILE, 5, NAME_AUTO, -1);
	put_varint(0);
	put("ab\0cd\0", 6);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "");
}

Test(malformed, path_too_long)
{
	cleanup_free char *p4097 = repeat('p', GIT_INDEX_MAX_PATH + 1);
	header("DIRC", 2, 1);
	entry23(SHA1, p4097);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "too long");

	/* In version 4, by the suffix added to a long previous path. */
	cleanup_free char *p4000 = repeat('p', 4000);
	cleanup_free char *p200 = repeat('q', 200);
	header("DIRC", 4, 2);
	entry4(SHA1, p4000);
	entry4x(SHA1, MODE_FILE, 0, p200, 4200, NAME_AUTO);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "too long");
}

Test(malformed, v4_strip_longer_than_previous_path)
{
	header("DIRC", 4, 2);
	entry4(SHA1, "abc");
	entry4x(SHA1, MODE_FILE, 4, "x", 1, NAME_AUTO);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "strips more than the previous path");

	/* The first entry's previous path is empty. */
	header("DIRC", 4, 1);
	entry4x(SHA1, MODE_FILE, 1, "x", 1, NAME_AUTO);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "strips more than the previous path");

	/* Control: stripping all of it is fine. */
	header("DIRC", 4, 2);
	entry4(SHA1, "abc");
	entry4x(SHA1, MODE_FILE, 3, "x", 1, NAME_AUTO);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
}

Test(malformed, v4_varint_overflow)
{
	header("DIRC", 4, 1);
	entry_start(SHA1, MODE_FILE, 1, NAME_AUTO, -1);
	for (int i = 0; i < 24; i++)
		put("\xff", 1);
	put("\x7f"
	    "a",
	    3);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "prefix length");

	/* A varint whose continuation would run into the checksum. */
	header("DIRC", 4, 2);
	entry4(SHA1, "abc");
	entry_start(SHA1, MODE_FILE, 1, NAME_AUTO, -1);
	put("\x80", 1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "prefix length");
}

Test(malformed, extended_flags)
{
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_FILE, "a", 1, NAME_AUTO, 0x2000);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "version 2");

	static const int unknown[] = {0x8000, 0x1000, 0x0001};
	for (size_t i = 0; i < N_ELEMENTS(unknown); i++) {
		header("DIRC", 3, 1);
		entry23x(SHA1, MODE_FILE, "a", 1, NAME_AUTO, unknown[i]);
		checksum(SHA1);
		parse_refused(B.p, B.len, SHA1, "unknown extended flags");
	}
}

Test(malformed, paths_git_never_writes)
{
	static const char *const bad[] = {"/a", "a//b", "./a", "a/.", "a/../b", "..", "a/"};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		header("DIRC", 2, 1);
		entry23(SHA1, bad[i]);
		checksum(SHA1);
		parse_refused(B.p, B.len, SHA1, "");
	}
	/* A sparse directory needs both the mode and the slash. */
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_DIR, "d", 1, NAME_AUTO, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "does not end in '/'");
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_DIR, "d//", 3, NAME_AUTO, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "empty component");
	header("DIRC", 2, 1);
	entry23x(SHA1, MODE_DIR, "/", 1, NAME_AUTO, -1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "absolute");

	/* Controls: names that only look odd. */
	header("DIRC", 2, 3);
	entry23(SHA1, ".a");
	entry23(SHA1, "a/...");
	entry23x(SHA1, MODE_DIR, "d/", 2, NAME_AUTO, -1);
	checksum(SHA1);
	parse_ok(B.p, B.len, SHA1);
	cr_expect(IDX.sparse);
}

Test(malformed, empty_path_outside_a_split_index)
{
	header("DIRC", 2, 1);
	entry23(SHA1, "");
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "empty path");
}

Test(malformed, extensions)
{
	/* A required extension (not 'A'-'Z' first) cordon does not know. */
	header("DIRC", 2, 1);
	entry23(SHA1, "a");
	extension("abcd", "", 0);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "required extension");

	/* Size past the checksum. */
	header("DIRC", 2, 1);
	entry23(SHA1, "a");
	put("TREE", 4);
	put32(SHA1 + 1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "extension runs past the end");

	/* Bytes too few for an extension header before the checksum. */
	header("DIRC", 2, 1);
	entry23(SHA1, "a");
	put("TREE", 4);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "extension header");

	unsigned char link[SHA1] = {1};
	header("DIRC", 2, 0);
	extension("link", link, SHA1);
	extension("link", link, SHA1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "two link");

	header("DIRC", 2, 0);
	extension("link", link, SHA1 - 1);
	checksum(SHA1);
	parse_refused(B.p, B.len, SHA1, "link extension is too short");
}

/* ---- git_index_covers ---- */

Test(covers, files_and_directories)
{
	load_ok("v2.index", SHA1);
	static const char *const yes[] = {"README.md",    "ab/x", "ab",      "secrets",
	                                  "secrets/.env", "src",  "src/lib", "src/lib/util.c",
	                                  "src/main.c",   "src/", "",        "src//"};
	for (size_t i = 0; i < N_ELEMENTS(yes); i++)
		cr_expect(git_index_covers(&IDX, yes[i]), "\"%s\" is not covered", yes[i]);
	static const char *const no[] = {"a",  "ab/x/y", "README",   "README.md/x", "secrets/.e", "secrets/.env2",
	                                 "sr", "src/li", "src/main", "nope",        "/src"};
	for (size_t i = 0; i < N_ELEMENTS(no); i++)
		cr_expect(!git_index_covers(&IDX, no[i]), "\"%s\" is covered", no[i]);
}

Test(covers, beneath_sparse_directories)
{
	load_ok("sparse.index", SHA1);
	static const char *const yes[] = {"ab", "ab/x", "ab/any/depth", "secrets", "secrets/.env", "src/main.c"};
	for (size_t i = 0; i < N_ELEMENTS(yes); i++)
		cr_expect(git_index_covers(&IDX, yes[i]), "\"%s\" is not covered", yes[i]);
	static const char *const no[] = {"a", "abc", "abc/x", "secrets.txt", "secret", "src/other"};
	for (size_t i = 0; i < N_ELEMENTS(no); i++)
		cr_expect(!git_index_covers(&IDX, no[i]), "\"%s\" is covered", no[i]);
}
