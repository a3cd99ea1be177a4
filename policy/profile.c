/* Parsing of seccomp profiles (format in profile.h). Syscall names are
 * checked against libseccomp's tables, so a typo is a FILE:LINE error and
 * never a rule that silently matches nothing. */
#include "profile.h"

#include <asm/ioctls.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define MAX_INCLUDE_DEPTH 4

struct builtin_profile {
	const char *name;
	const char *text;
};
/* Generated at build time from seccomp-profiles/ (cmake/embed-profiles.cmake). */
extern const struct builtin_profile cordon_builtin_profiles[];
extern const size_t cordon_builtin_profiles_n;

static const struct {
	const char *name;
	uint64_t value;
} constants[] = {
    {"CLONE_NEWNS", CLONE_NEWNS},
    {"CLONE_NEWUTS", CLONE_NEWUTS},
    {"CLONE_NEWIPC", CLONE_NEWIPC},
    {"CLONE_NEWUSER", CLONE_NEWUSER},
    {"CLONE_NEWPID", CLONE_NEWPID},
    {"CLONE_NEWNET", CLONE_NEWNET},
    {"CLONE_NEWCGROUP", CLONE_NEWCGROUP},
    {"CLONE_NEWTIME", CLONE_NEWTIME},
    {"TIOCSTI", TIOCSTI},
    {"TIOCLINUX", TIOCLINUX},
    {"PER_LINUX", PER_LINUX},
    {"ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE},
    {"READ_IMPLIES_EXEC", READ_IMPLIES_EXEC},
    {"AF_UNIX", AF_UNIX},
    {"AF_INET", AF_INET},
    {"AF_INET6", AF_INET6},
    {"AF_NETLINK", AF_NETLINK},
    {"AF_PACKET", AF_PACKET},
    {"S_ISUID", S_ISUID},
    {"S_ISGID", S_ISGID},
    {"O_CREAT", O_CREAT},
    {"O_TMPFILE", O_TMPFILE},
};

/* The errno values a filter can return: SECCOMP_RET_ERRNO carries at most
 * the kernel's MAX_ERRNO. */
#define MAX_ERRNO 4095

/* Names that strerrorname_np(3) never returns because another name has the
 * same number (glibc's <bits/errno.h> on Linux). */
static const struct {
	const char *name;
	int value;
} errno_aliases[] = {
    {"EWOULDBLOCK", EWOULDBLOCK},
    {"ENOTSUP", ENOTSUP},
    {"EDEADLOCK", EDEADLOCK},
};

/* Every errno name the C library knows: its own table, through
 * strerrorname_np(3) (a lookup, no system call, the same answer every
 * time), plus the aliases above. */
bool profile_errno_from_name(const char *name, int *out)
{
	for (size_t i = 0; i < N_ELEMENTS(errno_aliases); i++)
		if (strcmp(errno_aliases[i].name, name) == 0) {
			*out = errno_aliases[i].value;
			return true;
		}
	for (int e = 1; e <= MAX_ERRNO; e++) {
		const char *n = strerrorname_np(e);
		if (n && strcmp(n, name) == 0) {
			*out = e;
			return true;
		}
	}
	return false;
}

const char *profile_builtin_text(const char *name)
{
	for (size_t i = 0; i < cordon_builtin_profiles_n; i++)
		if (strcmp(cordon_builtin_profiles[i].name, name) == 0)
			return cordon_builtin_profiles[i].text;
	return NULL;
}

const char *profile_builtin_names(void)
{
	static char names[256];
	if (!names[0]) {
		size_t off = 0;
		for (size_t i = 0; i < cordon_builtin_profiles_n && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
			                        cordon_builtin_profiles[i].name);
	}
	return names;
}

const char *sc_action_text(const struct sc_action *a, char *buf, size_t n)
{
	switch (a->kind) {
	case SC_ALLOW:
		return "allow";
	case SC_KILL:
		return "kill";
	case SC_LOG:
		return "log";
	case SC_ERRNO:
		if (a->err == EPERM)
			return "deny";
		if (a->err == ENOSYS)
			return "enosys";
		const char *name = strerrorname_np(a->err);
		if (name)
			snprintf(buf, n, "errno:%s", name);
		else
			snprintf(buf, n, "errno:%d", a->err);
		return buf;
	}
	return "?";
}

static bool parse_action(const char *s, struct sc_action *a)
{
	if (strcmp(s, "allow") == 0)
		*a = (struct sc_action){SC_ALLOW, 0};
	else if (strcmp(s, "deny") == 0)
		*a = (struct sc_action){SC_ERRNO, EPERM};
	else if (strcmp(s, "enosys") == 0)
		*a = (struct sc_action){SC_ERRNO, ENOSYS};
	else if (strcmp(s, "kill") == 0)
		*a = (struct sc_action){SC_KILL, 0};
	else if (strcmp(s, "log") == 0)
		*a = (struct sc_action){SC_LOG, 0};
	else if (str_has_prefix(s, "errno:")) {
		int err;
		if (!profile_errno_from_name(s + 6, &err))
			return false;
		*a = (struct sc_action){SC_ERRNO, err};
	} else
		return false;
	return true;
}

/* A number (decimal, 0x hex, 0 octal) or a constant, or several joined
 * with |. The whole of [s, end) must be consumed. */
static bool parse_value(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	if (s >= end)
		return false; /* "arg0==" is not arg0==0 */
	while (s < end) {
		const char *bar = memchr(s, '|', (size_t)(end - s));
		const char *stop = bar ? bar : end;
		cleanup_free char *tok = xstrndup(s, (size_t)(stop - s));
		bool found = false;
		for (size_t i = 0; i < N_ELEMENTS(constants); i++)
			if (strcmp(constants[i].name, tok) == 0) {
				v |= constants[i].value;
				found = true;
			}
		if (!found) {
			char *e;
			if (!*tok || tok[0] == '-' || tok[0] == '+')
				return false;
			errno = 0;
			unsigned long long n = strtoull(tok, &e, 0);
			if (*e || errno)
				return false;
			v |= n;
		}
		s = bar ? bar + 1 : end;
		if (bar && s == end)
			return false;
	}
	*out = v;
	return true;
}

static bool parse_cond(const char *s, struct sc_cond *c)
{
	if (strncmp(s, "arg", 3) != 0 || s[3] < '0' || s[3] > '5')
		return false;
	c->arg = (unsigned)(s[3] - '0');
	const char *p = s + 4;
	const char *end = s + strlen(s);
	if (*p == '&') {
		const char *eq = strstr(p, "==");
		if (!eq || !parse_value(p + 1, eq, &c->mask) || !parse_value(eq + 2, end, &c->value))
			return false;
		c->op = SC_MASKED_EQ;
		/* Bits of V outside M could never match. */
		return (c->value & ~c->mask) == 0;
	}
	static const struct {
		const char *text;
		enum sc_op op;
	} ops[] = {{"==", SC_EQ}, {"!=", SC_NE}, {"<=", SC_LE}, {">=", SC_GE}, {"<", SC_LT}, {">", SC_GT}};
	for (size_t i = 0; i < N_ELEMENTS(ops); i++) {
		size_t n = strlen(ops[i].text);
		if (strncmp(p, ops[i].text, n) == 0) {
			c->op = ops[i].op;
			return parse_value(p + n, end, &c->value);
		}
	}
	return false;
}

struct pctx {
	struct sc_profile *p;
	struct diags *d;
	const char *file;
	int line;
};

static struct sc_layer *current_layer(struct pctx *c)
{
	return c->p->n_layers ? &c->p->layers[c->p->n_layers - 1] : NULL;
}

static void rule_free(struct sc_rule *r)
{
	free(r->syscall);
	free(r->text);
	free(r->file);
}

static void parse_text(struct pctx *c, const char *text, int depth);

/* Says why an action did not parse. */
static void bad_action(struct pctx *c, const char *what, const char *word)
{
	if (word && str_has_prefix(word, "errno:"))
		diags_add(c->d, c->file, c->line, "%s: unknown errno name '%s' (a name errno(3) lists, such as EACCES)",
		          what, word + 6);
	else
		diags_add(c->d, c->file, c->line, "%s: expected an action (allow, deny, enosys, errno:NAME, kill, log)",
		          what);
}

static void directive_unset(struct pctx *c, char **tok, size_t n)
{
	if (n != 2) {
		diags_add(c->d, c->file, c->line, "unset: expected one syscall name");
		return;
	}
	if (seccomp_syscall_resolve_name(tok[1]) == __NR_SCMP_ERROR) {
		diags_add(c->d, c->file, c->line, "unset: unknown syscall '%s'", tok[1]);
		return;
	}
	for (size_t l = 0; l < c->p->n_layers; l++) {
		struct sc_layer *ly = &c->p->layers[l];
		size_t out = 0;
		for (size_t i = 0; i < ly->n_rules; i++) {
			if (strcmp(ly->rules[i].syscall, tok[1]) == 0)
				rule_free(&ly->rules[i]);
			else
				ly->rules[out++] = ly->rules[i];
		}
		ly->n_rules = out;
	}
}

static void add_rule(struct pctx *c, char **tok, size_t n, const char *raw)
{
	struct sc_layer *ly = current_layer(c);
	if (!ly) {
		diags_add(c->d, c->file, c->line, "rule before the first `default` line");
		return;
	}
	struct sc_rule r = {0};
	int nr = seccomp_syscall_resolve_name(tok[0]);
	if (nr == __NR_SCMP_ERROR) {
		diags_add(c->d, c->file, c->line, "unknown syscall '%s'", tok[0]);
		return;
	}
	if (n < 2 || !parse_action(tok[1], &r.action)) {
		bad_action(c, tok[0], n < 2 ? NULL : tok[1]);
		return;
	}
	if (n - 2 > SC_MAX_CONDS) {
		diags_add(c->d, c->file, c->line, "%s: at most %d conditions", tok[0], SC_MAX_CONDS);
		return;
	}
	for (size_t i = 2; i < n; i++) {
		struct sc_cond *cd = &r.conds[r.n_conds];
		if (!parse_cond(tok[i], cd)) {
			diags_add(c->d, c->file, c->line,
			          "%s: bad condition '%s' (argN==V, argN&MASK==V, <, <=, >, >=, !=)", tok[0], tok[i]);
			return;
		}
		for (unsigned j = 0; j < r.n_conds; j++)
			if (r.conds[j].arg == cd->arg) {
				diags_add(c->d, c->file, c->line,
				          "%s: two conditions on arg%u (write two rules instead)", tok[0], cd->arg);
				return;
			}
		r.n_conds++;
	}
	if (r.action.kind == ly->def.kind && r.action.err == ly->def.err) {
		diags_add(c->d, c->file, c->line, "%s: action is the same as this layer's default", tok[0]);
		return;
	}
	r.syscall = xstrdup(tok[0]);
	r.nr = nr;
	r.text = xstrdup(raw);
	r.file = xstrdup(c->file);
	r.line = c->line;
	ly->rules = xreallocarray(ly->rules, ly->n_rules + 1, sizeof(*ly->rules));
	ly->rules[ly->n_rules++] = r;
}

static void parse_line(struct pctx *c, char *line, int depth)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *tok[SC_MAX_CONDS + 4];
	size_t n = 0;
	char *save = NULL;
	cleanup_free char *raw = NULL;
	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n == N_ELEMENTS(tok)) {
			diags_add(c->d, c->file, c->line, "too many fields");
			return;
		}
		tok[n++] = t;
	}
	if (n == 0)
		return;
	buf_t b = {0};
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", tok[i]);
	raw = b.p;

	if (strcmp(tok[0], "default") == 0) {
		struct sc_action a;
		if (n != 2) {
			diags_add(c->d, c->file, c->line, "default: expected one action");
			return;
		}
		if (!parse_action(tok[1], &a)) {
			if (str_has_prefix(tok[1], "errno:"))
				bad_action(c, "default", tok[1]);
			else
				diags_add(c->d, c->file, c->line, "default: expected one action");
			return;
		}
		if (c->p->n_layers == SC_MAX_LAYERS) {
			diags_add(c->d, c->file, c->line, "default: more than %d layers", SC_MAX_LAYERS);
			return;
		}
		c->p->layers = xreallocarray(c->p->layers, c->p->n_layers + 1, sizeof(*c->p->layers));
		c->p->layers[c->p->n_layers++] = (struct sc_layer){.def = a, .file = xstrdup(c->file), .line = c->line};
	} else if (strcmp(tok[0], "include") == 0) {
		if (depth >= MAX_INCLUDE_DEPTH) {
			diags_add(c->d, c->file, c->line, "include: nested too deeply");
			return;
		}
		const char *inc = n == 2 ? profile_builtin_text(tok[1]) : NULL;
		if (!inc) {
			diags_add(c->d, c->file, c->line, "include: expected a built-in profile (%s)",
			          profile_builtin_names());
			return;
		}
		cleanup_free char *file = xasprintf("seccomp-profiles/%s.profile", tok[1]);
		struct pctx sub = {.p = c->p, .d = c->d, .file = file};
		parse_text(&sub, inc, depth + 1);
	} else if (strcmp(tok[0], "unset") == 0) {
		directive_unset(c, tok, n);
	} else {
		add_rule(c, tok, n, raw);
	}
}

