/* Compiling a parsed profile with libseccomp and loading it. Each layer of
 * the profile becomes one filter; the kernel runs them all and the most
 * restrictive answer wins.
 *
 * Only the native ABI is described by the filters. A syscall made through
 * another ABI (i386 `int 0x80`, x32 numbers) does not match the native
 * architecture and gets the bad-architecture action, ENOSYS: other ABIs
 * are denied outright rather than filtered with a second set of numbers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cordon.h"

static uint32_t to_scmp(const struct sc_action *a)
{
	switch (a->kind) {
	case SC_ALLOW:
		return SCMP_ACT_ALLOW;
	case SC_ERRNO:
		return SCMP_ACT_ERRNO((uint32_t)a->err);
	case SC_KILL:
		return SCMP_ACT_KILL_PROCESS;
	case SC_LOG:
		return SCMP_ACT_LOG;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static enum scmp_compare to_cmp(enum sc_op op)
{
	switch (op) {
	case SC_EQ:
		return SCMP_CMP_EQ;
	case SC_NE:
		return SCMP_CMP_NE;
	case SC_LT:
		return SCMP_CMP_LT;
	case SC_LE:
		return SCMP_CMP_LE;
	case SC_GT:
		return SCMP_CMP_GT;
	case SC_GE:
		return SCMP_CMP_GE;
	case SC_MASKED_EQ:
		return SCMP_CMP_MASKED_EQ;
	}
	return SCMP_CMP_EQ;
}

/* Builds one layer. On failure returns NULL and names the rule in *bad. */
static scmp_filter_ctx build_layer(const struct sc_layer *ly, const struct sc_rule **bad, int *err)
{
	*bad = NULL;
	scmp_filter_ctx ctx = seccomp_init(to_scmp(&ly->def));
	if (!ctx) {
		*err = ENOMEM;
		return NULL;
	}
	/* We set no_new_privs ourselves, at the right moment. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
	/* A binary search over syscall numbers instead of a linear chain:
	 * fewer instructions per syscall, and the kernel, which runs the filter
	 * once per syscall number when it is loaded (to cache the ones always
	 * allowed), loads it faster. */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; r == 0 && i < ly->n_rules; i++) {
		const struct sc_rule *rule = &ly->rules[i];
		if (rule->nr < 0)
			continue; /* a syscall this architecture does not have */
		struct scmp_arg_cmp cmp[SC_MAX_CONDS];
		for (unsigned c = 0; c < rule->n_conds; c++) {
			const struct sc_cond *cd = &rule->conds[c];
			cmp[c] = (struct scmp_arg_cmp){
			    .arg = cd->arg,
			    .op = to_cmp(cd->op),
			    .datum_a = cd->op == SC_MASKED_EQ ? cd->mask : cd->value,
			    .datum_b = cd->op == SC_MASKED_EQ ? cd->value : 0,
			};
		}
		r = seccomp_rule_add_exact_array(ctx, to_scmp(&rule->action), rule->nr, rule->n_conds, cmp);
		if (r < 0)
			*bad = rule;
	}
	if (r < 0) {
		*err = -r;
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* Builds layer l and writes its BPF program at fd's offset; its length in
 * *len. On failure says why in d, as FILE:LINE where a line is to blame,
 * and returns false. `check` (seccomp_validate) and `run` (seccomp_export)
 * both go through here, so they refuse the same profiles in the same
 * words. */
static bool generate_layer(const struct sc_profile *p, size_t l, int fd, uint32_t *len, struct diags *d)
{
	const struct sc_layer *ly = &p->layers[l];
	const struct sc_rule *bad;
	int err;
	scmp_filter_ctx ctx = build_layer(ly, &bad, &err);
	if (!ctx) {
		if (bad)
			diags_add(d, bad->file, bad->line, "%s: libseccomp refused the rule: %s", bad->syscall,
			          strerror(err));
		else
			diags_add(d, ly->file, ly->line, "libseccomp refused this layer: %s", strerror(err));
		return false;
	}
	off_t start = lseek(fd, 0, SEEK_CUR);
	int r = seccomp_export_bpf(ctx, fd);
	off_t end = lseek(fd, 0, SEEK_CUR);
	seccomp_release(ctx);
	if (r < 0 || start < 0 || end <= start) {
		int e = r < 0 ? -r : errno;
		diags_add(d, ly->file, ly->line, "seccomp: generate the filter of this layer: %s",
		          strerror(e ? e : EIO));
		return false;
	}
	/* The kernel refuses a longer program (EINVAL at load): say so now,
	 * in words. With at most SECCOMP_MAX_LAYERS (5) layers the total stays
	 * under its limit for all filters together (MAX_INSNS_PER_PATH, 32768
	 * instructions, 4 more counted per filter). */
	size_t insns = (size_t)(end - start) / sizeof(struct sock_filter);
	if (insns > BPF_MAXINSNS) {
		diags_add(d, ly->file, ly->line,
		          "this layer compiles to %zu BPF instructions; the kernel accepts at most %d per filter "
		          "(fewer rules with conditions, or split the layer)",
		          insns, BPF_MAXINSNS);
		return false;
	}
	*len = (uint32_t)(end - start);
	return true;
}

/* For `check` and `explain`: everything run's compilation would refuse,
 * without loading anything. */
void seccomp_validate(const struct sc_profile *p, struct diags *d)
{
	if (!p)
		return;
	cleanup_fd int fd = memfd_create("cordon-seccomp-check", MFD_CLOEXEC);
	if (fd < 0) {
		diags_add(d, p->name, 0, "seccomp: memfd for the filter: %s", strerror(errno));
		return;
	}
	for (size_t l = 0; l < p->n_layers; l++) {
		uint32_t len;
		(void)generate_layer(p, l, fd, &len, d);
	}
}

/* Building and generating BPF is the expensive part (about 0.3 ms for the
 * default profile, 1.5 ms for strict), so the launcher does it while pid 1
 * builds the root on the other CPU. Before clone only the channel is made:
 * a memfd for the programs and a socket pair for their lengths (not a
 * pipe: pid 1 may fail and go before the lengths are sent, and the
 * launcher must then say 125, not die of SIGPIPE). */
void seccomp_prepare(const struct sc_profile *p, struct seccomp_job *job)
{
	memset(job, 0, sizeof(*job));
	job->memfd = job->sizes_r = job->sizes_w = -1;
	if (!p)
		return;
	if (p->n_layers > SECCOMP_MAX_LAYERS) /* profile_parse refuses more, plan.c adds one */
		die("seccomp: profile %s has more than %d layers", p->name, SECCOMP_MAX_LAYERS);
	job->n = p->n_layers;
	int pfd[2];
	job->memfd = memfd_create("cordon-seccomp", MFD_CLOEXEC);
	if (job->memfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pfd) < 0)
		die_with_error("seccomp: memfd and socket pair");
	job->sizes_r = pfd[0];
	job->sizes_w = pfd[1];
}

