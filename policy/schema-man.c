/* cordon-schema-man: writes the scdoc source of cordon-policy(5) from its
 * template, replacing the template's one marker line with every section
 * and key of the schema (policy/schema.c), so the man page cannot name a
 * key the parser does not know, or miss one it does. A build tool, run by
 * CMake; not installed.
 *
 *   cordon-schema-man TEMPLATE OUTPUT   the man page's scdoc source
 *   cordon-schema-man --keys            "SECTION KEY" lines, for the tests */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "util.h"

#define MARKER "@POLICY_KEYS@"

/* Text in scdoc: `*` and `_` would start bold or underlined text, `\`
 * escapes. Every one is escaped; the schema's texts use no markup. */
static void put_text(buf_t *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '*' || *s == '_')
			buf_add(b, "\\", 1);
		buf_add(b, s, 1);
	}
}

/* The value's form, after `KEY = `. */
static void put_value_form(buf_t *b, const struct policy_key *k)
{
	if (k->type == KT_ENUM) {
		for (size_t v = 0; k->values[v]; v++) {
			buf_puts(b, v ? " | " : "");
			put_text(b, k->values[v]);
		}
		return;
	}
	if (k->type == KT_BOOL) {
		buf_puts(b, "true | false");
		return;
	}
	buf_puts(b, "_");
	buf_puts(b, key_type_name(k->type));
	buf_puts(b, "_");
}

/* The facts the table holds about k beyond its doc, as sentences. */
static void put_facts(buf_t *b, const struct policy_key *k)
{
	if (k->dflt) {
		buf_puts(b, " Default: ");
		put_text(b, k->dflt);
		buf_puts(b, ".");
	}
	if (k->type == KT_PATH) {
		static const char *const paths[] = {
		    [PATHS_ABSOLUTE] = " The path is absolute, or ~ or ~/... in the invoking user's home.",
		    [PATHS_ANY] =
		        " The path is absolute, ~ or ~/... in the invoking user's home, or relative to the project.",
		    [PATHS_RELATIVE] = " The path is relative to the project.",
		};
		put_text(b, paths[k->paths]);
	}
	if (k->type == KT_UINT) {
		buf_printf(b, " From %" PRIu64, k->min);
		if (k->max)
			buf_printf(b, " to %" PRIu64, k->max);
		buf_puts(b, ".");
	} else if (k->range) {
		buf_puts(b, " The value ");
		put_text(b, k->range);
		buf_puts(b, ".");
	}
	if (k->net == NET_PROXY_MODE)
		buf_puts(b, " Only with [network] mode = proxy; an error under another mode.");
	else if (k->net == NET_OWN_PROXY)
		buf_puts(b, " Only with [network] mode = proxy and no socket (the sandbox's own proxy); an error "
		            "otherwise.");
	if (k->sudo == SUDO_REQUIRED)
		buf_puts(b, " Required when cordon runs as root, and so under sudo.");
}

/* Every section in the table's order, each key as an indented entry. */
static void put_keys(buf_t *b)
{
	const char *section = NULL;
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		if (!section || strcmp(section, k->section) != 0) {
			section = k->section;
			buf_printf(b, "## [%s]\n\n", section);
		}
		buf_puts(b, "*");
		put_text(b, k->name);
		buf_puts(b, "* = ");
		put_value_form(b, k);
		if (k->kind == KEY_LIST)
			buf_puts(b, " (repeatable)");
		buf_puts(b, "\n\t");
		/* At the start of a line these would begin a table, a list or a
		 * comment. */
		if (k->doc && strchr("[|:-.;#`", k->doc[0]) && k->doc[0])
			buf_puts(b, "\\");
		put_text(b, k->doc ? k->doc : "");
		buf_puts(b, "\n");
		buf_t facts = {0};
		put_facts(&facts, k);
		if (facts.len)
			buf_printf(b, "\n\t%s\n", facts.p + 1); /* without the first space */
		buf_free(&facts);
		buf_puts(b, "\n");
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	buf_t b = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	int err = ferror(f);
	if (fclose(f) != 0 || err) {
		buf_free(&b);
		return NULL;
	}
	buf_add(&b, "", 0); /* NUL-terminated, even when empty */
	*len = b.len;
	return b.p;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
		for (size_t i = 0; i < n_policy_keys; i++)
			printf("%s %s\n", policy_keys[i].section, policy_keys[i].name);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc != 3) {
		fputs("usage: cordon-schema-man TEMPLATE OUTPUT | --keys\n", stderr);
		return 2;
	}
	size_t len = 0;
	cleanup_free char *tmpl = slurp(argv[1], &len);
	if (!tmpl) {
		fprintf(stderr, "cordon-schema-man: %s: %s\n", argv[1], strerror(errno ? errno : EIO));
		return 1;
	}
	buf_t out = {0};
	int markers = 0;
	for (char *line = tmpl, *next; *line; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : line + strlen(line);
		size_t n = (size_t)(next - line);
		if (strncmp(line, MARKER "\n", n) == 0 && n == strlen(MARKER) + 1) {
			put_keys(&out);
			markers++;
		} else {
			buf_add(&out, line, n);
		}
	}
	if (markers != 1) {
		fprintf(stderr, "cordon-schema-man: %s: %d lines " MARKER ", want exactly one\n", argv[1], markers);
		buf_free(&out);
		return 1;
	}
	FILE *f = fopen(argv[2], "we");
	bool written = f && fwrite(out.p, 1, out.len, f) == out.len;
	if (f && fclose(f) != 0)
		written = false;
	if (!written)
		fprintf(stderr, "cordon-schema-man: %s: %s\n", argv[2], strerror(errno ? errno : EIO));
	buf_free(&out);
	return written ? 0 : 1;
}
