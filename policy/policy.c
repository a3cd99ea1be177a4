/* INI policy parsing with inih. inih calls us once per key; we record every
 * value with its line and validate afterwards, so one run of `cordon check`
 * reports every problem in the file. */
#include "policy.h"

#include <ctype.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "netplan.h"
#include "schema.h"
#include "util.h"

/* Longest line we accept. inih's own buffer is sized from this, so a longer
 * line is reported instead of being silently split. */
#define POLICY_MAX_LINE 16384

struct parse_state {
	struct policy *p;
	struct diags *d;
	const char *text;
	size_t len, pos;
	int line;
	bool at_line_start;
};

void diags_add(struct diags *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
	struct diag *x = &d->v[d->n++];
	x->file = xstrdup(file);
	x->line = line;
	va_start(ap, fmt);
	x->msg = xvasprintf(fmt, ap);
	va_end(ap);
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

void diags_print(const struct diags *d, int fd)
{
	buf_t b = {0};
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line > 0)
			buf_printf(&b, "%s:%d: %s\n", d->v[i].file, d->v[i].line, d->v[i].msg);
		else
			buf_printf(&b, "%s: %s\n", d->v[i].file, d->v[i].msg);
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t w = write(fd, b.p + off, b.len - off);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	buf_free(&b);
}

static void plist_add(struct plist *l, const char *value, int line)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].value = xstrdup(value);
	l->v[l->n].line = line;
	l->n++;
}

static void plist_free(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].value);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool skip_space(const char *line, size_t len, size_t *i)
{
	while (*i < len && isspace((unsigned char)line[*i]))
		(*i)++;
	return *i < len;
}

/* inih reports only the first error of a file and calls us only for keys,
 * so every line is also looked at here, the way inih will read it: a
 * misspelt or malformed section header, or a line that is neither a
 * comment nor key = value, is reported where it is. Returns true when the
 * line must be hidden from inih (it is reported, and inih would otherwise
 * misread it). */
