/* libFuzzer harness: the git index reader (the index of a project is
 * written by whoever had the project before, an earlier sandbox included).
 * Each input is parsed as a SHA-1 and as a SHA-256 index. An accepted
 * index must hold only paths the header promises (non-empty, NUL-free,
 * within the limit, relative, no empty, "." or ".." component), each
 * covering itself, and a second parse must give the same result. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "gitindex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p, bool sparse)
{
	size_t n = strnlen(p, GIT_INDEX_MAX_PATH + 1);
	FUZZ_CHECK(n > 0 && n <= GIT_INDEX_MAX_PATH);
	FUZZ_CHECK(p[0] != '/');
	if (p[n - 1] == '/') {
		FUZZ_CHECK(sparse);
		n--;
	}
	FUZZ_CHECK(n > 0);
	for (size_t i = 0; i <= n;) {
		const char *sep = memchr(p + i, '/', n - i);
		size_t seg = sep ? (size_t)(sep - (p + i)) : n - i;
		FUZZ_CHECK(seg > 0);
		FUZZ_CHECK(!(seg == 1 && p[i] == '.'));
		FUZZ_CHECK(!(seg == 2 && p[i] == '.' && p[i + 1] == '.'));
		i += seg + 1;
	}
}

static void one(const uint8_t *data, size_t size, size_t hash_len)
{
	struct git_index a, b;
	const char *why = NULL, *why2 = NULL;
	bool ok = git_index_parse(data, size, hash_len, &a, &why);
	bool ok2 = git_index_parse(data, size, hash_len, &b, &why2);
	FUZZ_CHECK(ok == ok2);
	if (!ok) {
		FUZZ_CHECK(why != NULL && why == why2);
		FUZZ_CHECK(a.paths == NULL && a.n == 0 && !a.split && !a.sparse && a.shared_index[0] == '\0');
		return;
	}
	FUZZ_CHECK(a.n <= GIT_INDEX_MAX_ENTRIES);
	FUZZ_CHECK(a.paths != NULL && a.paths[a.n] == NULL);
	FUZZ_CHECK(a.n == b.n && a.split == b.split && a.sparse == b.sparse);
	FUZZ_CHECK(strcmp(a.shared_index, b.shared_index) == 0);
	size_t hex = strnlen(a.shared_index, sizeof(a.shared_index));
	FUZZ_CHECK(hex == 0 || (a.split && hex == 2 * hash_len));
	for (size_t i = 0; i < a.n; i++) {
		check_path(a.paths[i], a.sparse);
		FUZZ_CHECK(strcmp(a.paths[i], b.paths[i]) == 0);
		FUZZ_CHECK(git_index_covers(&a, a.paths[i]));
	}
	git_index_free(&a);
	git_index_free(&b);
	FUZZ_CHECK(a.paths == NULL && a.n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, 20);
	one(data, size, 32);
	return 0;
}
