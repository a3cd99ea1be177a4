/* Unit tests for the shipped seccomp profiles as `cordon run` compiles
 * them: each built-in profile goes through the launcher's own path
 * (launcher/seccomp.c: seccomp_prepare, seccomp_export, seccomp_receive)
 * and the BPF programs pid 1 would load are run here, as the kernel runs
 * them, on a syscall number and its arguments.
 *
 * Every deny rule of every shipped profile has a probe below: a syscall
 * and arguments the rule matches, and the answer the compiled filter must
 * give. So removing any one rule from a file in seccomp-profiles/ fails a
 * probe; a rule added without a probe fails the completeness test; and
 * every_single_rule_removal_is_noticed proves the first claim for each
 * rule, by compiling each profile without it.
 *
 * Inside a sandbox, an EPERM from a call that needs a capability cannot
 * tell the filter from the missing capability; the filter's answer here
 * can (tests/escape/escape.sh marks the rules to see it there too). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cordon.h"
#include "profile.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define ALLOW SECCOMP_RET_ALLOW
#define DENY  (SECCOMP_RET_ERRNO | EPERM)
#define NOSYS (SECCOMP_RET_ERRNO | ENOSYS)

/* A syscall, arguments, and the answer the profile's filters must give. */
struct probe {
	const char *syscall;
	uint64_t args[6];
	uint32_t want;
};

/* Every deny rule of seccomp-profiles/default.profile, each with arguments
 * that only it matches. A new rule there needs its probe here. */
static const struct probe default_denies[] = {
    {"unshare", {CLONE_NEWUSER}, DENY},
    {"unshare", {CLONE_NEWNS}, DENY},
    {"unshare", {CLONE_NEWPID}, DENY},
    {"unshare", {CLONE_NEWNET}, DENY},
    {"unshare", {CLONE_NEWIPC}, DENY},
    {"unshare", {CLONE_NEWUTS}, DENY},
    {"unshare", {CLONE_NEWCGROUP}, DENY},
    {"unshare", {CLONE_NEWTIME}, DENY},
    {"clone", {CLONE_NEWUSER | SIGCHLD}, DENY},
    {"clone", {CLONE_NEWNS | SIGCHLD}, DENY},
    {"clone", {CLONE_NEWPID | SIGCHLD}, DENY},
    {"clone", {CLONE_NEWNET | SIGCHLD}, DENY},
    {"clone", {CLONE_NEWIPC | SIGCHLD}, DENY},
    {"clone", {CLONE_NEWUTS | SIGCHLD}, DENY},
    {"clone", {CLONE_NEWCGROUP | SIGCHLD}, DENY},
    {"clone3", {0}, NOSYS},
    {"setns", {0}, DENY},
    {"mount", {0}, DENY},
    {"umount2", {0}, DENY},
    {"pivot_root", {0}, DENY},
    {"chroot", {0}, DENY},
    {"open_tree", {0}, DENY},
    {"move_mount", {0}, DENY},
    {"fsopen", {0}, DENY},
    {"fsconfig", {0}, DENY},
    {"fsmount", {0}, DENY},
    {"fspick", {0}, DENY},
    {"mount_setattr", {0}, DENY},
    {"bpf", {0}, DENY},
    {"perf_event_open", {0}, DENY},
    {"kexec_load", {0}, DENY},
    {"kexec_file_load", {0}, DENY},
    {"init_module", {0}, DENY},
    {"finit_module", {0}, DENY},
    {"delete_module", {0}, DENY},
    {"iopl", {0}, DENY},
    {"ioperm", {0}, DENY},
    {"modify_ldt", {0}, DENY},
    {"lookup_dcookie", {0}, DENY},
    {"syslog", {0}, DENY},
    {"reboot", {0}, DENY},
    {"swapon", {0}, DENY},
    {"swapoff", {0}, DENY},
    {"acct", {0}, DENY},
    {"quotactl", {0}, DENY},
    {"quotactl_fd", {0}, DENY},
    {"userfaultfd", {0}, DENY},
    {"keyctl", {0}, DENY},
    {"add_key", {0}, DENY},
    {"request_key", {0}, DENY},
    {"io_uring_setup", {0}, DENY},
    {"io_uring_enter", {0}, DENY},
    {"io_uring_register", {0}, DENY},
    {"open_by_handle_at", {0}, DENY},
    {"name_to_handle_at", {0}, DENY},
    {"ptrace", {0}, DENY},
    {"process_vm_readv", {0}, DENY},
    {"process_vm_writev", {0}, DENY},
    /* Everything but the query personality(0xffffffff), high bits too. */
    {"personality", {ADDR_NO_RANDOMIZE}, DENY},
    {"personality", {(1ULL << 32) | READ_IMPLIES_EXEC}, DENY},
    /* The low 32 bits of the request; the tty layer ignores the rest. */
    {"ioctl", {0, TIOCSTI}, DENY},
    {"ioctl", {0, TIOCLINUX}, DENY},
};