static void parse_text(struct pctx *c, const char *text, int depth)
{
	cleanup_free char *copy = xstrdup(text);
	int line = 0;
	for (char *s = copy, *next; s && *s; s = next) {
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		c->line = ++line;
		if (strlen(s) > 4096) {
			diags_add(c->d, c->file, c->line, "line too long");
			continue;
		}
		parse_line(c, s, depth);
	}
}

/* ---- what the launcher's own calls need of every layer ---- */

enum verdict { NO, MAYBE, YES };

/* Whether a condition holds for a call whose first n_known arguments are
 * known; the others could be anything. */
static enum verdict cond_holds(const struct sc_cond *c, const uint64_t *known, unsigned n_known)
{
	if (c->arg >= n_known)
		return MAYBE;
	uint64_t v = known[c->arg];
	bool r = false;
	switch (c->op) {
	case SC_EQ:
		r = v == c->value;
		break;
	case SC_NE:
		r = v != c->value;
		break;
	case SC_LT:
		r = v < c->value;
		break;
	case SC_LE:
		r = v <= c->value;
		break;
	case SC_GT:
		r = v > c->value;
		break;
	case SC_GE:
		r = v >= c->value;
		break;
	case SC_MASKED_EQ:
		r = (v & c->mask) == c->value;
		break;
	}
	return r ? YES : NO;
}

