/* libFuzzer harness: the proxy's HTTP request-head parser, which reads
 * whatever the agent sends to 127.0.0.1:3128, and the framing of the
 * request body that follows (what of it goes upstream). */
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

/* Feeds n bytes to a fresh body in pieces of at most step bytes. Returns
 * how many belong to the body, or -1 when refused. */
static long feed(const struct http_head *h, const char *p, size_t n, size_t step, bool *done)
{
	struct http_body b;
	http_body_init(&b, h);
	size_t total = 0;
	for (size_t pos = 0; pos < n; pos += step) {
		size_t len = n - pos < step ? n - pos : step;
		size_t taken = (size_t)-1;
		const char *why = NULL;
		if (!http_body_take(&b, p + pos, len, &taken, &why)) {
			FUZZ_CHECK(why != NULL);
			*done = false;
			return -1;
		}
		FUZZ_CHECK(taken <= len);
		/* A piece not taken whole means the body ended within it. */
		if (taken < len)
			FUZZ_CHECK(http_body_done(&b));
		total += taken;
	}
	*done = http_body_done(&b);
	if (*done) {
		/* Nothing after the body's end is ever taken. */
		size_t taken = (size_t)-1;
		const char *why = NULL;
		FUZZ_CHECK(http_body_take(&b, p, n, &taken, &why) && taken == 0);
	}
	return (long)total;
}

/* What follows a plain HTTP head: the body's extent must not depend on how
 * the bytes arrived, and must end where its framing says. */
static void check_body(const struct http_head *h, const char *p, size_t n)
{
	bool done_all, done_bytes;
	long all = feed(h, p, n, n ? n : 1, &done_all);
	long bytes = feed(h, p, n, 1, &done_bytes);
	FUZZ_CHECK(all == bytes && done_all == done_bytes);
	if (all < 0)
		FUZZ_CHECK(h->chunked); /* only chunked framing can be malformed */
	if (!h->chunked && !h->has_content_length)
		FUZZ_CHECK(all == 0 && done_all);
	if (h->has_content_length)
		FUZZ_CHECK((uint64_t)all == (h->content_length < n ? h->content_length : n) &&
		           done_all == (h->content_length <= n));
	if (h->chunked && done_all)
		FUZZ_CHECK(all >= 5 && memcmp(p + all - 5, "0\r\n\r\n", 5) == 0);
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
		check_body(&h, buf + h.head_len, size - h.head_len);
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