/* Around the conditional rules: what they must deny beyond the probes
 * above, and what they must leave alone (a rule that denied every clone
 * would pass the probes, and break every program). */
static const struct probe default_edges[] = {
    {"unshare", {CLONE_NEWUSER | CLONE_NEWNS | CLONE_FILES}, DENY},
    {"ioctl", {0, TIOCSTI | (1ULL << 32)}, DENY},
    {"ioctl", {0, TIOCLINUX | 0xffffffff00000000ULL}, DENY},
    {"personality", {0}, DENY},
    {"personality", {0xfffffffeULL}, DENY},
    {"personality", {0x100000000ULL}, DENY},
    {"unshare", {CLONE_FILES | CLONE_FS | CLONE_SYSVSEM}, ALLOW},
    {"clone", {SIGCHLD}, ALLOW},
    {"clone",
     {CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
      CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID},
     ALLOW},
    {"personality", {0xffffffffULL}, ALLOW},
    {"ioctl", {0, TCGETS}, ALLOW},
    {"ioctl", {0, FIONREAD}, ALLOW},
    {"read", {0}, ALLOW},
    {"execve", {0}, ALLOW},
    {"seccomp", {0}, ALLOW},
};

/* strict: its allowlist layer answers ENOSYS to what it leaves out and
 * the default layer allows. (Where both refuse, the kernel keeps the errno
 * of the layer loaded last, the default's EPERM: default_denies holds for
 * strict as it is.) */
static const struct probe strict_edges[] = {
    {"settimeofday", {0}, NOSYS},
    {"clock_settime", {0}, NOSYS},
    {"adjtimex", {0}, NOSYS},
    {"sethostname", {0}, NOSYS},
    {"vhangup", {0}, NOSYS},
    {"kcmp", {0}, NOSYS},
    {"read", {0}, ALLOW},
    {"execve", {0}, ALLOW},
    {"clone", {SIGCHLD}, ALLOW},
    {"ioctl", {0, TCGETS}, ALLOW},
    {"personality", {0xffffffffULL}, ALLOW},
};

/* ci: the default profile without its ptrace and personality rules. */
static bool ci_unsets(const char *syscall)
{
	return strcmp(syscall, "ptrace") == 0 || strcmp(syscall, "personality") == 0;
}

static const struct probe ci_edges[] = {
    {"ptrace", {0}, ALLOW},
    {"personality", {ADDR_NO_RANDOMIZE}, ALLOW},
    {"personality", {(1ULL << 32) | READ_IMPLIES_EXEC}, ALLOW},
};

static struct sc_profile *PROF;
static struct seccomp_job JOB;
static struct diags D;

static void release_programs(void)
{
	for (size_t l = 0; l < SECCOMP_MAX_LAYERS; l++) {
		free(JOB.prog[l]);
		JOB.prog[l] = NULL;
	}
}

static void teardown(void)
{
	release_programs();
	profile_free(PROF);
	PROF = NULL;
	diags_free(&D);
}