static bool lets_through(const struct sc_action *a)
{
	return a->kind == SC_ALLOW || a->kind == SC_LOG;
}

/* Whether the layer surely lets the call through. An unconditional rule
 * for a syscall overrides its conditional ones (libseccomp); which of
 * several matching conditional rules wins is libseccomp's business, so
 * every one that may match must let the call through. */
static bool layer_lets_through(const struct sc_layer *ly, const char *syscall, const uint64_t *known, unsigned n_known)
{
	bool unconditional = false, unconditional_ok = true, sure = false, may_refuse = false;
	for (size_t i = 0; i < ly->n_rules; i++) {
		const struct sc_rule *r = &ly->rules[i];
		if (strcmp(r->syscall, syscall) != 0)
			continue;
		if (r->n_conds == 0) {
			unconditional = true;
			unconditional_ok = unconditional_ok && lets_through(&r->action);
			continue;
		}
		enum verdict m = YES;
		for (unsigned j = 0; j < r->n_conds && m != NO; j++) {
			enum verdict v = cond_holds(&r->conds[j], known, n_known);
			if (v != YES)
				m = v;
		}
		if (m == NO)
			continue;
		if (!lets_through(&r->action))
			may_refuse = true;
		else if (m == YES)
			sure = true;
	}
	if (unconditional)
		return unconditional_ok;
	return !may_refuse && (sure || lets_through(&ly->def));
}

