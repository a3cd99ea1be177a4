/* A reader of git config syntax that keeps only user.name and user.email
 * (gitident.h). It follows git's own parser (config.c): sections
 * `[name]`, `[name "sub"]` and `[name.sub]`, keys of letters, digits and
 * '-', `key = value` or a bare key, values with double quotes, the
 * escapes \" \\ \n \t \b and a backslash before the end of the line,
 * comments from # or ; outside quotes, a key on the line of its section
 * header. Nothing is followed or run: include paths are just values of
 * sections other than [user]. */
#include "gitident.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

/* Longest section name kept to compare with "user" (longer ones are
 * just not [user]). */
#define SECTION_MAX 16

struct reader {
	const char *p, *end;
	bool eof;
};

/* The next character, with "\r\n" read as "\n" and the end of the text
 * as a "\n" that sets eof (as git's get_next_char). */
static int next_char(struct reader *r)
{
	if (r->p >= r->end) {
		r->eof = true;
		return '\n';
	}
	int c = (unsigned char)*r->p++;
	if (c == '\r' && r->p < r->end && *r->p == '\n')
		c = (unsigned char)*r->p++;
	return c;
}

static bool is_key_char(int c)
{
	return isalnum(c) || c == '-';
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* A value as it is collected: at most GIT_IDENT_MAX bytes kept, more
 * only marks it too long. */
struct value {
	char v[GIT_IDENT_MAX + 1];
	size_t len;
	bool too_long;
};

static void value_add(struct value *val, int c)
{
	if (val->len < GIT_IDENT_MAX)
		val->v[val->len++] = (char)c;
	else
		val->too_long = true;
}

/* After '=': the value up to the end of the line. False on a syntax
 * error (an unknown escape, an unclosed quote). */
static bool parse_value(struct reader *r, struct value *val)
{
	bool quote = false, comment = false;
	size_t trim = 0;       /* where trailing unquoted space starts; 0: none */
	bool trim_set = false; /* trim holds a position */
	bool trim_long = false;
	memset(val, 0, sizeof(*val));
	for (;;) {
		int c = next_char(r);
		if (c == '\n') {
			if (quote)
				return false;
			break;
		}
		if (comment)
			continue;
		if (is_space(c) && !quote) {
			if (val->len || val->too_long) {
				if (!trim_set) {
					trim = val->len;
					trim_long = val->too_long;
					trim_set = true;
				}
				value_add(val, c);
			}
			continue;
		}
		if (!quote && (c == ';' || c == '#')) {
			comment = true;
			continue;
		}
		trim_set = false;
		if (c == '\\') {
			c = next_char(r);
			switch (c) {
			case '\n':
				if (r->eof)
					return false;
				continue;
			case 't':
				c = '\t';
				break;
			case 'b':
				c = '\b';
				break;
			case 'n':
				c = '\n';
				break;
			case '\\':
			case '"':
				break;
			default:
				return false;
			}
			value_add(val, c);
			continue;
		}
		if (c == '"') {
			quote = !quote;
			continue;
		}
		value_add(val, c);
	}
	if (trim_set) {
		val->len = trim;
		val->too_long = trim_long;
	}
	val->v[val->len] = '\0';
	return true;
}

/* After '[': the section name, lowercased, with a subsection (which
 * makes it another section than [user]) marked in *sub. False on a
 * syntax error. */
static bool parse_section(struct reader *r, char name[SECTION_MAX + 1], bool *sub)
{
	size_t n = 0;
	bool long_name = false;
	*sub = false;
	for (;;) {
		int c = next_char(r);
		if (r->eof)
			return false;
		if (c == ']')
			break;
		if (is_space(c)) {
			/* [section "subsection"], on one line */
			while (is_space(c)) {
				if (c == '\n')
					return false;
				c = next_char(r);
			}
			if (c != '"')
				return false;
			for (;;) {
				c = next_char(r);
				if (c == '\n')
					return false;
				if (c == '"')
					break;
				if (c == '\\') {
					c = next_char(r);
					if (c == '\n')
						return false;
				}
			}
			if (next_char(r) != ']')
				return false;
			*sub = true;
			break;
		}
		if (!is_key_char(c) && c != '.')
			return false;
		if (c == '.')
			*sub = true; /* [section.subsection] */
		if (n < SECTION_MAX)
			name[n++] = (char)tolower(c);
		else
			long_name = true;
	}
	name[n] = '\0';
	if (long_name)
		name[0] = '\0'; /* not "user", whatever it is */
	return n > 0 || *sub;
}

/* A value that can go into an environment variable and mean the same to
 * git: not empty, not too long, no control character. */
static bool usable(const struct value *val)
{
	if (val->too_long || val->len == 0)
		return false;
	for (size_t i = 0; i < val->len; i++) {
		unsigned char c = (unsigned char)val->v[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool git_ident_parse(const char *text, size_t len, struct git_ident *id)
{
	struct reader r = {.p = text, .end = text + len};
	char section[SECTION_MAX + 1] = "";
	bool sub = false, comment = false;
	/* What this file sets: 0 untouched, 1 set to the value, 2 unset. */
	int set_name = 0, set_email = 0;
	struct value name = {0}, email = {0};

	if (memchr(text, '\0', len))
		return false;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		r.p += 3; /* a UTF-8 byte order mark, as git skips it */
	for (;;) {
		int c = next_char(&r);
		if (c == '\n') {
			if (r.eof)
				break;
			comment = false;
			continue;
		}
		if (comment || is_space(c))
			continue;
		if (c == '#' || c == ';') {
			comment = true;
			continue;
		}
		if (c == '[') {
			if (!parse_section(&r, section, &sub))
				return false;
			continue;
		}
		if (!isalpha(c))
			return false;
		char key[8];
		size_t kn = 0;
		bool long_key = false;
		for (;;) {
			if (kn < sizeof(key) - 1)
				key[kn++] = (char)tolower(c);
			else
				long_key = true;
			c = next_char(&r);
			if (r.eof || !is_key_char(c))
				break;
		}
		key[kn] = '\0';
		while (c == ' ' || c == '\t')
			c = next_char(&r);
		struct value val = {0};
		bool has_value = false;
		if (c != '\n') {
			if (c != '=' || !parse_value(&r, &val))
				return false;
			has_value = true;
		}
		if (sub || strcmp(section, "user") != 0 || long_key)
			continue;
		/* A bare key is "true" to git: not a usable name or email. */
		bool ok = has_value && usable(&val);
		if (strcmp(key, "name") == 0) {
			set_name = ok ? 1 : 2;
			name = val;
		} else if (strcmp(key, "email") == 0) {
			set_email = ok ? 1 : 2;
			email = val;
		}
		if (r.eof)
			break;
	}
	if (set_name) {
		free(id->name);
		id->name = set_name == 1 ? xstrdup(name.v) : NULL;
	}
	if (set_email) {
		free(id->email);
		id->email = set_email == 1 ? xstrdup(email.v) : NULL;
	}
	return true;
}

void git_ident_clear(struct git_ident *id)
{
	free(id->name);
	free(id->email);
	id->name = id->email = NULL;
}