TestSuite(filter, .fini = teardown);

/* The programs of p into JOB, as the launcher hands them to pid 1: built
 * and written by seccomp_export, read back by seccomp_receive. */
static void compile(const struct sc_profile *p)
{
	release_programs();
	seccomp_prepare(p, &JOB);
	/* export closes its memfd when it is done; pid 1 reads its own copy. */
	int memfd = fcntl(JOB.memfd, F_DUPFD_CLOEXEC, 0);
	cr_assert_geq(memfd, 0, "dup the filter memfd: %s", strerror(errno));
	bool ok = seccomp_export(p, &JOB, &D);
	if (!ok)
		diags_print(&D, STDERR_FILENO);
	cr_assert(ok, "seccomp_export refused profile %s", p->name);
	JOB.memfd = memfd;
	seccomp_receive(&JOB);
	cr_assert_eq(JOB.n, p->n_layers);
}

static void load_builtin(const char *name)
{
	profile_free(PROF);
	PROF = profile_load(name, "test.ini", 1, NULL, NULL, &D);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_not_null(PROF, "built-in profile %s does not load", name);
	compile(PROF);
}

/* Runs one classic BPF program on d as the kernel's interpreter would,
 * with the instructions seccomp accepts (seccomp_check_filter). */
static uint32_t run_bpf(const struct sock_filter *prog, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t k = in->k;
		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			cr_assert(k % 4 == 0 && k + 4 <= sizeof(*d), "load at offset %u", k);
			memcpy(&a, (const char *)d + k, 4);
			break;
		case BPF_LD | BPF_W | BPF_LEN:
			a = sizeof(*d);
			break;
		case BPF_LDX | BPF_W | BPF_LEN:
			x = sizeof(*d);
			break;
		case BPF_LD | BPF_IMM:
			a = k;
			break;
		case BPF_LDX | BPF_IMM:
			x = k;
			break;
		case BPF_LD | BPF_MEM:
			cr_assert_lt(k, BPF_MEMWORDS);
			a = mem[k];
			break;
		case BPF_LDX | BPF_MEM:
			cr_assert_lt(k, BPF_MEMWORDS);
			x = mem[k];
			break;
		case BPF_ST:
			cr_assert_lt(k, BPF_MEMWORDS);
			mem[k] = a;
			break;
		case BPF_STX:
			cr_assert_lt(k, BPF_MEMWORDS);
			mem[k] = x;
			break;
		case BPF_MISC | BPF_TAX:
			x = a;
			break;
		case BPF_MISC | BPF_TXA:
			a = x;
			break;
		case BPF_ALU | BPF_ADD | BPF_K:
			a += k;
			break;
		case BPF_ALU | BPF_ADD | BPF_X:
			a += x;
			break;
		case BPF_ALU | BPF_SUB | BPF_K:
			a -= k;
			break;
		case BPF_ALU | BPF_SUB | BPF_X:
			a -= x;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= k;
			break;
		case BPF_ALU | BPF_AND | BPF_X:
			a &= x;
			break;
		case BPF_ALU | BPF_OR | BPF_K:
			a |= k;
			break;
		case BPF_ALU | BPF_OR | BPF_X:
			a |= x;
			break;
		case BPF_ALU | BPF_XOR | BPF_K:
			a ^= k;
			break;
		case BPF_ALU | BPF_XOR | BPF_X:
			a ^= x;
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
			a = k < 32 ? a << k : 0;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			a = k < 32 ? a >> k : 0;
			break;
		case BPF_ALU | BPF_NEG:
			a = -a;
			break;
		case BPF_JMP | BPF_JA:
			pc += k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JEQ | BPF_X:
			pc += a == x ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_X:
			pc += a > x ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_X:
			pc += a >= x ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & k) ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_X:
			pc += (a & x) ? in->jt : in->jf;
			break;
		case BPF_RET | BPF_K:
			return k;
		case BPF_RET | BPF_A:
			return a;
		default:
			cr_assert_fail("instruction %zu: opcode 0x%x this interpreter does not know", pc, in->code);
		}
	}
	cr_assert_fail("the program runs off its end");
	return 0;
}

