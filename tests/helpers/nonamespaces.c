/* nonamespaces: runs a command under a seccomp filter that refuses new
 * namespaces as a container's default profile does (Docker's, for a
 * process without CAP_SYS_ADMIN), for the container suite.
 *
 *   nonamespaces CMD [ARG]...
 *
 * The filter: clone3 fails with ENOSYS (its flags are behind a pointer a
 * filter cannot read, so such profiles refuse it whole and libc falls back
 * to clone); clone with any CLONE_NEW* flag, unshare and setns fail with
 * EPERM; everything else is allowed. Exit status: CMD's (it is exec'd), or
 * 2 if the filter cannot be installed or CMD cannot run. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: nonamespaces CMD [ARG]...\n", stderr);
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fputs("nonamespaces: seccomp_init failed\n", stderr);
		return 2;
	}
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* clone with any of the flags: one rule each (a rule's comparisons
	 * all have to match, so "any" is several rules). */
	static const unsigned long flags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	                                      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET, CLONE_NEWTIME};
	for (size_t i = 0; r == 0 && i < sizeof(flags) / sizeof(flags[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		                     SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 0);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "nonamespaces: cannot install the filter: %s\n", strerror(-r));
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "nonamespaces: %s: %s\n", argv[1], strerror(errno));
	return 2;
}