static bool check_line(struct parse_state *st, const char *line, size_t len)
{
	size_t i = 0;
	if (st->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
		i = 3; /* inih skips a UTF-8 byte-order mark */
	if (!skip_space(line, len, &i) || line[i] == ';' || line[i] == '#')
		return false;
	if (line[i] != '[') {
		if (!memchr(line + i, '=', len - i) && !memchr(line + i, ':', len - i)) {
			diags_add(st->d, st->p->file, st->line, "syntax error (expected [section] or key = value)");
			return true;
		}
		return false;
	}
	const char *end = memchr(line + i, ']', len - i);
	if (!end) {
		diags_add(st->d, st->p->file, st->line, "syntax error (section header without ])");
		return true;
	}
	cleanup_free char *name = xstrndup(line + i + 1, (size_t)(end - line - i - 1));
	size_t after = (size_t)(end - line) + 1;
	if (skip_space(line, len, &after) && line[after] != ';' && line[after] != '#')
		diags_add(st->d, st->p->file, st->line, "text after the section header [%s]", name);
	if (str_has_prefix(name, "user:") && !valid_account_name(name + 5))
		diags_add(st->d, st->p->file, st->line, "invalid user name in section [%s]", name);
	else if (!policy_section_known(name))
		diags_add(st->d, st->p->file, st->line, "unknown section [%s]", name);
	/* Headers go on to inih even when wrong, so keys below them are
	 * attributed to that section (and ignored) rather than to the one
	 * above. */
	return false;
}

/* An fgets() over the in-memory text that also counts lines, so the
 * handler knows which line inih is on. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	if (st->pos >= st->len)
		return NULL;
	if (st->at_line_start) {
		st->line++;
		const char *line = st->text + st->pos;
		const char *nl = memchr(line, '\n', st->len - st->pos);
		size_t linelen = (nl ? (size_t)(nl - line) + 1 : st->len - st->pos);
		size_t content = linelen - (nl ? 1 : 0);
		if (content && line[content - 1] == '\r')
			content--;
		bool hide = false;
		if (content > POLICY_MAX_LINE) {
			diags_add(st->d, st->p->file, st->line, "line too long (over %d bytes)", POLICY_MAX_LINE);
			hide = true;
		} else if (memchr(line, '\0', linelen)) {
			diags_add(st->d, st->p->file, st->line, "NUL byte in line");
			hide = true;
		} else {
			hide = check_line(st, line, content);
		}
		if (hide) {
			st->pos += linelen;
			memcpy(str, "\n", 2);
			return str;
		}
	}
	size_t n = 0;
	while (st->pos < st->len && n + 1 < (size_t)num) {
		char c = st->text[st->pos++];
		str[n++] = c;
		if (c == '\n')
			break;
	}
	str[n] = '\0';
	st->at_line_start = n > 0 && str[n - 1] == '\n';
	return str;
}

static struct user_section *user_section_get(struct policy *p, const char *name, int line)
{
	for (size_t i = 0; i < p->n_users; i++)
		if (strcmp(p->users[i].name, name) == 0)
			return &p->users[i];
	p->users = xreallocarray(p->users, p->n_users + 1, sizeof(*p->users));
	struct user_section *u = &p->users[p->n_users++];
	memset(u, 0, sizeof(*u));
	u->name = xstrdup(name);
	u->line = line;
	return u;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct policy *p = st->p;
	int line = st->line;

	if (!*section) {
		diags_add(st->d, p->file, line, "key '%s' outside of any [section]", name);
		return 0;
	}
	if (str_has_prefix(section, "user:")) {
		const char *uname = section + 5;
		if (!valid_account_name(uname))
			return 1; /* reported once, at the header */
		if (strcmp(name, "project_root") != 0) {
			diags_add(st->d, p->file, line, "unknown key '%s' in [%s] (only project_root)", name, section);
			return 0;
		}
		plist_add(&user_section_get(p, uname, line)->project_root, value, line);
		return 1;
	}
	if (strcmp(section, "secrets") == 0) {
		/* Every key is a secret's name; check_secrets validates both
		 * halves. */
		p->secrets = xreallocarray(p->secrets, p->n_secrets + 1, sizeof(*p->secrets));
		p->secrets[p->n_secrets++] = (struct secret_entry){xstrdup(name), xstrdup(value), line};
		return 1;
	}
	if (!policy_section_known(section))
		return 1; /* reported once, at the header */
	const struct policy_key *k = policy_key_find(section, name);
	if (k && k->kind == KEY_LIST) {
		plist_add((struct plist *)((char *)p + k->field), value, line);
		return 1;
	}
	if (k) {
		struct pval *v = (struct pval *)((char *)p + k->field);
		if (v->value) {
			diags_add(st->d, p->file, line, "duplicate key '%s' in [%s] (first set at line %d)", name,
			          section, v->line);
			return 0;
		}
		v->value = xstrdup(value);
		v->line = line;
		return 1;
	}
	diags_add(st->d, p->file, line, "unknown key '%s' in [%s]", name, section);
	return 0;
}

/* ---- validation ---- */

struct vctx {
	struct policy *p;
	struct diags *d;
};

#define BAD(c, line, ...) diags_add((c)->d, (c)->p->file, (line), __VA_ARGS__)

static void check_path_list(struct vctx *c, struct plist *l, const char *key, bool relative_ok, bool absolute_ok)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;
		const char *v = l->v[i].value;
		if (!absolute_ok && (v[0] == '/' || v[0] == '~')) {
			BAD(c, l->v[i].line, "%s: %s must be relative to the project root", key, v);
			continue;
		}
		if (!valid_policy_path(v, relative_ok, &why)) {
			BAD(c, l->v[i].line, "%s: %s: %s", key, v, why);
			continue;
		}
		/* Keep a trailing slash on relative mask/protect entries: it asks
		 * for a directory placeholder when the path does not exist. */
		bool dir_hint = relative_ok && str_has_suffix(v, "/") && strlen(v) > 1;
		char *norm = normalize_path(v);
		if (dir_hint) {
			char *t = xasprintf("%s/", norm);
			free(norm);
			norm = t;
		}
		free(l->v[i].value);
		l->v[i].value = norm;
	}
}