/* The answer of all the layers in JOB to syscall nr with args, combined as
 * the kernel does (seccomp_run_filters): every filter runs, the lowest
 * action wins (kill first, allow last), and between equal actions the
 * most recently loaded filter, the last layer, keeps its data. */
static uint32_t verdict(int nr, const uint64_t args[6])
{
	struct seccomp_data d = {.nr = nr, .arch = seccomp_arch_native()};
	memcpy(d.args, args, sizeof(d.args));
	uint32_t ret = SECCOMP_RET_ALLOW;
	for (size_t l = JOB.n; l-- > 0;) {
		uint32_t cur = run_bpf(JOB.prog[l], JOB.len[l] / sizeof(struct sock_filter), &d);
		if ((int32_t)(cur & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
			ret = cur;
	}
	return ret;
}

/* The number of syscall on this architecture; negative if it has none
 * (the profiles skip such rules too). */
static int syscall_nr(const char *syscall)
{
	int nr = seccomp_syscall_resolve_name(syscall);
	cr_assert_neq(nr, __NR_SCMP_ERROR, "libseccomp does not know %s", syscall);
	return nr;
}

static const char *answer(uint32_t r, char *buf, size_t n)
{
	if (r == SECCOMP_RET_ALLOW)
		return "allow";
	if ((r & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO) {
		const char *e = strerrorname_np((int)(r & SECCOMP_RET_DATA));
		snprintf(buf, n, "errno %s", e ? e : "?");
		return buf;
	}
	snprintf(buf, n, "action 0x%08x", r);
	return buf;
}

/* How many probes get another answer than they want (each reported when
 * report is set). skip: probes a profile leaves out, or NULL. */
static size_t check_probes(const struct probe *probes, size_t n, bool (*skip)(const char *), const char *profile,
                           bool report)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		const struct probe *p = &probes[i];
		int nr = syscall_nr(p->syscall);
		if (nr < 0 || (skip && skip(p->syscall)))
			continue;
		uint32_t got = verdict(nr, p->args);
		if (got == p->want)
			continue;
		bad++;
		if (report) {
			char b1[64], b2[64];
			cr_expect_eq(got, p->want,
			             "profile %s: %s(0x%llx, 0x%llx) gets %s, want %s (a rule missing from "
			             "seccomp-profiles/, or compiled wrong?)",
			             profile, p->syscall, (unsigned long long)p->args[0],
			             (unsigned long long)p->args[1], answer(got, b1, sizeof(b1)),
			             answer(p->want, b2, sizeof(b2)));
		}
	}
	return bad;
}

static bool skip_none(const char *syscall)
{
	(void)syscall;
	return false;
}

/* The probes that must hold for a built-in profile, and whether each
 * applies; a failed one is reported when report is set. Returns how many
 * failed. */
static size_t check_profile(const char *name, bool report)
{
	size_t bad = 0;
	if (strcmp(name, "ci") == 0) {
		bad += check_probes(default_denies, N_ELEMENTS(default_denies), ci_unsets, name, report);
		bad += check_probes(default_edges, N_ELEMENTS(default_edges), ci_unsets, name, report);
		bad += check_probes(ci_edges, N_ELEMENTS(ci_edges), skip_none, name, report);
	} else {
		bad += check_probes(default_denies, N_ELEMENTS(default_denies), skip_none, name, report);
		if (strcmp(name, "strict") == 0)
			bad += check_probes(strict_edges, N_ELEMENTS(strict_edges), skip_none, name, report);
		else
			bad += check_probes(default_edges, N_ELEMENTS(default_edges), skip_none, name, report);
	}
	return bad;
}

static uint32_t rule_answer(const struct sc_action *a)
{
	switch (a->kind) {
	case SC_ALLOW:
		return SECCOMP_RET_ALLOW;
	case SC_ERRNO:
		return SECCOMP_RET_ERRNO | (uint32_t)a->err;
	case SC_KILL:
		return SECCOMP_RET_KILL_PROCESS;
	case SC_LOG:
		return SECCOMP_RET_LOG;
	}
	return SECCOMP_RET_KILL_PROCESS;
}

static bool cond_holds(const struct sc_cond *c, const uint64_t args[6])
{
	uint64_t v = args[c->arg];
	switch (c->op) {
	case SC_EQ:
		return v == c->value;
	case SC_NE:
		return v != c->value;
	case SC_LT:
		return v < c->value;
	case SC_LE:
		return v <= c->value;
	case SC_GT:
		return v > c->value;
	case SC_GE:
		return v >= c->value;
	case SC_MASKED_EQ:
		return (v & c->mask) == c->value;
	}
	return false;
}

/* A probe of probes for rule: same syscall, arguments the rule matches,
 * and the rule's own answer. */
static bool has_probe(const struct sc_rule *rule, const struct probe *probes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct probe *p = &probes[i];
		if (strcmp(p->syscall, rule->syscall) != 0 || p->want != rule_answer(&rule->action))
			continue;
		bool all = true;
		for (unsigned c = 0; c < rule->n_conds; c++)
			all = all && cond_holds(&rule->conds[c], p->args);
		if (all)
			return true;
	}
	return false;
}

