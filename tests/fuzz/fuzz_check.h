/* Invariant checks shared by the harnesses: a broken invariant aborts, so
 * libFuzzer keeps the input as a crasher. */
#ifndef CORDON_FUZZ_CHECK_H
#define CORDON_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"

#define FUZZ_CHECK(cond)                                                                                               \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);                   \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

/* A target the parsers accepted must pass the name check again unchanged:
 * lower case, only the characters a name may have, a port. */
static inline void check_target(const struct egress_target *t)
{
	size_t n = strnlen(t->host, sizeof(t->host));
	FUZZ_CHECK(n > 0 && n < sizeof(t->host));
	FUZZ_CHECK(t->port != 0);
	struct egress_target again = {0};
	const char *why = NULL;
	FUZZ_CHECK(egress_check_host(t->host, n, &again, &why));
	FUZZ_CHECK(strcmp(again.host, t->host) == 0);
	FUZZ_CHECK(again.is_ip == t->is_ip);
	for (size_t i = 0; i < n; i++) {
		char c = t->host[i];
		FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':');
	}
}

#endif