/* The command's process loads the layers in order, with
 * seccomp(SECCOMP_SET_MODE_FILTER, 0, prog): each load after the first is
 * a syscall the layers before it filter. Then it calls execve, which every
 * layer filters. A profile that refuses either could never start a command,
 * so it is refused here, where `check` sees it too. */
static void check_launcher_calls(const struct sc_profile *p, struct diags *d)
{
	static const uint64_t seccomp_args[] = {SECCOMP_SET_MODE_FILTER, 0};
	for (size_t l = 0; l < p->n_layers; l++) {
		const struct sc_layer *ly = &p->layers[l];
		if (!layer_lets_through(ly, "execve", NULL, 0))
			diags_add(d, ly->file, ly->line,
			          "this layer may refuse execve, which starts the command after the filters (allow "
			          "execve, without conditions)");
		if (l + 1 < p->n_layers && !layer_lets_through(ly, "seccomp", seccomp_args, N_ELEMENTS(seccomp_args)))
			diags_add(
			    d, ly->file, ly->line,
			    "this layer may refuse seccomp(SECCOMP_SET_MODE_FILTER, 0, ...), which loads layer %zu "
			    "after it (add `seccomp allow` to this layer)",
			    l + 2);
	}
}

/* p, or NULL (freed) if the launcher could not use it. */
static struct sc_profile *usable(struct sc_profile *p, struct diags *d)
{
	size_t before = d->n;
	if (p)
		check_launcher_calls(p, d);
	if (d->n > before) {
		profile_free(p);
		return NULL;
	}
	return p;
}