static const char *const builtins[] = {"default", "strict", "ci"};

Test(filter, every_deny_rule_of_every_builtin_answers_in_the_compiled_filter)
{
	for (size_t b = 0; b < N_ELEMENTS(builtins); b++) {
		load_builtin(builtins[b]);
		cr_expect_eq(check_profile(builtins[b], true), 0, "profile %s", builtins[b]);
	}
}

Test(filter, every_deny_rule_has_a_probe)
{
	for (size_t b = 0; b < N_ELEMENTS(builtins); b++) {
		load_builtin(builtins[b]);
		for (size_t l = 0; l < PROF->n_layers; l++) {
			const struct sc_layer *ly = &PROF->layers[l];
			for (size_t i = 0; i < ly->n_rules; i++) {
				const struct sc_rule *r = &ly->rules[i];
				if (r->action.kind == SC_ALLOW || r->nr < 0)
					continue;
				cr_expect(has_probe(r, default_denies, N_ELEMENTS(default_denies)),
				          "%s:%d: \"%s\" (profile %s) has no probe in default_denies of %s", r->file,
				          r->line, r->text, builtins[b], __FILE__);
			}
		}
	}
}

/* The claim of this file, proved rule by rule: each profile compiled
 * without any one of its deny rules fails a probe. */
Test(filter, every_single_rule_removal_is_noticed)
{
	for (size_t b = 0; b < N_ELEMENTS(builtins); b++) {
		load_builtin(builtins[b]);
		for (size_t l = 0; l < PROF->n_layers; l++) {
			const struct sc_layer *ly = &PROF->layers[l];
			for (size_t i = 0; i < ly->n_rules; i++) {
				const struct sc_rule *r = &ly->rules[i];
				if (r->action.kind == SC_ALLOW || r->nr < 0)
					continue;
				/* The profile with rule i of layer l left out; the
				 * rules themselves stay PROF's. */
				cleanup_free struct sc_rule *rules = xcalloc(ly->n_rules, sizeof(*rules));
				memcpy(rules, ly->rules, i * sizeof(*rules));
				memcpy(rules + i, ly->rules + i + 1, (ly->n_rules - i - 1) * sizeof(*rules));
				struct sc_layer layers[SC_MAX_LAYERS];
				memcpy(layers, PROF->layers, PROF->n_layers * sizeof(*layers));
				layers[l].rules = rules;
				layers[l].n_rules = ly->n_rules - 1;
				struct sc_profile without = {
				    .name = PROF->name, .layers = layers, .n_layers = PROF->n_layers};
				compile(&without);
				cr_expect_gt(check_profile(builtins[b], false), 0,
				             "%s:%d: profile %s without \"%s\" passes every probe", r->file, r->line,
				             builtins[b], r->text);
			}
		}
		compile(PROF);
	}
}

