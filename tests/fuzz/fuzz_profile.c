/* libFuzzer harness: the seccomp profile parser (a profile may be a path
 * named by the policy). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The launcher reads a profile file whole and NUL-terminates it. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct diags d = {0};
	struct sc_profile *p = profile_parse("fuzz", "fuzz.profile", text, &d);
	if (p)
		profile_free(p);
	diags_free(&d);
	free(text);
	return 0;
}