/* Parses s as k's simple type into k's typed field. False with *why, or
 * with *why NULL for an enum value that is none of k's values. */
static bool set_simple(struct policy *p, const struct policy_key *k, const char *s, const char **why)
{
	void *out = (char *)p + k->out;
	uint64_t n;
	*why = NULL;
	switch (k->type) {
	case KT_BOOL:
		return parse_bool(s, out, why);
	case KT_ENUM:
		for (unsigned i = 0; k->values[i]; i++) {
			if (strcmp(s, k->values[i]) == 0) {
				memcpy(out, &i, sizeof(i));
				return true;
			}
		}
		return false;
	case KT_SIZE:
		if (!parse_size(s, &n, why))
			return false;
		break;
	case KT_DURATION:
		if (!parse_duration_ms(s, &n, why))
			return false;
		break;
	case KT_UINT:
		if (!parse_uint(s, k->max ? k->max : UINT64_MAX, &n, why))
			return false;
		break;
	case KT_CPU:
		if (!parse_cpu(s, &n, why))
			return false;
		break;
	default:
		return true;
	}
	memcpy(out, &n, sizeof(n));
	if (n < k->min || (k->max && n > k->max)) {
		*why = k->range;
		return false;
	}
	return true;
}

/* "expected none, proxy or host" */
static char *enum_expected(const struct policy_key *k)
{
	buf_t b = {0};
	buf_puts(&b, "expected ");
	for (size_t i = 0; k->values[i]; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : k->values[i + 1] ? ", " : " or ", k->values[i]);
	return b.p;
}

/* The simple types and plain paths, from the table alone: the default
 * first, then the value given. */
static void check_typed(struct vctx *c, const struct policy_key *k)
{
	struct policy *p = c->p;
	const char *why;
	if (k->type == KT_PATH) {
		if (k->kind == KEY_LIST) {
			check_path_list(c, (struct plist *)((char *)p + k->field), k->name, k->paths != PATHS_ABSOLUTE,
			                k->paths != PATHS_RELATIVE);
			return;
		}
		/* A scalar path is checked as a list of one. */
		struct plist one = {.v = (struct pval *)((char *)p + k->field), .n = 1};
		if (one.v->value)
			check_path_list(c, &one, k->name, k->paths != PATHS_ABSOLUTE, k->paths != PATHS_RELATIVE);
		return;
	}
	if (!k->out)
		return;
	const struct pval *v = (const struct pval *)((char *)p + k->field);
	if (k->dflt && !set_simple(p, k, k->dflt, &why))
		abort(); /* the table's own default: a test parses each one */
	if (!v->value || set_simple(p, k, v->value, &why))
		return;
	if (why) {
		BAD(c, v->line, "%s: %s", k->name, why);
		return;
	}
	cleanup_free char *expected = enum_expected(k);
	BAD(c, v->line, "%s: %s", k->name, expected);
}

/* The line of k's first value, 0 if it was not given. */
static int key_line(const struct policy *p, const struct policy_key *k)
{
	const char *field = (const char *)p + k->field;
	if (k->kind == KEY_LIST) {
		const struct plist *l = (const struct plist *)field;
		return l->n ? l->v[0].line : 0;
	}
	const struct pval *v = (const struct pval *)field;
	return v->value ? v->line : 0;
}

/* Keys of one network set-up under another would read as restrictions
 * that are not applied; refuse them rather than let a policy mislead. A
 * shared proxy (socket =) applies its own policy's allow list, limits and
 * timeouts, not the sandbox's. */