/* The interpreter and the combination of layers, on filters of known
 * answers: a test of the test. */
Test(filter, the_interpreter_agrees_with_hand_made_profiles)
{
	const char *text = "default allow\n"
	                   "getpid errno:EXDEV\n"
	                   "ioctl kill arg1&0xffffffff==TIOCSTI\n"
	                   "personality errno:EACCES arg0>0xffffffff\n"
	                   "getppid errno:EACCES\n"
	                   "default enosys\n"
	                   "execve allow\n"
	                   "getpid allow\n"
	                   "ioctl allow\n"
	                   "personality allow\n"
	                   "getppid errno:EPERM\n";
	PROF = profile_parse("hand", "hand.profile", text, &D);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_not_null(PROF);
	compile(PROF);
	const uint64_t none[6] = {0}, sti[6] = {0, TIOCSTI | (1ULL << 32)}, tcgets[6] = {0, TCGETS},
	               high[6] = {1ULL << 32}, low[6] = {8};
	cr_expect_eq(verdict(syscall_nr("getpid"), none), SECCOMP_RET_ERRNO | EXDEV);
	cr_expect_eq(verdict(syscall_nr("ioctl"), sti), SECCOMP_RET_KILL_PROCESS);
	cr_expect_eq(verdict(syscall_nr("ioctl"), tcgets), SECCOMP_RET_ALLOW);
	cr_expect_eq(verdict(syscall_nr("personality"), high), SECCOMP_RET_ERRNO | EACCES);
	cr_expect_eq(verdict(syscall_nr("personality"), low), SECCOMP_RET_ALLOW);
	/* Both layers answer with an errno: the last layer's. */
	cr_expect_eq(verdict(syscall_nr("getppid"), none), SECCOMP_RET_ERRNO | EPERM);
	cr_expect_eq(verdict(syscall_nr("gettid"), none), SECCOMP_RET_ERRNO | ENOSYS);
	cr_expect_eq(verdict(syscall_nr("execve"), none), SECCOMP_RET_ALLOW);
	/* Another architecture's syscalls: the bad-architecture answer. */
	struct seccomp_data d = {.nr = 20, .arch = AUDIT_ARCH_I386};
	cr_expect_eq(run_bpf(JOB.prog[0], JOB.len[0] / sizeof(struct sock_filter), &d), SECCOMP_RET_ERRNO | ENOSYS);
}

/* The no-set-ID layer (profile_add_no_setid), alone as with profile =
 * none: the mode's set-ID bits decide, nothing else. */
