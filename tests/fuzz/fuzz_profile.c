/* libFuzzer harness: the seccomp profile parser (a profile may be a path
 * named by the policy), and profile_load, the way the plan reads such a
 * file: the bytes as they are on disk, NUL bytes included. A profile that
 * parses compiles: the launcher's own path (seccomp_export, then
 * seccomp_receive as pid 1 does) gives a program per layer that the kernel
 * would take, or refuses it at a line of the profile, the same way
 * `check` does (seccomp_validate); and each program, run here on
 * seccomp_data, answers what its layer says. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cordon.h"
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

/* ---- the compiled programs ---- */

/* What a layer's action means to the kernel: the profile's meaning,
 * written out here rather than taken from the code under test. */
static uint32_t ret_of(const struct sc_action *a)
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
	abort();
}

/* Runs a classic BPF program on d, as the kernel would; every instruction
 * must be one the kernel's checker takes and every jump must stay inside. */
static uint32_t run_bpf(const struct sock_filter *f, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			FUZZ_CHECK(i->k % 4 == 0 && i->k + 4 <= sizeof(*d));
			memcpy(&a, (const char *)d + i->k, 4);
			continue;
		case BPF_LD | BPF_IMM:
			a = i->k;
			continue;
		case BPF_LDX | BPF_IMM:
			x = i->k;
			continue;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
		case BPF_ST:
		case BPF_STX:
			FUZZ_CHECK(i->k < BPF_MEMWORDS);
			if (i->code == (BPF_LD | BPF_MEM))
				a = mem[i->k];
			else if (i->code == (BPF_LDX | BPF_MEM))
				x = mem[i->k];
			else
				mem[i->k] = i->code == BPF_ST ? a : x;
			continue;
		case BPF_MISC | BPF_TAX:
			x = a;
			continue;
		case BPF_MISC | BPF_TXA:
			a = x;
			continue;
		case BPF_RET | BPF_K:
			return i->k;
		case BPF_RET | BPF_A:
			return a;
		default:
			break;
		}
		if (BPF_CLASS(i->code) == BPF_ALU) {
			switch (BPF_OP(i->code)) {
			case BPF_AND:
				a &= src;
				continue;
			case BPF_OR:
				a |= src;
				continue;
			case BPF_ADD:
				a += src;
				continue;
			case BPF_SUB:
				a -= src;
				continue;
			case BPF_RSH:
				a = src < 32 ? a >> src : 0;
				continue;
			case BPF_LSH:
				a = src < 32 ? a << src : 0;
				continue;
			default:
				FUZZ_CHECK(!"an ALU operation this reader does not know");
			}
		}
		FUZZ_CHECK(BPF_CLASS(i->code) == BPF_JMP);
		bool take;
		if (BPF_OP(i->code) == BPF_JA) {
			FUZZ_CHECK(pc + 1 + i->k < n);
			pc += i->k;
			continue;
		}
		switch (BPF_OP(i->code)) {
		case BPF_JEQ:
			take = a == src;
			break;
		case BPF_JGT:
			take = a > src;
			break;
		case BPF_JGE:
			take = a >= src;
			break;
		case BPF_JSET:
			take = (a & src) != 0;
			break;
		default:
			FUZZ_CHECK(!"a jump this reader does not know");
		}
		size_t off = take ? i->jt : i->jf;
		FUZZ_CHECK(pc + 1 + off < n);
		pc += off;
	}
	FUZZ_CHECK(!"the program ran off its end");
	return 0;
}

/* True when rule r is the only rule for its syscall in the layer: its
 * answer does not depend on how libseccomp orders rules. */
static bool only_rule_for(const struct sc_layer *ly, const struct sc_rule *r)
{
	for (size_t i = 0; i < ly->n_rules; i++)
		if (&ly->rules[i] != r && ly->rules[i].nr == r->nr)
			return false;
	return true;
}

/* Arguments that meet every condition of r, if r's conditions name each
 * argument once; false when none are made here. */