/* Sends a length to pid 1; false with errno set if it is gone. */
static bool send_length(int fd, uint32_t len)
{
	ssize_t n;
	do
		n = send(fd, &len, sizeof(len), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && n != (ssize_t)sizeof(len))
		errno = EIO; /* four bytes into an empty socket buffer: never short */
	return n == (ssize_t)sizeof(len);
}

/* In the launcher, after clone: one program per layer into the memfd and
 * each length down the socket; closing it ends the delivery. Returns
 * false if libseccomp or the kernel's limits refuse the profile, with why
 * in d (the same words as `check`): pid 1 then gets a short delivery and
 * the command never starts. Also false, with d empty, if pid 1 is already
 * gone: it has said why itself. */
bool seccomp_export(const struct sc_profile *p, struct seccomp_job *job, struct diags *d)
{
	bool ok = true;
	for (size_t l = 0; ok && l < job->n; l++) {
		uint32_t len;
		if (!generate_layer(p, l, job->memfd, &len, d)) {
			ok = false;
		} else if (!send_length(job->sizes_w, len)) {
			if (errno != EPIPE && errno != ECONNRESET)
				warn_msg("seccomp: hand the filter to pid 1: %s", strerror(errno));
			ok = false;
		}
	}
	if (job->sizes_w >= 0)
		close(job->sizes_w);
	if (job->memfd >= 0)
		close(job->memfd);
	job->sizes_w = job->memfd = -1;
	return ok;
}

/* In pid 1, before starting the command: wait for the programs. */
void seccomp_receive(struct seccomp_job *job)
{
	if (job->sizes_w >= 0)
		close(job->sizes_w);
	job->sizes_w = -1;
	off_t off = 0;
	for (size_t l = 0; l < job->n; l++) {
		uint32_t len;
		ssize_t r = TEMP_FAILURE_RETRY_INT(read(job->sizes_r, &len, sizeof(len)));
		if (r != (ssize_t)sizeof(len) || len == 0 || len % sizeof(struct sock_filter) || len > (1u << 20))
			_exit(EXIT_SETUP); /* the launcher has said why */
		job->prog[l] = xmalloc(len);
		if (pread(job->memfd, job->prog[l], len, off) != (ssize_t)len)
			die_with_error("seccomp: read filter");
		job->len[l] = len;
		off += len;
	}
	if (job->sizes_r >= 0)
		close(job->sizes_r);
	if (job->memfd >= 0)
		close(job->memfd);
	job->sizes_r = job->memfd = -1;
}

/* In the command's process, last before exec. */
void seccomp_load_programs(const struct seccomp_job *job)
{
	for (size_t l = 0; l < job->n; l++) {
		struct sock_fprog prog = {.len = (unsigned short)(job->len[l] / sizeof(struct sock_filter)),
		                          .filter = job->prog[l]};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			die_with_error("seccomp: load filter layer %zu", l + 1);
	}
}

/* Builds and loads a profile in this process, for the proxy, which has no
 * one to compile it for it and is not on a launch's critical path. */
void seccomp_load_profile(const struct sc_profile *p)
{
	for (size_t l = 0; p && l < p->n_layers; l++) {
		const struct sc_rule *bad;
		int err;
		scmp_filter_ctx ctx = build_layer(&p->layers[l], &bad, &err);
		if (!ctx) {
			errno = err;
			die_with_error("seccomp: build profile %s", p->name);
		}
		int r = seccomp_load(ctx);
		seccomp_release(ctx);
		if (r < 0) {
			errno = -r;
			die_with_error("seccomp: load profile %s", p->name);
		}
	}
}
