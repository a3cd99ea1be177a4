/* Parsers for the scalar value types a policy uses. All are strict: a value
 * that is not exactly of the expected form is an error, never a guess. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "schema.h"
#include "util.h"

bool parse_bool(const char *s, bool *out, const char **why)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	*why = "expected true or false";
	return false;
}

/* Decimal digits only; no sign, no spaces, no base prefixes. */
static bool parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return true;
}

bool parse_uint(const char *s, uint64_t max, uint64_t *out, const char **why)
{
	uint64_t v;
	if (!parse_digits(&s, &v) || *s) {
		*why = "expected a whole number";
		return false;
	}
	if (v > max) {
		*why = "number too large";
		return false;
	}
	*out = v;
	return true;
}

bool parse_cpu(const char *s, uint64_t *milli, const char **why)
{
	uint64_t whole, frac = 0;
	if (!parse_digits(&s, &whole)) {
		*why = "expected a number of CPUs such as 2 or 1.5";
		return false;
	}
	if (*s == '.') {
		s++;
		unsigned digits = 0;
		for (; isdigit((unsigned char)*s) && digits < 3; s++, digits++)
			frac = frac * 10 + (unsigned)(*s - '0');
		if (digits == 0) {
			*why = "expected a number of CPUs such as 2 or 1.5";
			return false;
		}
		if (isdigit((unsigned char)*s)) {
			*why = "at most three decimals";
			return false;
		}
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*s) {
		*why = "expected a number of CPUs such as 2 or 1.5";
		return false;
	}
	if (whole > UINT64_MAX / 1000 - 1) {
		*why = "number too large";
		return false;
	}
	*milli = whole * 1000 + frac;
	return true;
}

void format_cpu(uint64_t milli, char out[32])
{
	int n =
	    snprintf(out, 32, "%llu.%03llu", (unsigned long long)(milli / 1000), (unsigned long long)(milli % 1000));
	/* Drop trailing zeros, and the point when nothing follows it. */
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

bool parse_size(const char *s, uint64_t *out, const char **why)
{
	uint64_t v, mult = 1;
	if (!parse_digits(&s, &v)) {
		*why = "expected a size such as 512M or 8G";
		return false;
	}
	switch (toupper((unsigned char)*s)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'G':
		mult = 1ULL << 30;
		break;
	case 'T':
		mult = 1ULL << 40;
		break;
	case 'B':
		break;
	default:
		*why = "unknown size suffix (use K, M, G or T)";
		return false;
	}
	if (*s) {
		s++;
		/* Accept "8G", "8GB", "8GiB" and "8B"; nothing else may follow. */
		if (mult > 1 && (*s == 'i' || *s == 'I'))
			s++;
		if (mult > 1 && (*s == 'b' || *s == 'B'))
			s++;
		if (*s) {
			*why = "unknown size suffix (use K, M, G or T)";
			return false;
		}
	}
	if (v > UINT64_MAX / mult) {
		*why = "size too large";
		return false;
	}
	*out = v * mult;
	return true;
}

bool parse_duration_ms(const char *s, uint64_t *out, const char **why)
{
	uint64_t total = 0;
	if (!*s) {
		*why = "expected a duration such as 90s, 30m or 2h";
		return false;
	}
	while (*s) {
		uint64_t v, mult;
		if (!parse_digits(&s, &v)) {
			*why = "expected a duration such as 90s, 30m or 2h";
			return false;
		}
		if (str_has_prefix(s, "ms")) {
			mult = 1;
			s += 2;
		} else if (*s == 's' || *s == '\0') {
			mult = 1000;
			s += *s ? 1 : 0;
		} else if (*s == 'm') {
			mult = 60ULL * 1000;
			s++;
		} else if (*s == 'h') {
			mult = 3600ULL * 1000;
			s++;
		} else if (*s == 'd') {
			mult = 86400ULL * 1000;
			s++;
		} else {
			*why = "unknown duration unit (use ms, s, m, h or d)";
			return false;
		}
		if (v > (UINT64_MAX / 2) / mult || total + v * mult < total) {
			*why = "duration too large";
			return false;
		}
		total += v * mult;
	}
	*out = total;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* A dotted quad with no leading zeros: "127.0.0.1" but not "0177.0.0.1",
 * "0x7f.1" or "2130706433", the forms resolvers read as other addresses. */
bool is_strict_ipv4(const char *s)
{
	int parts = 0;
	while (*s) {
		size_t n = strcspn(s, ".");
		if (n == 0 || n > 3 || !all_digits(s, n) || (n > 1 && s[0] == '0'))
			return false;
		if (strtoul(s, NULL, 10) > 255)
			return false;
		parts++;
		s += n;
		if (*s == '.') {
			s++;
			if (!*s)
				return false;
		}
	}
	return parts == 4;
}

bool valid_hostname_label_chars(const char *s)
{
	size_t total = strlen(s);
	if (total == 0 || total > 253)
		return false;
	while (*s) {
		size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
		if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
			return false;
		s += n;
		if (*s == '.') {
			s++;
			if (!*s)
				return false; /* trailing dot */
		} else if (*s) {
			return false;
		}
	}
	return true;
}

/* True when a resolver would read the name as an IPv4 address in any of
 * the forms inet_aton() accepts (octal, hex, fewer than four parts), or
 * when its last label is numeric, which no real top-level domain is. */
bool looks_numeric(const char *s)
{
	struct in_addr a;
	if (inet_aton(s, &a))
		return true;
	const char *last = strrchr(s, '.');
	last = last ? last + 1 : s;
	return *last && strspn(last, "0123456789") == strlen(last);
}

bool valid_env_name(const char *s, bool allow_glob)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s; s++) {
		if (allow_glob && s[0] == '*' && s[1] == '\0')
			return true;
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	}
	return true;
}

bool valid_account_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool valid_secret_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SECRET_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool valid_policy_path(const char *s, bool allow_relative, const char **why)
{
	const char *p = s;
	if (s[0] == '~') {
		if (s[1] != '\0' && s[1] != '/') {
			*why = "only ~ or ~/... is supported (not ~user)";
			return false;
		}
		p = s + 1;
	} else if (s[0] != '/' && !allow_relative) {
		*why = "path must be absolute or start with ~/";
		return false;
	}
	if (!*s) {
		*why = "empty path";
		return false;
	}
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "path must not contain . or .. components";
			return false;
		}
		p += n;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "path contains a control character";
			return false;
		}
	}
	return true;
}

char *normalize_path(const char *s)
{
	char *r = xmalloc(strlen(s) + 1);
	char *o = r;
	for (const char *p = s; *p; p++) {
		if (*p == '/' && o > r && o[-1] == '/')
			continue;
		*o++ = *p;
	}
	if (o - r > 1 && o[-1] == '/')
		o--;
	*o = '\0';
	return r;
}

/* The names are the key table's values (schema.c), which parsing maps to
 * the same enum values. */
const char *net_mode_name(enum net_mode m)
{
	return (unsigned)m <= NET_HOST ? net_mode_values[m] : "?";
}

const char *landlock_mode_name(enum landlock_mode m)
{
	return (unsigned)m <= LANDLOCK_OFF ? landlock_mode_values[m] : "?";
}