static bool meeting(const struct sc_rule *r, uint64_t args[6])
{
	unsigned seen = 0;
	for (unsigned c = 0; c < r->n_conds; c++) {
		const struct sc_cond *cd = &r->conds[c];
		if (cd->arg > 5 || (seen & (1u << cd->arg)))
			return false;
		seen |= 1u << cd->arg;
		uint64_t v = cd->value;
		switch (cd->op) {
		case SC_EQ:
		case SC_LE:
		case SC_GE:
			args[cd->arg] = v;
			break;
		case SC_NE:
			args[cd->arg] = v + 1;
			break;
		case SC_LT:
			if (v == 0)
				return false;
			args[cd->arg] = v - 1;
			break;
		case SC_GT:
			if (v == UINT64_MAX)
				return false;
			args[cd->arg] = v + 1;
			break;
		case SC_MASKED_EQ:
			if (v & ~cd->mask)
				return false;
			args[cd->arg] = v;
			break;
		}
	}
	return true;
}

static uint32_t answer(const struct sock_filter *f, size_t n, uint32_t arch, int nr, const uint64_t args[6])
{
	struct seccomp_data d = {.nr = nr, .arch = arch};
	for (int i = 0; i < 6; i++)
		d.args[i] = args ? args[i] : 0;
	return run_bpf(f, n, &d);
}

static void check_layer_program(const struct sc_layer *ly, const struct sock_filter *f, size_t n)
{
	uint32_t arch = seccomp_arch_native();
	uint32_t def = ret_of(&ly->def);
	static const uint64_t zero[6];
	/* Other ABIs: ENOSYS, whatever the layer says. */
	FUZZ_CHECK(answer(f, n, arch + 1, 39, zero) == (SECCOMP_RET_ERRNO | ENOSYS));
	if (arch == SCMP_ARCH_X86_64)
		FUZZ_CHECK(answer(f, n, arch, 0x40000000 | 39, zero) == (SECCOMP_RET_ERRNO | ENOSYS));
	/* A syscall no rule names: the default. */
	for (int nr = 0; nr < 512; nr++) {
		bool named = false;
		for (size_t i = 0; i < ly->n_rules && !named; i++)
			named = ly->rules[i].nr == nr;
		if (!named) {
			FUZZ_CHECK(answer(f, n, arch, nr, zero) == def);
			break;
		}
	}
	for (size_t i = 0; i < ly->n_rules; i++) {
		const struct sc_rule *r = &ly->rules[i];
		uint64_t args[6] = {0};
		if (r->nr < 0 || !only_rule_for(ly, r) || !meeting(r, args))
			continue;
		FUZZ_CHECK(answer(f, n, arch, r->nr, args) == ret_of(&r->action));
		/* One equality condition: any other value gets the default. */
		if (r->n_conds == 1 && r->conds[0].op == SC_EQ) {
			args[r->conds[0].arg] ^= 1;
			FUZZ_CHECK(answer(f, n, arch, r->nr, args) == def);
		}
	}
}

static void check_compiles(const struct sc_profile *p)
{
	struct diags check = {0}, run = {0};
	seccomp_validate(p, &check);

	/* What run does: the launcher exports, pid 1 (here: a copy of its
	 * descriptors, as after clone) receives. */
	struct seccomp_job job;
	seccomp_prepare(p, &job);
	int memfd = dup(job.memfd);
	FUZZ_CHECK(memfd >= 0);
	bool ok = seccomp_export(p, &job, &run);

	/* check and run refuse the same profiles, in the same words, at a
	 * line of the profile. */
	FUZZ_CHECK(ok == (run.n == 0));
	FUZZ_CHECK(check.n == run.n);
	for (size_t i = 0; i < run.n; i++) {
		FUZZ_CHECK(strcmp(check.v[i].msg, run.v[i].msg) == 0);
		FUZZ_CHECK(run.v[i].file && run.v[i].line > 0);
	}
	diags_free(&check);
	diags_free(&run);
	if (!ok) {
		close(memfd);
		close(job.sizes_r);
		return;
	}
	job.memfd = memfd;
	seccomp_receive(&job);
	FUZZ_CHECK(job.n == p->n_layers);
	for (size_t l = 0; l < job.n; l++) {
		FUZZ_CHECK(job.len[l] % sizeof(struct sock_filter) == 0);
		size_t insns = job.len[l] / sizeof(struct sock_filter);
		FUZZ_CHECK(insns > 0 && insns <= BPF_MAXINSNS);
		check_layer_program(&p->layers[l], job.prog[l], insns);
		free(job.prog[l]);
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
		check_compiles(p);
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
