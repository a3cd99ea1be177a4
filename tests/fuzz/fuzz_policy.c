/* libFuzzer harness: the policy parser (INI through inih, then every key's
 * value parser). Policies are hostile input under sudo. */
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	struct policy *p = policy_parse("fuzz.ini", (const char *)data, size, &d);
	policy_free(p);
	diags_free(&d);
	return 0;
}
