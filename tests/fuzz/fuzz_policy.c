/* libFuzzer harness: the policy parser (INI through inih, then every key's
 * value parser). Policies are hostile input under sudo. A policy that
 * parses is built into a plan (on a fake host) and must round-trip through
 * `explain --json`: the document is strict JSON (UTF-8, escapes, nothing
 * after it) and each string in it decodes to exactly the plan's value, so
 * no value can break out of its field or change on the way. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "plan.h"
#include "policy.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a strict JSON reader (RFC 8259), enough to check the document ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	char *str;        /* J_STR: decoded, NUL-terminated (the writer never emits \u0000) */
	struct jv *items; /* J_ARR, J_OBJ: the values */
	char **keys;      /* J_OBJ: the decoded keys */
	size_t n;
};

struct jp {
	const char *p, *end;
};

static void jv_free(struct jv *v)
{
	free(v->str);
	for (size_t i = 0; i < v->n; i++) {
		jv_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

static void skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool lit(struct jp *j, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex4(struct jp *j, unsigned *out)
{
	if (j->end - j->p < 4)
		return false;
	*out = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(j->p[i]);
		if (h < 0)
			return false;
		*out = *out << 4 | (unsigned)h;
	}
	j->p += 4;
	return true;
}

static void put_utf8(buf_t *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* Length of the well-formed UTF-8 sequence at p (Unicode 3.9, table 3-7),
 * 0 if there is none. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static char *jstring(struct jp *j)
{
	if (!lit(j, "\""))
		return NULL;
	buf_t b = {0};
	buf_add(&b, "", 0);
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20)
			goto bad; /* control characters must be escaped */
		if (c != '\\') {
			size_t n = utf8_len((const unsigned char *)j->p, (const unsigned char *)j->end);
			if (!n)
				goto bad;
			buf_add(&b, j->p, n);
			j->p += n;
			continue;
		}
		if (++j->p == j->end)
			goto bad;
		const char *esc = strchr("\"\\/bfnrt", *j->p);
		if (*j->p && esc) {
			static const char out[] = "\"\\/\b\f\n\r\t";
			buf_add(&b, &out[esc - "\"\\/bfnrt"], 1);
			j->p++;
			continue;
		}
		if (*j->p++ != 'u')
			goto bad;
		unsigned cp, lo;
		if (!hex4(j, &cp) || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
			goto bad;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (!lit(j, "\\u") || !hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
				goto bad;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		put_utf8(&b, cp);
	}
	if (!lit(j, "\""))
		goto bad;
	return b.p;
bad:
	buf_free(&b);
	return NULL;
}

static bool jvalue(struct jp *j, struct jv *v, int depth);

static bool jcontainer(struct jp *j, struct jv *v, bool object, int depth)
{
	const char *close = object ? "}" : "]";
	skip_ws(j);
	if (lit(j, close))
		return true;
	for (;;) {
		v->items = xrealloc(v->items, (v->n + 1) * sizeof(*v->items));
		memset(&v->items[v->n], 0, sizeof(*v->items));
		if (object) {
			v->keys = xrealloc(v->keys, (v->n + 1) * sizeof(*v->keys));
			skip_ws(j);
			v->keys[v->n] = jstring(j);
			v->n++;
			if (!v->keys[v->n - 1])
				return false;
			skip_ws(j);
			if (!lit(j, ":"))
				return false;
		} else {
			v->n++;
		}
		if (!jvalue(j, &v->items[v->n - 1], depth + 1))
			return false;
		skip_ws(j);
		if (lit(j, close))
			return true;
		if (!lit(j, ","))
			return false;
	}
}

static bool jnumber(struct jp *j)
{
	const char *start = j->p;
	lit(j, "-");
	if (lit(j, "0")) {
		/* no leading zeros */
	} else if (j->p < j->end && *j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else
		return false;
	if (lit(j, ".")) {
		if (j->p == j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > start;
}

static bool jvalue(struct jp *j, struct jv *v, int depth)
{
	if (depth > 16)
		return false;
	skip_ws(j);
	if (j->p == j->end)
		return false;
	switch (*j->p) {
	case '{':
		j->p++;
		v->type = J_OBJ;
		return jcontainer(j, v, true, depth);
	case '[':
		j->p++;
		v->type = J_ARR;
		return jcontainer(j, v, false, depth);
	case '"':
		v->type = J_STR;
		v->str = jstring(j);
		return v->str != NULL;
	case 't':
	case 'f':
		v->type = J_BOOL;
		return lit(j, "true") || lit(j, "false");
	case 'n':
		v->type = J_NULL;
		return lit(j, "null");
	default:
		v->type = J_NUM;
		return jnumber(j);
	}
}

/* The member KEY of object v, which must be there exactly once. */
static const struct jv *member(const struct jv *v, const char *key)
{
	FUZZ_CHECK(v->type == J_OBJ);
	const struct jv *found = NULL;
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->keys[i], key) == 0) {
			FUZZ_CHECK(!found);
			found = &v->items[i];
		}
	}
	FUZZ_CHECK(found);
	return found;
}

/* s with every byte that is not part of well-formed UTF-8 replaced by
 * U+FFFD: the only change the writer may make. */
static char *as_utf8(const char *s)
{
	buf_t b = {0};
	buf_add(&b, "", 0);
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	while (p < end) {
		size_t n = utf8_len(p, end);
		if (n)
			buf_add(&b, (const char *)p, n);
		else
			buf_add(&b, "\xef\xbf\xbd", 3);
		p += n ? n : 1;
	}
	return b.p;
}

/* The string (or null) value is want, as UTF-8. */
static void same_str(const struct jv *v, const char *want)
{
	if (!want) {
		FUZZ_CHECK(v->type == J_NULL);
		return;
	}
	FUZZ_CHECK(v->type == J_STR);
	char *w = as_utf8(want);
	FUZZ_CHECK(strcmp(v->str, w) == 0);
	free(w);
}

static void same_strv(const struct jv *v, char *const *want)
{
	size_t n = 0;
	while (want && want[n])
		n++;
	FUZZ_CHECK(v->type == J_ARR && v->n == n);
	for (size_t i = 0; i < n; i++)
		same_str(&v->items[i], want[i]);
}

static void check_round_trip(const struct plan *pl, const char *json)
{
	struct jp j = {json, json + strlen(json)};
	struct jv doc = {0};
	bool ok = jvalue(&j, &doc, 0);
	skip_ws(&j);
	FUZZ_CHECK(ok && j.p == j.end);
	FUZZ_CHECK(doc.type == J_OBJ);

	const struct jv *pol = member(&doc, "policy");
	same_str(member(pol, "file"), pl->policy_file);
	same_str(member(pol, "name"), pl->policy_name);
	same_str(member(&doc, "refusal"), pl->refusal);
	same_str(member(member(&doc, "invoker"), "name"), pl->invoker_name);
	same_str(member(member(&doc, "run_as"), "home"), pl->run_home);
	same_str(member(&doc, "hostname"), pl->hostname);
	same_strv(member(&doc, "command"), pl->argv);
	same_str(member(&doc, "cwd"), pl->cwd);

	const struct jv *mounts = member(&doc, "mounts");
	FUZZ_CHECK(mounts->type == J_ARR && mounts->n == pl->n_mounts);
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		const struct jv *m = &mounts->items[i];
		same_str(member(m, "kind"), mount_kind_name(op->kind));
		same_str(member(m, "dest"), op->dest);
		same_str(member(m, "source"), op->source);
		same_str(member(m, "origin"), op->origin);
		if (op->content)
			same_str(member(m, "content"), op->content);
		if (op->note)
			same_str(member(m, "note"), op->note);
	}
	same_strv(member(&doc, "project_roots"), pl->project_roots);
	same_strv(member(&doc, "allowed_roots"), pl->allowed_roots);
	const struct jv *projects = member(&doc, "projects");
	FUZZ_CHECK(projects->type == J_ARR && projects->n == pl->n_projects);
	for (size_t i = 0; i < pl->n_projects; i++) {
		same_str(member(&projects->items[i], "dir"), pl->projects[i].dir);
		same_str(member(&projects->items[i], "why"), pl->projects[i].why);
		same_str(member(&projects->items[i], "git_dir"), pl->projects[i].git_dir);
	}
	same_strv(member(&doc, "warnings"), pl->warnings);
	same_strv(member(&doc, "notes"), pl->notes);

	const struct jv *rules = member(member(&doc, "landlock"), "rules");
	FUZZ_CHECK(rules->type == J_ARR && rules->n == pl->n_ll_rules);
	for (size_t i = 0; i < pl->n_ll_rules; i++)
		same_str(member(&rules->items[i], "path"), pl->ll_rules[i].path);

	const struct jv *sc = member(&doc, "seccomp");
	same_str(member(sc, "profile"), pl->seccomp_profile);
	const struct jv *layers = member(sc, "layers");
	FUZZ_CHECK(layers->type == J_ARR && layers->n == (pl->seccomp ? pl->seccomp->n_layers : 0));
	for (size_t l = 0; l < layers->n; l++) {
		const struct sc_layer *ly = &pl->seccomp->layers[l];
		const struct jv *lr = member(&layers->items[l], "rules");
		FUZZ_CHECK(lr->type == J_ARR && lr->n == ly->n_rules);
		for (size_t i = 0; i < ly->n_rules; i++) {
			same_str(member(&lr->items[i], "syscall"), ly->rules[i].syscall);
			same_str(member(&lr->items[i], "rule"), ly->rules[i].text);
			same_str(member(&lr->items[i], "file"), ly->rules[i].file);
		}
	}

	const struct jv *net = member(&doc, "network");
	same_str(member(net, "mode"), net_mode_name(pl->net.mode));
	const struct jv *allow = member(net, "allow"), *deny = member(net, "deny");
	FUZZ_CHECK(allow->type == J_ARR && allow->n == pl->net.n_allow);
	FUZZ_CHECK(deny->type == J_ARR && deny->n == pl->net.n_deny);
	/* Host patterns are ASCII (the parser checks), so they appear as
	 * they are. */
	for (size_t i = 0; i < allow->n; i++)
		FUZZ_CHECK(allow->items[i].type == J_STR && strstr(allow->items[i].str, pl->net.allow[i].host));
	for (size_t i = 0; i < deny->n; i++)
		FUZZ_CHECK(deny->items[i].type == J_STR && strstr(deny->items[i].str, pl->net.deny[i].host));
	const struct jv *ranges = member(net, "allow_private_ranges");
	FUZZ_CHECK(ranges->type == J_ARR && ranges->n == pl->net.n_private_ok);
	for (size_t i = 0; i < ranges->n; i++)
		FUZZ_CHECK(ranges->items[i].type == J_STR && strstr(ranges->items[i].str, pl->net.private_ok[i].host));
	same_str(member(net, "notify"), pl->net.notify ? "stderr" : "off");
	same_strv(member(&doc, "environment"), pl->envp);
	same_str(member(&doc, "audit_log"), pl->audit_log);
	/* Secrets: names and sources, as the plan has them (never a value:
	 * the plan has none). */
	const struct jv *secrets = member(&doc, "secrets");
	FUZZ_CHECK(secrets->type == J_ARR && secrets->n == pl->n_secrets);
	for (size_t i = 0; i < secrets->n; i++) {
		same_str(member(&secrets->items[i], "name"), pl->secrets[i].name);
		same_str(member(&secrets->items[i], "source"), secret_kind_name(pl->secrets[i].kind));
		same_str(member(&secrets->items[i], "from"), pl->secrets[i].from);
	}
	jv_free(&doc);
}

/* ---- a fake host: every path exists, as a file when its last component
 * has a dot, and nothing is a git repository ---- */

/* A string-only realpath: collapses slashes and resolves "." and "..". */
static char *canon(const char *path)
{
	char *out = xmalloc(strlen(path) + 2);
	size_t o = 0;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else if (!(n == 1 && p[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static enum path_state fake_state(const char *path)
{
	const char *last = strrchr(path, '/');
	last = last ? last + 1 : path;
	if (strstr(path, "missing"))
		return PATH_MISSING;
	return strchr(last, '.') ? PATH_FILE : PATH_DIR;
}

static char *fake_resolve(void *ctx, const char *path, char *const *untrusted, char **why)
{
	(void)ctx;
	(void)untrusted;
	(void)why;
	if (fake_state(path) == PATH_MISSING) {
		errno = ENOENT;
		return NULL;
	}
	return canon(path);
}

static enum path_state fake_lstat(void *ctx, const char *path)
{
	(void)ctx;
	return fake_state(path);
}

static char *fake_read_file(void *ctx, const char *path, size_t *len, char **why)
{
	(void)ctx;
	const char *text = strstr(path, ".profile") ? "default allow\nptrace deny\n" : "FROM_FILE=1\n";
	if (fake_state(path) != PATH_FILE) {
		*why = xstrdup("No such file or directory");
		return NULL;
	}
	*len = strlen(text);
	return xstrdup(text);
}

static char *fake_read_nofollow(void *ctx, const char *path, size_t max, size_t *len, char **why)
{
	(void)ctx;
	(void)path;
	(void)max;
	(void)len;
	(void)why;
	errno = ENOENT;
	return NULL;
}

static const struct plan_host host = {
    .resolve = fake_resolve,
    .lstat = fake_lstat,
    .read_file = fake_read_file,
    .read_nofollow = fake_read_nofollow,
};

static char *argv_[] = {"/bin/true", "arg with \"quotes\"", NULL};
static char *environ_[] = {"TERM=xterm", "LANG=C.UTF-8", "KEEP_ME=1", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	struct policy *p = policy_parse("fuzz.ini", (const char *)data, size, &d);
	if (d.n == 0) {
		const struct invocation inv = {
		    .uid = 1000,
		    .gid = 1000,
		    .user = "fuzz",
		    .home = "/home/fuzz",
		    .run_uid = 1000,
		    .run_gid = 1000,
		    .run_user = "fuzz",
		    .run_home = "/home/fuzz",
		    .cwd = "/home/fuzz/src/proj",
		    .argv = argv_,
		    .environ = environ_,
		};
		struct plan *pl = plan_build(p, &inv, &host, &d);
		FUZZ_CHECK((pl == NULL) == (d.n > 0));
		if (pl) {
			char *json = plan_explain_json(pl);
			check_round_trip(pl, json);
			free(json);
			free(plan_explain_text(pl, false));
			free(plan_explain_text(pl, true));
			plan_free(pl);
		}
	}
	policy_free(p);
	diags_free(&d);
	return 0;
}