struct sc_profile *profile_parse(const char *name, const char *file, const char *text, struct diags *d)
{
	size_t before = d->n;
	struct sc_profile *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	struct pctx c = {.p = p, .d = d, .file = file};
	parse_text(&c, text, 0);
	if (d->n == before && p->n_layers == 0)
		diags_add(d, file, 0, "profile has no `default` line");
	if (d->n > before) {
		profile_free(p);
		return NULL;
	}
	return p;
}

struct sc_profile *profile_load(const char *name, const char *policy_file, int line, profile_read_fn read_file,
                                void *ctx, struct diags *d)
{
	if (strcmp(name, "none") == 0)
		return NULL; /* the policy says so explicitly */
	if (name[0] == '/') {
		size_t len = 0;
		cleanup_free char *why = NULL;
		cleanup_free char *text = read_file(ctx, name, &len, &why);
		if (!text) {
			diags_add(d, policy_file, line, "seccomp profile %s: %s", name, why ? why : "cannot read");
			return NULL;
		}
		/* The parser reads up to the first NUL: rules after one would
		 * be dropped without a word. */
		const char *nul = memchr(text, '\0', len);
		if (nul) {
			int at = 1;
			for (const char *s = text; s < nul; s++)
				at += *s == '\n';
			diags_add(d, name, at, "NUL byte in a profile");
			return NULL;
		}
		return usable(profile_parse(name, name, text, d), d);
	}
	const char *text = profile_builtin_text(name);
	if (!text) {
		diags_add(d, policy_file, line,
		          "profile: unknown profile '%s' (built-in: %s; or none, or an absolute path)", name,
		          profile_builtin_names());
		return NULL;
	}
	cleanup_free char *file = xasprintf("seccomp-profiles/%s.profile", name);
	return usable(profile_parse(name, file, text, d), d);
}

/* The layer the command gets when the projects are idmapped (plan.h,
 * no_setid): what it creates there is their owner's on the host, so it
 * must not make a set-user-ID or set-group-ID file. Changing the mode
 * (the mode argument of the chmod calls), and creating a file with the
 * bits (open and openat with O_CREAT or O_TMPFILE, creat, mknod), are
 * refused with EPERM; openat2 passes its mode in a struct a filter cannot
 * read, and io_uring can open files with no system call to filter, so
 * both answer ENOSYS (libc falls back to openat). The masks test the low
 * bits only, so whatever the caller leaves in the upper half of a mode
 * register does not matter. A file made without the bits keeps none:
 * writing to a set-ID file clears them, and chown clears them too. */