static void check_network_keys(struct vctx *c)
{
	const struct policy *p = c->p;
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		int line = k->net == NET_ANY_MODE ? 0 : key_line(p, k);
		if (!line)
			continue;
		if (p->net_mode != NET_PROXY)
			BAD(c, line, "%s only applies with mode = proxy", k->name);
		else if (k->net == NET_OWN_PROXY && p->socket.value)
			BAD(c, line,
			    "%s is not used with socket = (line %d): the shared proxy at the socket applies its own "
			    "policy",
			    k->name, p->socket.line);
	}
}

/* A guard is a path, not a pattern: `*` would make a placeholder named
 * "*". Guards below .git/ already reach submodules and worktrees. */
static void check_no_wildcards(struct vctx *c, const struct plist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strpbrk(l->v[i].value, "*?["))
			BAD(c, l->v[i].line,
			    "%s: %s: wildcards are not supported (a guard below .git/ also covers the git directories "
			    "of submodules and linked worktrees)",
			    key, l->v[i].value);
}

/* ro, ro_try, rw, rw_try and tmpfs, once checked as paths. */
static void check_dest_list(struct vctx *c, const struct plist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *v = l->v[i].value;
		if (strcmp(v, "/") == 0)
			BAD(c, l->v[i].line,
			    "%s: the sandbox root is always a fresh tmpfs; list the directories to bind instead", key);
		else if (path_is_beneath(v, "/proc") || path_is_beneath(v, "/dev"))
			BAD(c, l->v[i].line, "%s: %s is provided by cordon and cannot be replaced", key, v);
	}
}

static void check_sandbox(struct vctx *c)
{
	struct policy *p = c->p;
	const char *why;
	if (p->name.value &&
	    (strlen(p->name.value) > 64 ||
	     strspn(p->name.value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	         strlen(p->name.value) ||
	     !*p->name.value))
		BAD(c, p->name.line, "name: use letters, digits, '.', '_' or '-' (at most 64)");
	if (p->command.value && !*p->command.value)
		BAD(c, p->command.line, "command: empty");
	char *sha = p->command_sha256.value;
	if (sha && (strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64))
		BAD(c, p->command_sha256.line, "command_sha256: expected the file's SHA-256, 64 hexadecimal digits");
	else
		for (; sha && *sha; sha++)
			*sha = (char)tolower((unsigned char)*sha);
	if (p->user.value && !valid_account_name(p->user.value))
		BAD(c, p->user.line, "user: '%s' is not a valid account name", p->user.value);
	if (p->hostname.value && (strlen(p->hostname.value) > 64 || !valid_hostname_label_chars(p->hostname.value)))
		BAD(c, p->hostname.line, "hostname: '%s' is not a valid host name", p->hostname.value);
	if (p->home.value && strcmp(p->home.value, "tmpfs") != 0 && strcmp(p->home.value, "persist") != 0) {
		if (!valid_policy_path(p->home.value, false, &why))
			BAD(c, p->home.line, "home: expected tmpfs, persist or a directory: %s", why);
		else {
			char *n = normalize_path(p->home.value);
			free(p->home.value);
			p->home.value = n;
		}
	}
}

/* home_copy names what to copy from the invoker's home: a path below it,
 * never the home itself, never above it. It is allowed with every home
 * mode: with tmpfs the copy is made into the fresh tmpfs at every start. */
static void check_home_copy(struct vctx *c)
{
	struct plist *l = &c->p->home_copy;
	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;
		const char *v = l->v[i].value;
		if (!*v || v[0] == '/' || v[0] == '~') {
			BAD(c, l->v[i].line,
			    "home_copy: '%s' must be a path relative to the invoking user's home (.pi/agent)", v);
			continue;
		}
		if (!valid_policy_path(v, true, &why)) {
			BAD(c, l->v[i].line, "home_copy: %s: %s", v, why);
			continue;
		}
		char *n = normalize_path(v);
		free(l->v[i].value);
		l->v[i].value = n;
	}
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->v[i].value, l->v[j].value) == 0)
				BAD(c, l->v[i].line, "home_copy: %s is already listed at line %d", l->v[i].value,
				    l->v[j].line);
}

