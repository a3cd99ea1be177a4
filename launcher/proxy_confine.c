/* The egress proxy's process: it confines itself (an unprivileged
 * account or no capabilities, no_new_privs, Landlock, the strict seccomp
 * profile) before it opens anything of its own or starts a thread, then
 * serves. Nothing here runs in the unit tests, which drive the loop of an
 * unconfined struct proxy in-process. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cordon.h"
#include "proxy.h"
#include "proxy_state.h"

/* Everything the proxy may touch, and nothing more. */
static void confine(const struct proxy_config *cfg)
{
	if (cfg->privileged) {
		/* Not root: the unprivileged "nobody" account. */
		struct passwd *pw = getpwnam("nobody");
		drop_privileges_to(true, pw ? pw->pw_uid : 65534, pw ? pw->pw_gid : 65534);
	} else {
		/* An ordinary process of the invoker: it holds no capability
		 * to drop and may not touch the bounding set or securebits;
		 * no_new_privs keeps it from gaining any. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
			die_with_error("proxy: clear ambient capabilities");
		if (!no_capabilities())
			die("proxy: started with capabilities but without privilege");
	}
	set_no_new_privs();

	/* Landlock: read what name resolution needs (resolv.conf, hosts,
	 * nsswitch.conf, and the NSS modules it may load); write nothing (the
	 * audit log is already open); bind no TCP port. */
	int abi = landlock_abi();
	if (abi >= 1) {
		static const struct ll_rule rules[] = {
		    {(char *)"/etc", LL_READ, true},
		    {(char *)"/usr", LL_READ, true},
		    {(char *)"/lib", LL_READ, true},
		    {(char *)"/lib64", LL_READ, true},
		};
		struct port_list no_bind = {.any = false}, any_connect = {.any = true};
		landlock_restrict(abi, rules, N_ELEMENTS(rules), &no_bind, &any_connect);
	}
	struct diags d = {0};
	struct sc_profile *prof =
	    profile_parse("strict", "seccomp-profiles/strict.profile", profile_builtin_text("strict"), &d);
	if (!prof)
		die("proxy: the strict profile does not parse");
	seccomp_load_profile(prof);
	profile_free(prof);
}

void proxy_run(const struct proxy_config *cfg)
{
	/* So ps, top and pgrep tell it from the launcher it was forked from
	 * (its resolver threads inherit the name). */
	(void)prctl(PR_SET_NAME, "cordon-proxy", 0, 0, 0);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max; /* two sockets per connection */
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_with_error("proxy: block signals");

	confine(cfg);

	proxy_serve(proxy_new(cfg, &mask));
	_exit(0);
}
