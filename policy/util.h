/* Small helpers shared by the policy library and the launcher: allocation
 * that never returns NULL, string vectors, and cleanup attributes.
 * Nothing here makes a system call beyond memory allocation and close(). */
#ifndef CORDON_UTIL_H
#define CORDON_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* NULL-terminated string vectors. */
typedef struct {
	char **v;
	size_t n;
	size_t cap;
} strv_t;

void strv_push(strv_t *sv, char *owned);
void strv_pushf(strv_t *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(strv_t *sv);
void strv_clear(char **v);
size_t strv_len(char *const *v);
bool strv_contains(char *const *v, const char *s);

/* Growable byte buffer, used for JSON and report output. */
typedef struct {
	char *p;
	size_t len;
	size_t cap;
} buf_t;

void buf_add(buf_t *b, const char *s, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void buf_json_str(buf_t *b, const char *s);
void buf_free(buf_t *b);

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* Path helpers that work on strings only. */
bool path_is_beneath(const char *path, const char *dir); /* path == dir or under dir */
int path_compare_components(const char *a, const char *b);

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_fdp(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_strvp(char ***v)
{
	strv_clear(*v);
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_fd   __attribute__((cleanup(cleanup_fdp)))
#define cleanup_strv __attribute__((cleanup(cleanup_strvp)))

static inline void *steal_pointer(void *pp)
{
	void **ptr = (void **)pp;
	void *ret = *ptr;
	*ptr = NULL;
	return ret;
}

static inline int steal_fd(int *fdp)
{
	int fd = *fdp;
	*fdp = -1;
	return fd;
}

#endif