/* home_managed = REL:/ABS: the administrator's file ABS is shown
 * read-only at REL in the agent's home, over whatever home_copy put
 * there, so managed settings win. */
static void check_home_managed(struct vctx *c)
{
	struct plist *l = &c->p->home_managed;
	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;
		const char *v = l->v[i].value;
		const char *colon = strchr(v, ':');
		if (!colon || colon == v || colon[1] != '/') {
			BAD(c, l->v[i].line,
			    "home_managed: '%s' must be REL:/ABSOLUTE "
			    "(.pi/agent/settings.json:/etc/cordon/pi-settings.json)",
			    v);
			continue;
		}
		cleanup_free char *rel = xstrndup(v, (size_t)(colon - v));
		if (rel[0] == '/' || rel[0] == '~' || !valid_policy_path(rel, true, &why) ||
		    !valid_policy_path(colon + 1, false, &why)) {
			BAD(c, l->v[i].line, "home_managed: %s: %s", v,
			    why ? why : "the first half must be relative to the home");
			continue;
		}
		cleanup_free char *nrel = normalize_path(rel);
		cleanup_free char *nabs = normalize_path(colon + 1);
		if (strcmp(nrel, ".") == 0) {
			BAD(c, l->v[i].line, "home_managed: %s: names the home itself", v);
			continue;
		}
		char *n = xasprintf("%s:%s", nrel, nabs);
		free(l->v[i].value);
		l->v[i].value = n;
	}
}

static void check_filesystem(struct vctx *c)
{
	struct policy *p = c->p;
	check_dest_list(c, &p->ro, "ro");
	check_dest_list(c, &p->ro_try, "ro_try");
	check_dest_list(c, &p->rw, "rw");
	check_dest_list(c, &p->rw_try, "rw_try");
	check_dest_list(c, &p->tmpfs, "tmpfs");
	for (size_t i = 0; i < p->n_users; i++)
		check_path_list(c, &p->users[i].project_root, "project_root", false, true);
	check_no_wildcards(c, &p->mask, "mask");
	check_no_wildcards(c, &p->protect, "protect");

	for (size_t i = 0; i < p->symlink.n; i++) {
		struct pval *v = &p->symlink.v[i];
		char *colon = strrchr(v->value, ':');
		const char *why = NULL;
		if (!colon || colon == v->value || !colon[1]) {
			BAD(c, v->line, "symlink: expected TARGET:LINKPATH");
			continue;
		}
		if (!valid_policy_path(colon + 1, false, &why)) {
			BAD(c, v->line, "symlink: link path %s: %s", colon + 1, why);
			continue;
		}
		cleanup_free char *link = normalize_path(colon + 1);
		if (path_is_beneath(link, "/proc") || path_is_beneath(link, "/dev") || strcmp(link, "/") == 0)
			BAD(c, v->line, "symlink: %s is provided by cordon and cannot be replaced", link);
	}
}

/* allow and deny are parsed where they are used, into the net plan
 * (netplan.c); here only checked, with the same parser. */
static void check_rules(struct vctx *c, const struct plist *raw, const char *key)
{
	for (size_t i = 0; i < raw->n; i++) {
		const char *why = NULL;
		struct net_rule r;
		if (!net_rule_parse(raw->v[i].value, &r, &why))
			BAD(c, raw->v[i].line, "%s: %s: %s", key, raw->v[i].value, why);
	}
}

/* allow_private: one true or false, or address ranges (netplan.c parses
 * them with the same function), never both. */
