/* libFuzzer harness: the proxy's SOCKS5 greeting and request parsers, fed
 * the way the proxy feeds them (greeting first, the request after it). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t used = 0;
	bool no_auth = false;
	int r = socks5_parse_greeting(data, size, &used, &no_auth);
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r != 1)
		return 0;
	FUZZ_CHECK(used >= 2 && used <= size);
	const uint8_t *req = data + used;
	size_t len = size - used;
	struct egress_target t = {0};
	int reply = 0;
	const char *why = NULL;
	size_t req_used = 0;
	r = socks5_parse_request(req, len, &req_used, &t, &reply, &why);
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r < 0) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(reply == 1 || reply == 2 || reply == 7 || reply == 8);
	}
	if (r == 1) {
		FUZZ_CHECK(req_used >= 8 && req_used <= len); /* a one-byte name */
		check_target(&t);
		/* Every shorter prefix asks for more bytes or is refused, never
		 * accepted as something else. */
		for (size_t n = 0; n < req_used; n++) {
			struct egress_target p = {0};
			size_t pu = 0;
			FUZZ_CHECK(socks5_parse_request(req, n, &pu, &p, &reply, &why) != 1);
		}
	}
	return 0;
}