static const char no_setid_text[] = "default allow\n"
                                    "chmod deny arg1&S_ISUID==S_ISUID\n"
                                    "chmod deny arg1&S_ISGID==S_ISGID\n"
                                    "fchmod deny arg1&S_ISUID==S_ISUID\n"
                                    "fchmod deny arg1&S_ISGID==S_ISGID\n"
                                    "fchmodat deny arg2&S_ISUID==S_ISUID\n"
                                    "fchmodat deny arg2&S_ISGID==S_ISGID\n"
                                    "fchmodat2 deny arg2&S_ISUID==S_ISUID\n"
                                    "fchmodat2 deny arg2&S_ISGID==S_ISGID\n"
                                    "open deny arg1&O_CREAT==O_CREAT arg2&S_ISUID==S_ISUID\n"
                                    "open deny arg1&O_CREAT==O_CREAT arg2&S_ISGID==S_ISGID\n"
                                    "open deny arg1&O_TMPFILE==O_TMPFILE arg2&S_ISUID==S_ISUID\n"
                                    "open deny arg1&O_TMPFILE==O_TMPFILE arg2&S_ISGID==S_ISGID\n"
                                    "openat deny arg2&O_CREAT==O_CREAT arg3&S_ISUID==S_ISUID\n"
                                    "openat deny arg2&O_CREAT==O_CREAT arg3&S_ISGID==S_ISGID\n"
                                    "openat deny arg2&O_TMPFILE==O_TMPFILE arg3&S_ISUID==S_ISUID\n"
                                    "openat deny arg2&O_TMPFILE==O_TMPFILE arg3&S_ISGID==S_ISGID\n"
                                    "creat deny arg1&S_ISUID==S_ISUID\n"
                                    "creat deny arg1&S_ISGID==S_ISGID\n"
                                    "mknod deny arg1&S_ISUID==S_ISUID\n"
                                    "mknod deny arg1&S_ISGID==S_ISGID\n"
                                    "mknodat deny arg2&S_ISUID==S_ISUID\n"
                                    "mknodat deny arg2&S_ISGID==S_ISGID\n"
                                    "openat2 enosys\n"
                                    "io_uring_setup enosys\n";

const char *profile_no_setid_text(void)
{
	return no_setid_text;
}

struct sc_profile *profile_add_no_setid(struct sc_profile *p, const char *name, struct diags *d)
{
	/* Names are resolved by libseccomp, fchmodat2 too (Debian 12's
	 * knows it though its kernel headers do not): one it did not know
	 * is a diagnostic, never a rule left out. */
	struct sc_profile *ns = profile_parse("no-setid", NO_SETID_FILE, no_setid_text, d);
	if (!ns) {
		profile_free(p);
		return NULL;
	}
	if (!p) {
		free(ns->name);
		ns->name = xstrdup(name);
		ns->no_setid = true;
		return ns;
	}
	/* First: it allows seccomp, so the profile's layers load after it
	 * as they would alone, and the profile's last layer stays last. */
	struct sc_layer *layers = xcalloc(p->n_layers + 1, sizeof(*layers));
	layers[0] = ns->layers[0];
	memcpy(layers + 1, p->layers, p->n_layers * sizeof(*layers));
	free(p->layers);
	p->layers = layers;
	p->n_layers++;
	p->no_setid = true;
	ns->n_layers = 0;
	profile_free(ns);
	return p;
}

void profile_require_execveat(const struct sc_profile *p, const char *why, struct diags *d)
{
	for (size_t l = 0; p && l < p->n_layers; l++)
		if (!layer_lets_through(&p->layers[l], "execveat", NULL, 0))
			diags_add(d, p->layers[l].file, p->layers[l].line,
			          "this layer may refuse execveat, which starts the command when %s (allow execveat, "
			          "without conditions)",
			          why);
}

void profile_free(struct sc_profile *p)
{
	if (!p)
		return;
	for (size_t l = 0; l < p->n_layers; l++) {
		for (size_t i = 0; i < p->layers[l].n_rules; i++)
			rule_free(&p->layers[l].rules[i]);
		free(p->layers[l].rules);
		free(p->layers[l].file);
	}
	free(p->layers);
	free(p->name);
	free(p);
}