static void check_allow_private(struct vctx *c)
{
	struct policy *p = c->p;
	const struct plist *l = &p->allow_private_v;
	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;
		bool b;
		struct net_rule r;
		if (parse_bool(l->v[i].value, &b, &why)) {
			if (l->n > 1)
				BAD(c, l->v[i].line,
				    "allow_private: %s cannot be combined with other allow_private lines (true opens "
				    "every "
				    "private range; ranges open only themselves)",
				    l->v[i].value);
			p->allow_private = b;
			continue;
		}
		if (!net_cidr_parse(l->v[i].value, &r, &why))
			BAD(c, l->v[i].line, "allow_private: %s: %s", l->v[i].value, why);
	}
}

static void check_network(struct vctx *c)
{
	struct policy *p = c->p;
	check_rules(c, &p->allow, "allow");
	check_rules(c, &p->deny, "deny");
	check_allow_private(c);
	p->notify = true;
	if (p->notify_v.value) {
		if (strcmp(p->notify_v.value, "off") == 0)
			p->notify = false;
		else if (strcmp(p->notify_v.value, "stderr") != 0)
			BAD(c, p->notify_v.line, "notify: expected stderr or off");
	}
	check_network_keys(c);
}

/* [audit] log: a path, or stderr for the launcher's standard error. */
static void check_audit(struct vctx *c)
{
	struct pval *v = &c->p->audit_log;
	if (!v->value || strcmp(v->value, AUDIT_STDERR) == 0)
		return;
	struct plist one = {.v = v, .n = 1};
	check_path_list(c, &one, "log", false, true);
}

/* [secrets] NAME = env:VAR | file:/PATH. The name becomes a file name in
 * /run/secrets; a duplicate would make one secret hide another. */
static void check_secrets(struct vctx *c)
{
	struct policy *p = c->p;
	if (p->n_secrets > SECRETS_MAX)
		BAD(c, p->secrets[SECRETS_MAX].line, "secrets: at most %d secrets", SECRETS_MAX);
	for (size_t i = 0; i < p->n_secrets; i++) {
		struct secret_entry *s = &p->secrets[i];
		const char *why = NULL;
		if (!valid_secret_name(s->name)) {
			BAD(c, s->line,
			    "secrets: '%s' is not a secret name (letters, digits, '.', '_' or '-', at most %d, not . "
			    "or ..)",
			    s->name, SECRET_NAME_MAX);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->secrets[j].name, s->name) == 0)
				BAD(c, s->line, "secrets: %s is already defined at line %d", s->name,
				    p->secrets[j].line);
		if (str_has_prefix(s->source, "env:")) {
			if (!valid_env_name(s->source + 4, false))
				BAD(c, s->line, "secrets: %s: env:%s is not a variable name", s->name, s->source + 4);
		} else if (str_has_prefix(s->source, "file:")) {
			const char *path = s->source + 5;
			if (path[0] != '/' || !valid_policy_path(path, false, &why)) {
				BAD(c, s->line, "secrets: %s: file:%s: %s", s->name, path,
				    path[0] != '/' ? "must be an absolute path" : why);
				continue;
			}
			cleanup_free char *norm = normalize_path(path);
			if (strcmp(norm, "/") == 0) {
				BAD(c, s->line, "secrets: %s: file:/ is not a file", s->name);
				continue;
			}
			free(s->source);
			s->source = xasprintf("file:%s", norm);
		} else {
			BAD(c, s->line, "secrets: %s: expected env:VARIABLE or file:/ABSOLUTE/PATH", s->name);
		}
	}
}

static void check_env(struct vctx *c)
{
	struct policy *p = c->p;
	for (size_t i = 0; i < p->env_keep.n; i++)
		if (!valid_env_name(p->env_keep.v[i].value, true))
			BAD(c, p->env_keep.v[i].line, "keep: '%s' is not a variable name (NAME or PREFIX*)",
			    p->env_keep.v[i].value);
	for (size_t i = 0; i < p->env_set.n; i++) {
		const char *v = p->env_set.v[i].value;
		const char *eq = strchr(v, '=');
		cleanup_free char *name = eq ? xstrndup(v, (size_t)(eq - v)) : NULL;
		if (!name || !valid_env_name(name, false))
			BAD(c, p->env_set.v[i].line, "set: expected NAME=VALUE");
	}
}