static const struct probe no_setid_probes[] = {
    {"chmod", {0, 04755}, DENY},
    {"chmod", {0, 02755}, DENY},
    {"chmod", {0, 0755}, ALLOW},
    {"chmod", {0, 01777}, ALLOW},
    /* Garbage above the mode's 32 bits changes nothing. */
    {"chmod", {0, (1ULL << 32) | 0755}, ALLOW},
    {"chmod", {0, (1ULL << 32) | 04755}, DENY},
    {"fchmod", {3, 04755}, DENY},
    {"fchmod", {3, 02755}, DENY},
    {"fchmod", {3, 0644}, ALLOW},
    {"fchmodat", {AT_FDCWD, 0, 06755, 0}, DENY},
    {"fchmodat", {AT_FDCWD, 0, 0700, 0}, ALLOW},
    {"fchmodat2", {AT_FDCWD, 0, 04755, 0}, DENY},
    {"fchmodat2", {AT_FDCWD, 0, 02755, 0}, DENY},
    {"fchmodat2", {AT_FDCWD, 0, 0755, 0}, ALLOW},
    {"open", {0, O_CREAT | O_WRONLY, 04755}, DENY},
    {"open", {0, O_CREAT | O_WRONLY, 02755}, DENY},
    {"open", {0, O_TMPFILE | O_RDWR, 04755}, DENY},
    {"open", {0, O_TMPFILE | O_RDWR, 02755}, DENY},
    {"open", {0, O_CREAT | O_WRONLY, 0644}, ALLOW},
    /* Without O_CREAT the mode is not used, whatever is in it. */
    {"open", {0, O_RDONLY, 04755}, ALLOW},
    {"openat", {AT_FDCWD, 0, O_CREAT | O_WRONLY, 04755}, DENY},
    {"openat", {AT_FDCWD, 0, O_CREAT | O_EXCL | O_WRONLY, 02700}, DENY},
    {"openat", {AT_FDCWD, 0, O_TMPFILE | O_RDWR, 04700}, DENY},
    {"openat", {AT_FDCWD, 0, O_TMPFILE | O_RDWR, 02700}, DENY},
    {"openat", {AT_FDCWD, 0, O_CREAT | O_WRONLY, 0755}, ALLOW},
    {"openat", {AT_FDCWD, 0, O_RDONLY, 04755}, ALLOW},
    {"creat", {0, 04755}, DENY},
    {"creat", {0, 02755}, DENY},
    {"creat", {0, 0755}, ALLOW},
    {"mknod", {0, S_IFREG | 04755, 0}, DENY},
    {"mknod", {0, S_IFREG | 02755, 0}, DENY},
    {"mknod", {0, S_IFIFO | 0644, 0}, ALLOW},
    {"mknodat", {AT_FDCWD, 0, S_IFREG | 02755, 0}, DENY},
    {"mknodat", {AT_FDCWD, 0, S_IFREG | 04755, 0}, DENY},
    {"mknodat", {AT_FDCWD, 0, S_IFREG | 0644, 0}, ALLOW},
    {"openat2", {0}, NOSYS},
    {"io_uring_setup", {0}, NOSYS},
    {"execve", {0}, ALLOW},
    {"execveat", {3, 0, 0, 0, AT_EMPTY_PATH}, ALLOW},
    {"seccomp", {SECCOMP_SET_MODE_FILTER, 0}, ALLOW},
    {"read", {0}, ALLOW},
};

Test(filter, no_setid_layer_refuses_set_id_modes_only)
{
	PROF = profile_add_no_setid(NULL, "none", &D);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_not_null(PROF);
	cr_assert(PROF->no_setid);
	compile(PROF);
	cr_expect_eq(check_probes(no_setid_probes, N_ELEMENTS(no_setid_probes), skip_none, "no-setid", true), 0);
	/* Every rule of the layer has its probe. */
	for (size_t i = 0; i < PROF->layers[0].n_rules; i++) {
		const struct sc_rule *r = &PROF->layers[0].rules[i];
		cr_expect(has_probe(r, no_setid_probes, N_ELEMENTS(no_setid_probes)), "%s:%d: \"%s\" has no probe",
		          r->file, r->line, r->text);
	}
}

/* In front of a built-in profile: the layer's answers, and the profile's,
 * both hold. */
Test(filter, no_setid_layer_in_front_of_each_builtin)
{
	for (size_t b = 0; b < N_ELEMENTS(builtins); b++) {
		profile_free(PROF);
		PROF = profile_load(builtins[b], "test.ini", 1, NULL, NULL, &D);
		cr_assert_not_null(PROF);
		size_t n = PROF->n_layers;
		PROF = profile_add_no_setid(PROF, builtins[b], &D);
		cr_assert_not_null(PROF);
		cr_assert_eq(PROF->n_layers, n + 1);
		compile(PROF);
		const uint64_t suid[6] = {0, 04755}, plain[6] = {0, 0755};
		cr_expect_eq(verdict(syscall_nr("chmod"), suid), DENY, "profile %s", builtins[b]);
		cr_expect_eq(verdict(syscall_nr("chmod"), plain), ALLOW, "profile %s", builtins[b]);
		cr_expect_eq(check_profile(builtins[b], true), 0, "profile %s", builtins[b]);
	}
}
