/* libFuzzer harness: the proxy's HTTP request-head parser, which reads
 * whatever the agent sends to 127.0.0.1:3128. */
#include <stddef.h>
#include <stdint.h>

#include "egress.h"
#include "fuzz_check.h"

#define MAX_HEAD ((size_t)64 << 10) /* as the proxy */
#define MAX_BODY ((uint64_t)10 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const char *buf, size_t len, struct http_head *h)
{
	int status = 0;
	const char *why = NULL;
	*h = (struct http_head){0};
	int r = http_parse_head(buf, len, MAX_HEAD, MAX_BODY, h, &status, &why);
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r < 0) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(status == 400 || status == 405 || status == 413 || status == 431 || status == 501);
	}
	if (r == 0)
		FUZZ_CHECK(len < MAX_HEAD);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_head h;
	int r = parse(buf, size, &h);
	if (r != 1) {
		http_head_free(&h);
		return 0;
	}
	FUZZ_CHECK(h.head_len >= 4 && h.head_len <= size);
	FUZZ_CHECK(memcmp(buf + h.head_len - 4, "\r\n\r\n", 4) == 0);
	check_target(&h.dest);
	if (h.is_connect) {
		FUZZ_CHECK(h.upstream == NULL);
	} else {
		/* What goes upstream is one clean head: no NUL, no bare LF, ends
		 * the head once. */
		FUZZ_CHECK(h.upstream != NULL && h.upstream_len >= 4);
		FUZZ_CHECK(memchr(h.upstream, '\0', h.upstream_len) == NULL);
		FUZZ_CHECK(memcmp(h.upstream + h.upstream_len - 4, "\r\n\r\n", 4) == 0);
		const char *end = memmem(h.upstream, h.upstream_len, "\r\n\r\n", 4);
		FUZZ_CHECK(end == h.upstream + h.upstream_len - 4);
		for (size_t i = 0; i < h.upstream_len; i++)
			if (h.upstream[i] == '\n')
				FUZZ_CHECK(i > 0 && h.upstream[i - 1] == '\r');
	}
	if (h.has_content_length)
		FUZZ_CHECK(h.content_length <= MAX_BODY);
	/* The proxy parses again as more bytes arrive: the head alone must
	 * give the same answer as the head with whatever followed it. */
	struct http_head again;
	FUZZ_CHECK(parse(buf, h.head_len, &again) == 1);
	FUZZ_CHECK(again.head_len == h.head_len && again.is_connect == h.is_connect);
	FUZZ_CHECK(strcmp(again.dest.host, h.dest.host) == 0 && again.dest.port == h.dest.port);
	http_head_free(&again);
	http_head_free(&h);
	return 0;
}
