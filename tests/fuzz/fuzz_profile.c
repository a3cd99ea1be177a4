/* libFuzzer harness: the seccomp profile parser (a profile may be a path
 * named by the policy), and profile_load, the way the plan reads such a
 * file: the bytes as they are on disk, NUL bytes included. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "profile.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct file {
	const uint8_t *data;
	size_t size;
};

/* The host's read_file: the whole file, NUL-terminated. */
static char *read_input(void *ctx, const char *path, size_t *len, char **why)
{
	(void)path;
	(void)why;
	const struct file *f = ctx;
	char *text = xmalloc(f->size + 1);
	memcpy(text, f->data, f->size);
	text[f->size] = '\0';
	*len = f->size;
	return text;
}

static void check_profile(const struct sc_profile *p)
{
	FUZZ_CHECK(p->n_layers >= 1 && p->n_layers <= SC_MAX_LAYERS);
	for (size_t l = 0; l < p->n_layers; l++) {
		const struct sc_layer *ly = &p->layers[l];
		FUZZ_CHECK(ly->file && ly->line > 0);
		char buf[32]; /* what explain gives it */
		const char *t = sc_action_text(&ly->def, buf, sizeof(buf));
		FUZZ_CHECK(t && strlen(t) < sizeof(buf));
		for (size_t i = 0; i < ly->n_rules; i++) {
			const struct sc_rule *r = &ly->rules[i];
			FUZZ_CHECK(r->n_conds <= SC_MAX_CONDS);
			if (r->action.kind == SC_ERRNO)
				FUZZ_CHECK(r->action.err > 0 && r->action.err < 4096);
			t = sc_action_text(&r->action, buf, sizeof(buf));
			FUZZ_CHECK(t && strlen(t) < sizeof(buf));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser alone, on the text up to the first NUL. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct diags d = {0};
	struct sc_profile *p = profile_parse("fuzz", "fuzz.profile", text, &d);
	FUZZ_CHECK((p == NULL) == (d.n > 0));
	if (p) {
		check_profile(p);
		profile_free(p);
	}
	diags_free(&d);
	free(text);

	/* The file as a policy names it. */
	struct file f = {data, size};
	p = profile_load("/fuzz.profile", "fuzz.ini", 1, read_input, &f, &d);
	FUZZ_CHECK((p == NULL) == (d.n > 0));
	if (memchr(data, '\0', size))
		FUZZ_CHECK(p == NULL);
	if (p) {
		check_profile(p);
		profile_free(p);
	}
	diags_free(&d);
	return 0;
}