static void check_misc(struct vctx *c)
{
	struct policy *p = c->p;
	const char *why;
	const char *prof = p->seccomp_profile.value;
	if (prof) {
		bool is_path = prof[0] == '/';
		if (is_path ? !valid_policy_path(prof, false, &why)
		            : (strspn(prof, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		                   strlen(prof) ||
		               prof[0] == '.' || !*prof))
			BAD(c, p->seccomp_profile.line, "profile: expected a profile name or an absolute path");
	}
	struct plist *ports[] = {&p->tcp_bind, &p->tcp_connect};
	const char *port_keys[] = {"tcp_bind", "tcp_connect"};
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < ports[k]->n; i++) {
			uint64_t port;
			const char *v = ports[k]->v[i].value;
			if (strcmp(v, "any") == 0) {
				if (ports[k]->n > 1)
					BAD(c, ports[k]->v[i].line, "%s: any cannot be combined with ports",
					    port_keys[k]);
				continue;
			}
			if (!parse_uint(v, 65535, &port, &why))
				BAD(c, ports[k]->v[i].line, "%s: expected a port (0-65535) or any", port_keys[k]);
		}
	}
}

struct policy *policy_parse(const char *file, const char *text, size_t len, struct diags *d)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	p->file = xstrdup(file);
	struct parse_state st = {.p = p, .d = d, .text = text, .len = len, .at_line_start = true};

	/* Debian's inih exposes its build options as variables. A heap buffer
	 * big enough for the longest line we accept keeps inih from splitting
	 * long lines; continuation lines are off so indentation cannot silently
	 * glue a value onto the key above it. */
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = POLICY_MAX_LINE + 3;
	ini_initial_alloc = POLICY_MAX_LINE + 3;
	ini_allow_multiline = false;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;
	ini_allow_inline_comments = true;

	size_t before = d->n;
	int r = ini_parse_stream(reader, &st, handler, &st);
	if (r == -2) {
		diags_add(d, file, 0, "out of memory while parsing");
	} else if (r > 0) {
		/* inih reports only the first error line; if our handler did not
		 * already explain that line, it was a syntax error. */
		bool explained = false;
		for (size_t i = before; i < d->n; i++)
			if (d->v[i].line == r)
				explained = true;
		if (!explained)
			diags_add(d, file, r, "syntax error (expected [section] or key = value)");
	}

	struct vctx c = {.p = p, .d = d};
	for (size_t i = 0; i < n_policy_keys; i++)
		check_typed(&c, &policy_keys[i]);
	check_sandbox(&c);
	check_home_copy(&c);
	check_home_managed(&c);
	check_filesystem(&c);
	check_network(&c);
	check_audit(&c);
	check_secrets(&c);
	check_env(&c);
	check_misc(&c);
	return p;
}

static void pval_free(struct pval *v)
{
	free(v->value);
	v->value = NULL;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->file);
	for (size_t i = 0; i < n_policy_keys; i++) {
		char *field = (char *)p + policy_keys[i].field;
		if (policy_keys[i].kind == KEY_LIST)
			plist_free((struct plist *)field);
		else
			pval_free((struct pval *)field);
	}
	for (size_t i = 0; i < p->n_users; i++) {
		free(p->users[i].name);
		plist_free(&p->users[i].project_root);
	}
	free(p->users);
	for (size_t i = 0; i < p->n_secrets; i++) {
		free(p->secrets[i].name);
		free(p->secrets[i].source);
	}
	free(p->secrets);
	free(p->sha256);
	free(p);
}
