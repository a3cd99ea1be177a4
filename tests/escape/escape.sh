#!/usr/bin/env bash
# Escape tests: each is an attempt, made from the `try` helper inside a real
# sandbox, that must fail, paired with a control showing the same attempt
# gets further without the boundary. Runs as root and as an unprivileged
# user (run-as.sh). docs/threat-model.md lists every test here.
. "$(dirname "$0")/lib.sh"

TRY=$HELPERS/try
[ -x "$TRY" ] || {
	echo "Bail out! try helper missing"
	exit 1
}

# in_sandbox PROFILE CMD...: the result line of CMD in a sandbox using the
# seccomp profile (landlock as the base policy has it: required).
in_sandbox() {
	local prof=$1
	shift
	local p
	p=$(policy "sc-$prof" <<<"[seccomp]
profile = $prof
")
	sb "$p" -- "$@"
	[ "$SB_RC" -eq 0 ] || failed "sandbox run failed: $(show)"
	printf '%s' "$SB_OUT"
}

# layers_off NAME: a policy with Landlock off and no seccomp profile, the
# rest of it from stdin; prints its path. What a test run under it shows is
# the mounts', the namespaces' and the identity's doing alone.
layers_off() {
	policy "$1" <<<"$(cat)
[landlock]
mode = off
[seccomp]
profile = none
"
}

# ---- seccomp: every syscall the default profile must deny ----
#
# Each case is tried three ways, all from one sandbox run per way (the
# `try syscalls` helper forks a child per case):
# - with the default profile, where it must give WANT;
# - with a marked copy of the default profile, every rule the binary holds
#   (as `cordon explain` lists them) answering EHWPOISON instead, where it
#   must give EHWPOISON. No missing capability, Landlock or mount answers
#   that: for calls that need a capability the sandbox never has, EPERM
#   inside proves nothing, and this shows the profile's own rule answers;
#   remove the rule and the case gets the kernel's EPERM;
# - with profile = none, the control: the kernel's own answer, never the
#   mark.
# docs/seccomp.md gives each rule's reason; tests/unit/test_seccomp_filter.c
# checks every rule of each shipped profile in the compiled filter.
MARK=EHWPOISON

# marked_profile: writes $WORK/sc-marked.profile, the default profile as
# the binary holds it with every rule's action replaced by errno:$MARK.
marked_profile() {
	local p prof=$WORK/sc-marked.profile out=$WORK/sc-explain.out
	p=$(policy sc-explain <<<"[seccomp]
profile = default
")
	(cd "$WORK/proj" && "$CORDON" explain --policy "$p" --verbose -- /bin/true) >"$out" 2>&1 || failed "explain: $(cat "$out")"
	{
		echo "default allow"
		# The rule lines of the seccomp section: indented by four, the
		# rule as written, then where it was written.
		awk -v mark="errno:$MARK" '
			/^seccomp / { on = 1; next }
			on && /^$/ { exit }
			on && /^    [a-z]/ { $NF = ""; if ($2 != "allow") $2 = mark; sub(/ +$/, ""); print }
		' "$out"
	} >"$prof"
	[ "$(grep -c "errno:$MARK" "$prof")" -ge 60 ] || failed "marked profile: too few rules from explain: $(cat "$prof")"
}

# sc_results WAY: runs every DENY case in a sandbox (WAY: default, none or
# marked) once per run of the suite; its results stay in $WORK/sc-WAY.
sc_results() {
	local f=$WORK/sc-$1 prof=$1 p cases
	[ -s "$f" ] && return 0
	if [ "$1" = marked ]; then
		marked_profile
		prof=$WORK/sc-marked.profile
	fi
	p=$(policy "sc-$1" <<<"[seccomp]
profile = $prof
")
	mapfile -t cases < <(printf '%s\n' "${!DENY[@]}" | sort)
	sb "$p" -- "$TRY" syscalls "${cases[@]}"
	[ "$SB_RC" -eq 0 ] || failed "$1: sandbox run failed: $(show)"
	printf '%s\n' "$SB_OUT" >"$f"
}

# sc_result WAY NAME: the result of case NAME (after sc_results WAY).
sc_result() {
	awk -v n="$2" '$1 == n { print $2 }' "$WORK/sc-$1"
}

seccomp_case() {
	local name=$1 want=$2 got marked none
	sc_results default
	sc_results marked
	sc_results none
	got=$(sc_result default "$name")
	marked=$(sc_result marked "$name")
	none=$(sc_result none "$name")
	eq "$name inside, default profile" "$got" "$want"
	eq "$name inside, the default profile's rules marked: its own rule answers" "$marked" "$MARK"
	case "$none" in "" | died) failed "control: $name without the filter gives [$none]" ;; esac
	[ "$none" != "$MARK" ] || failed "control: without the filter $name gives the mark too"
	echo "control: without the filter $name gives $none"
}

declare -A DENY=(
	[unshare-user]=EPERM [unshare-net]=EPERM [clone-user]=EPERM [clone3]=ENOSYS [setns]=EPERM
	[mount]=EPERM [umount2]=EPERM [pivot_root]=EPERM [chroot]=EPERM [open_tree]=EPERM [move_mount]=EPERM
	[fsopen]=EPERM [fsmount]=EPERM [fspick]=EPERM [fsconfig]=EPERM [mount_setattr]=EPERM
	[bpf]=EPERM [perf_event_open]=EPERM [userfaultfd]=EPERM [keyctl]=EPERM [add_key]=EPERM
	[request_key]=EPERM [kexec_load]=EPERM [kexec_file_load]=EPERM [init_module]=EPERM
	[finit_module]=EPERM [delete_module]=EPERM [open_by_handle_at]=EPERM [name_to_handle_at]=EPERM
	[io_uring_setup]=EPERM [io_uring_enter]=EPERM [io_uring_register]=EPERM [ptrace-traceme]=EPERM
	[process_vm_readv]=EPERM [process_vm_writev]=EPERM [personality-aslr]=EPERM [personality-high]=EPERM
	[ioctl-tioclinux]=EPERM [iopl]=EPERM [ioperm]=EPERM [modify_ldt]=EPERM [reboot]=EPERM [swapon]=EPERM
	[swapoff]=EPERM [acct]=EPERM [quotactl]=EPERM [syslog]=EPERM [lookup_dcookie]=EPERM
)
for c in "${!DENY[@]}"; do
	eval "t_seccomp_denies_${c//-/_}() { seccomp_case $c ${DENY[$c]}; }"
done

t_seccomp_allows_personality_query() {
	eq "personality(0xffffffff) still works" "$(in_sandbox default "$TRY" syscall personality-query)" "ok"
}

t_seccomp_other_abis_are_denied() {
	# i386 syscalls through int 0x80 from a 64-bit process. Some kernels
	# run none at all (IA32 emulation disabled: int 0x80 faults, even
	# outside); there the attempt cannot work inside either.
	"$TRY" syscall int80-getpid >/dev/null 2>&1
	if [ $? -eq 139 ]; then
		local p
		p=$(policy sc-int80 <<<"[seccomp]
profile = default")
		sb "$p" -- "$TRY" syscall int80-getpid
		[ "$SB_RC" -eq 139 ] || [ "$SB_OUT" = ENOSYS ] || failed "int 0x80 inside: $(show)"
		echo "control: this kernel runs no i386 syscalls (int 0x80 faults outside too); inside: rc=$SB_RC $SB_OUT"
	else
		eq "int 0x80 inside" "$(in_sandbox default "$TRY" syscall int80-getpid)" "ENOSYS"
		eq "int 0x80 without the filter" "$(in_sandbox none "$TRY" syscall int80-getpid)" "ok"
	fi
	# x32 numbers: denied inside; outside they work only on kernels built
	# with CONFIG_X86_X32_ABI.
	eq "x32 inside" "$(in_sandbox default "$TRY" syscall x32-getpid)" "ENOSYS"
	echo "control: x32 outside gives $("$TRY" syscall x32-getpid) on this kernel"
}

t_seccomp_strict_and_ci_keep_the_denials() {
	eq "strict: unshare user" "$(in_sandbox strict "$TRY" syscall unshare-user)" "EPERM"
	# Both layers refuse mount (ENOSYS, EPERM); the kernel keeps one.
	case "$(in_sandbox strict "$TRY" syscall mount)" in
	EPERM | ENOSYS) ;;
	*) failed "strict: mount not refused" ;;
	esac
	eq "strict: TIOCLINUX" "$(in_sandbox strict "$TRY" syscall ioctl-tioclinux)" "EPERM"
	eq "strict: ordinary syscalls work" "$(in_sandbox strict "$TRY" syscall getpid)" "ok"
	eq "ci: unshare user" "$(in_sandbox ci "$TRY" syscall unshare-user)" "EPERM"
	eq "ci: ptrace allowed" "$(in_sandbox ci "$TRY" syscall ptrace-traceme)" "ok"
}

# ---- seccomp: profiles at a path ----

# profile_policy NAME: writes $WORK/NAME.profile from stdin and a policy
# using it; prints the policy's path.
profile_policy() {
	cat >"$WORK/$1.profile"
	policy "$1" <<<"[seccomp]
profile = $WORK/$1.profile
"
}

# allowlist SYSCALL...: a one-layer allowlist of what a dynamically linked
# helper needs from execve to its exit (no rt_sigprocmask among them), and
# the SYSCALLs.
allowlist() {
	local s
	echo "default enosys"
	for s in execve brk arch_prctl mmap mprotect munmap openat read pread64 newfstatat fstat close access \
		set_tid_address set_robust_list rseq prlimit64 getrandom write exit_group exit "$@"; do
		echo "$s allow"
	done
}

t_seccomp_filter_is_the_last_step_before_execve() {
	# Every step of cordon's comes before the filter, so an allowlist
	# without rt_sigprocmask (which restores the signal mask) still starts
	# the command.
	local p
	p=$(allowlist getpid | profile_policy nosigmask)
	sb "$p" -- "$TRY" syscall getpid
	eq "runs under an allowlist without rt_sigprocmask ($(show))" "$SB_RC" 0
	eq "the command ran" "$SB_OUT" ok
	sb "$p" -- "$TRY" syscall rt_sigprocmask
	eq "control: the profile refuses rt_sigprocmask" "$SB_OUT" ENOSYS
	p=$(allowlist getpid rt_sigprocmask | profile_policy sigmask)
	sb "$p" -- "$TRY" syscall rt_sigprocmask
	eq "control: allowed, it works" "$SB_OUT" ok
	# Two layers: the allowlist lets the second one load, which still
	# denies what it lists.
	p=$({ allowlist getpid seccomp acct; printf 'default allow\nacct errno:EACCES\n'; } | profile_policy twolayers)
	sb "$p" -- "$TRY" syscall getpid
	eq "two layers run ($(show))" "$SB_RC:$SB_OUT" 0:ok
	sb "$p" -- "$TRY" syscall acct
	eq "the second layer applies" "$SB_OUT" EACCES
}

t_seccomp_profile_errno_names_reach_the_command() {
	# Any errno name the C library knows; an alias is its number.
	local p none
	p=$(printf 'default allow\nacct errno:EXDEV\nsyslog errno:EWOULDBLOCK\n' | profile_policy errnos)
	sb "$p" -- "$TRY" syscall acct
	eq "errno:EXDEV ($(show))" "$SB_OUT" EXDEV
	sb "$p" -- "$TRY" syscall syslog
	eq "errno:EWOULDBLOCK" "$SB_OUT" EAGAIN
	local c
	for c in acct syslog; do
		none=$(in_sandbox none "$TRY" syscall $c)
		case "$none" in EXDEV | EAGAIN) failed "control: $c without the filter gives $none" ;; esac
		echo "control: without the filter $c gives $none"
	done
}

t_nested_user_namespace_then_mount() {
	eq "inside" "$(in_sandbox default "$TRY" userns-mount)" "unshare:EPERM"
	local outside
	outside=$("$TRY" userns-mount)
	eq "control outside" "$outside" "ok"
}

t_ptrace_of_pid1_fails_even_when_ptrace_is_allowed() {
	eq "default profile" "$(in_sandbox default "$TRY" ptrace-pid1)" "EPERM"
	# ci allows ptrace: tracing a child works, pid 1 still refuses.
	eq "control: ci traces its own child" "$(in_sandbox ci "$TRY" ptrace-child)" "ok"
	eq "ci: pid 1" "$(in_sandbox ci "$TRY" ptrace-pid1)" "EPERM"
	# With Landlock (which scopes ptrace to its domain) and seccomp off,
	# only pid 1 being non-dumpable stands between.
	local p
	p=$(layers_off ptraceone </dev/null)
	sb "$p" -- "$TRY" ptrace-pid1
	eq "Landlock and seccomp off: pid 1 ($(show))" "$SB_RC:$SB_OUT" 0:EPERM
	sb "$p" -- "$TRY" ptrace-child
	eq "control: Landlock and seccomp off, its own child ($(show))" "$SB_RC:$SB_OUT" 0:ok
}

# TIOCSTI pushes keystrokes into the terminal the sandbox shares with the
# user's shell. Run under a pty so there is a controlling terminal.
tty_try() {
	# The terminal echoes an injected character, so the result is matched
	# at the end of a line. The whole output stays in $WORK, where the
	# runner looks for sanitizer reports.
	"$HELPERS/ptyrun" -t 20 -- "$@" </dev/null 2>&1 | tee -a "$WORK/tty_try.out" | tr -d '\r' |
		grep -oE '(ok|E[A-Z]+|errno[0-9]+|no-tty:[A-Z]+)$' | tail -n 1
}

t_tiocsti_injection_is_denied() {
	# The filter answers before the tty layer, whatever
	# dev.tty.legacy_tiocsti says. Control: the same sandbox without the
	# filter gets the tty layer's answer: the injection works, or with
	# legacy_tiocsti=0 (kernel 6.2 and later) EIO, for want of CAP_SYS_ADMIN.
	local p none want=ok
	[ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ] || want=EIO
	p=$(policy tiocsti </dev/null)
	none=$(policy tiocsti-none <<<$'[seccomp]\nprofile = none\n')
	cd "$WORK/proj" || failed cd
	eq "inside" "$(tty_try "$CORDON" run --policy "$p" -- "$TRY" tiocsti)" "EPERM"
	eq "inside, bit 32 set in the request" "$(tty_try "$CORDON" run --policy "$p" -- "$TRY" tiocsti high)" "EPERM"
	eq "control: without the filter" "$(tty_try "$CORDON" run --policy "$none" -- "$TRY" tiocsti)" "$want"
	eq "control: without the filter, bit 32 set" "$(tty_try "$CORDON" run --policy "$none" -- "$TRY" tiocsti high)" "$want"
}

# ---- Landlock ----

t_landlock_alone_denies_a_visible_file() {
	local dir=$WORK/visible p
	mkdir -p "$dir"
	echo landlock-secret >"$dir/file"
	chmod -R a+rX "$dir"
	# Landlock grants whole hierarchies, so the directory must not lie
	# below a granted one: this policy has no tmpfs on /tmp. The file is
	# bound in and readable by anyone, and no seccomp profile applies:
	# only Landlock stands between.
	p=$(policy lldeny <<<"[filesystem]
ro = $dir
[landlock]
deny = $dir
[seccomp]
profile = none
")
	sed -i '/^tmpfs = \/tmp$/d' "$p"
	sh_in "$p" "cat $dir/file 2>&1; $HELPERS/mountcheck list | grep -c '^$dir '"
	eq "ran ($(show))" "$SB_RC" 0
	contains "read refused by Landlock" "$SB_OUT" "Permission denied"
	lacks "content" "$SB_OUT" "landlock-secret"
	contains "still in the mount view" "$SB_OUT" $'\n1'
	p=$(policy llallow <<<"[filesystem]
ro = $dir
[seccomp]
profile = none
")
	sed -i '/^tmpfs = \/tmp$/d' "$p"
	sh_in "$p" "cat $dir/file"
	eq "control: readable without the deny ($(show))" "$SB_RC:$SB_OUT" "0:landlock-secret"
}

t_landlock_blocks_tcp_connect_not_in_the_policy() {
	local p
	p=$(policy lltcp </dev/null)
	sb "$p" -- /bin/bash -c '(echo > /dev/tcp/127.0.0.1/9) 2>&1; true'
	contains "connect refused by Landlock" "$SB_OUT" "Permission denied"
	p=$(policy lltcp2 <<<$'[landlock]\ntcp_connect = 9\n')
	sb "$p" -- /bin/bash -c '(echo > /dev/tcp/127.0.0.1/9) 2>&1; true'
	contains "control: allowed port reaches lo" "$SB_OUT" "Connection refused"
}

t_landlock_scopes_signals_to_the_sandbox() {
	local p
	p=$(policy llsig </dev/null)
	eq "signal pid 1 (outside the Landlock domain)" "$(in_sandbox default "$TRY" kill1)" "EPERM"
	p=$(policy llsigoff <<<$'[landlock]\nmode = off\n')
	sb "$p" -- "$TRY" kill1
	eq "control: without Landlock" "$SB_OUT" "ok"
}

t_landlock_scopes_host_abstract_sockets() {
	local name=cordon-escape-$$ lp p
	"$TRY" abstract-listen "$name" >"$WORK/listen.out" 2>&1 &
	lp=$!
	for _ in $(seq 50); do grep -q listening "$WORK/listen.out" && break; sleep 0.05; done
	p=$(policy llabs <<<$'[network]\nmode = host\n')
	sb "$p" -- "$TRY" abstract "$name"
	local inside=$SB_OUT
	p=$(policy llabsoff <<<$'[network]\nmode = host\n[landlock]\nmode = off\n')
	sb "$p" -- "$TRY" abstract "$name"
	local control=$SB_OUT
	kill $lp
	eq "host abstract socket from inside" "$inside" "EPERM"
	eq "control: without Landlock it connects" "$control" "ok"
}

# ---- /proc, /sys, host processes and host sockets ----

t_proc_1_exe_and_root_are_out_of_reach() {
	# Pid 1 is cordon itself, forked in the host's namespaces: its
	# /proc/1/exe is the host's cordon binary and /proc/1/root and cwd lead
	# into the host's mounts (the runc CVE-2019-5736 class). Pid 1 is not
	# dumpable, so the magic links do not open from inside, with Landlock
	# (which would hide /proc/1 anyway) and seccomp off too.
	local p
	p=$(layers_off procone </dev/null)
	sb "$p" -- /bin/sh -c "for t in '/proc/1/exe r' '/proc/1/exe w' '/proc/1/root/ r' '/proc/1/cwd/ r' '/proc/1/mem r'; do
		echo \"\$t \$($TRY open \$t)\"; done"
	eq "ran ($(show))" "$SB_RC" 0
	eq "pid 1's links from inside" "$SB_OUT" "/proc/1/exe r EACCES
/proc/1/exe w EACCES
/proc/1/root/ r EACCES
/proc/1/cwd/ r EACCES
/proc/1/mem r EACCES"
	sb "$p" -- "$TRY" open /proc/self/exe w
	eq "ran ($(show))" "$SB_RC" 0
	[ "$SB_OUT" != ok ] || failed "the command's own binary opened for writing"
	# Control: in the same sandbox, a dumpable process of the same user
	# (the command's child) has links that open.
	sb "$p" -- /bin/sh -c "sleep 30 & for t in exe root/ cwd/ mem; do echo \"\$t \$($TRY open /proc/\$!/\$t r)\"; done; kill \$!"
	eq "control ran ($(show))" "$SB_RC" 0
	eq "control: the links of a dumpable process open" "$SB_OUT" "exe ok
root/ ok
cwd/ ok
mem ok"
}

t_proc_sys_and_sys_are_not_writable() {
	# core_pattern and sysrq-trigger are the classic container escapes;
	# /sys is not mounted at all. Nothing is ever written: open only.
	local p got
	p=$(policy procsys </dev/null)
	for target in /proc/sys/kernel/core_pattern /proc/sysrq-trigger /proc/sys/vm/drop_caches \
		/sys/kernel/uevent_helper /sys/fs/cgroup/cgroup.procs; do
		sb "$p" -- "$TRY" open "$target" w
		[ "$SB_RC" -eq 0 ] || failed "open $target: the sandbox did not run: $(show)"
		case "$target:$SB_OUT" in
		/sys/*:ENOENT) ;; # /sys is not there at all, for root and user
		/proc/*:E[A-Z]*) ;;
		*) failed "$target inside: [$SB_OUT]" ;;
		esac
		echo "$target inside: $SB_OUT"
	done
	got=$("$TRY" open /proc/sys/kernel/core_pattern w)
	if [ $IS_ROOT -eq 1 ]; then
		eq "control: outside, root opens core_pattern for writing" "$got" ok
	else
		# The root run shows the sandbox's part.
		eq "control: a user cannot open it outside either" "$got" EACCES
	fi
}

t_host_processes_cannot_be_signalled() {
	local p got
	sleep 30 &
	local host_pid=$!
	p=$(policy hostpid </dev/null)
	sb "$p" -- "$TRY" kill "$host_pid"
	got=$("$TRY" kill "$host_pid")
	kill $host_pid
	eq "exit ($(show))" "$SB_RC" 0
	eq "a host process from inside" "$SB_OUT" ESRCH
	eq "control: outside it can be signalled" "$got" ok
}

t_host_unix_sockets_are_unreachable() {
	# A docker.sock- or ssh-agent-like socket in a host directory the
	# policy does not bind.
	local dir=$WORK/host-run sock p got
	mkdir -p "$dir"
	sock=$dir/agent.sock
	"$TRY" unix-listen "$sock" >"$WORK/unix.out" 2>&1 &
	local lp=$!
	for _ in $(seq 50); do grep -q listening "$WORK/unix.out" && break; sleep 0.05; done
	p=$(policy hostsock <<<$'[network]\nmode = host\n')
	sb "$p" -- "$TRY" unix "$sock"
	got=$("$TRY" unix "$sock")
	kill $lp
	eq "exit ($(show))" "$SB_RC" 0
	eq "the host socket from inside" "$SB_OUT" ENOENT
	eq "control: outside it connects" "$got" ok
}

t_masked_socket_in_the_project_is_unreachable() {
	# A socket inside a bound path stays reachable (docs/threat-model.md,
	# known limits); `mask` covers it.
	local sock=$WORK/proj/agent.sock p
	"$TRY" unix-listen "$sock" >"$WORK/unix.out" 2>&1 &
	local lp=$!
	for _ in $(seq 50); do grep -q listening "$WORK/unix.out" && break; sleep 0.05; done
	p=$(policy masksock <<<$'[filesystem]\nmask = agent.sock\n')
	sb "$p" -- "$TRY" unix "$sock"
	local inside=$SB_OUT inside_rc=$SB_RC
	p=$(policy nomasksock </dev/null)
	sb "$p" -- "$TRY" unix "$sock"
	kill $lp
	eq "exit, masked" "$inside_rc" 0
	eq "exit, unmasked ($(show))" "$SB_RC" 0
	eq "masked socket from inside" "$inside" EACCES
	eq "control: unmasked, it connects" "$SB_OUT" ok
}

# ---- each layer alone: the others off ----

t_mounts_alone_hide_what_the_policy_does_not_list() {
	# A readable host directory (an ~/.ssh, another project) that the
	# policy does not list is not in the fresh root, with Landlock and
	# seccomp off. This policy has no tmpfs on /tmp, so nothing covers it
	# but the root's own absence of it.
	local dir=$WORK/home/.ssh p
	mkdir -p "$dir"
	echo mount-secret >"$dir/id_rsa"
	chmod -R a+rX "$WORK/home"
	p=$(layers_off mntalone </dev/null)
	sed -i '/^tmpfs = \/tmp$/d' "$p"
	sb "$p" -- "$TRY" open "$dir/id_rsa" r
	eq "the unlisted file inside ($(show))" "$SB_RC:$SB_OUT" 0:ENOENT
	# Control: the same policy listing the directory shows the file.
	p=$(layers_off mntlisted <<<"[filesystem]
ro = $dir
")
	sed -i '/^tmpfs = \/tmp$/d' "$p"
	sh_in "$p" "cat $dir/id_rsa"
	eq "control: listed, it is there ($(show))" "$SB_RC:$SB_OUT" 0:mount-secret
}

t_sandbox_root_is_read_only_alone() {
	# The new root is a tmpfs the command's uid owns, so only its
	# read-only mount flag keeps the command from creating in / (Landlock
	# and seccomp off; /dev, a mount of its own, is not what is tried).
	local p
	p=$(layers_off rootro </dev/null)
	sh_in "$p" "echo owner \$(stat -c %u /) \$(id -u); echo mkdir \$($TRY mkdir /x); echo create \$($TRY create /x);
		echo tmp \$($TRY mkdir /tmp/x)"
	eq "ran ($(show))" "$SB_RC" 0
	contains "mkdir /x" "$SB_OUT" "mkdir EROFS"
	contains "create /x" "$SB_OUT" "create EROFS"
	# Controls: the command owns /, and a writable tmpfs takes the same
	# mkdir.
	contains "control: / belongs to the command's uid" "$SB_OUT" "owner $MYUID $MYUID"
	contains "control: mkdir in /tmp" "$SB_OUT" "tmp ok"
}

t_capabilities_alone_refuse_privileged_calls() {
	# Calls that need a capability in the sandbox's own namespaces, with
	# Landlock and seccomp off: only the capabilities cordon drops refuse
	# them (the root run's command is uid 0).
	local p
	p=$(layers_off capsalone </dev/null)
	sb "$p" -- "$TRY" privileged
	eq "ran ($(show))" "$SB_RC" 0
	eq "inside" "$(printf '%s\n' "$SB_OUT" | tr '\n' ' ')" "sethostname EPERM mount EPERM rawsock EPERM "
	# Control: the same calls in a user namespace the command makes (no
	# profile denies it here), where it holds every capability, work.
	sb "$p" -- "$TRY" privileged userns
	eq "control ran ($(show))" "$SB_RC" 0
	eq "control: with the capabilities of a new user namespace" "$(printf '%s\n' "$SB_OUT" | tr '\n' ' ')" \
		"unshare ok sethostname ok mount ok rawsock ok "
}

# ---- filling the host's disk ----

# disk_writable: the writable mounts that are not memory (tmpfs), the
# kernel's (proc, devpts, mqueue) or single device nodes, from
# `mountcheck writable` on stdin.
disk_writable() {
	awk '$2 == "tmpfs" || $2 == "proc" || $2 == "devpts" || $2 == "mqueue" { next }
		$2 == "devtmpfs" && $1 ~ /^\/dev\/[^\/]+$/ { next }
		{ print $1 }'
}

t_only_the_project_is_writable_on_disk() {
	# Everything else writable inside (/tmp, the home, /dev/shm) is memory:
	# the agent cannot fill the host's disk outside the project.
	local p outside
	p=$(policy diskfill </dev/null)
	sb "$p" -- "$HELPERS/mountcheck" writable
	[ "$SB_RC" -eq 0 ] || failed "mountcheck: $(show)"
	eq "writable on a disk inside" "$(printf '%s\n' "$SB_OUT" | disk_writable)" "$WORK/proj"
	outside=$("$HELPERS/mountcheck" writable | disk_writable | grep -vx "$WORK/proj" | head -n 1)
	[ -n "$outside" ] || failed "control: outside, nothing but the project is writable on a disk"
	echo "control: outside, $outside is writable on a disk"
}

# ---- races against the launch ----

t_root_project_root_swapped_for_a_symlink_during_launch() {
	# Under sudo the invoker owns the project and may race the launch: a
	# loop exchanges the project root with a symlink to a root-only
	# directory while sandboxes start. Every run must either refuse (125)
	# or bind the real project; the secret must never be visible inside.
	# The swapper is stopped for 200 ms every 10 ms it runs, in whichever
	# state it is: a run may then start with the real project in place and
	# complete, and at least 10 must (a launcher that refused every run
	# would pass otherwise); the others race the swaps. A loaded host makes
	# launches slower, so the runs go on (up to 400) until 10 completed.
	local secret=$WORK/secret token="SECRET-$$-$RANDOM" p i out ok=0 refused=0 seen=0 min_ok=10
	mkdir -m 0700 "$secret"
	echo "$token" >"$secret/token"
	echo "project file" >"$WORK/proj/token"
	ln -s "$secret" "$WORK/decoy"
	# The invoker's symlink (cordon follows only root-owned ones).
	chown -h nobody "$WORK/decoy" || failed "chown the symlink"
	p=$(policy race </dev/null)
	"$TRY" swap "$WORK/proj" "$WORK/decoy" >"$WORK/swap.out" 2>&1 &
	local sw=$!
	for _ in $(seq 50); do grep -q swapping "$WORK/swap.out" && break; sleep 0.05; done
	while kill -STOP $sw 2>/dev/null; do
		sleep 0.2
		kill -CONT $sw 2>/dev/null
		sleep 0.01
	done &
	local pacer=$!
	# shellcheck disable=SC2064 # the pids as they are now
	trap "kill $pacer; kill -CONT $sw; kill $sw" EXIT
	for i in $(seq 400); do
		[ "$i" -le 60 ] || [ "$ok" -lt $min_ok ] || break
		SB_CWD=. sb "$p" -- /bin/sh -c "cat $WORK/proj/token $secret/token; ls -a $WORK/proj $secret; true"
		out="$SB_OUT $SB_ERR"
		case "$out" in *"$token"*) failed "run $i saw the secret: $out" ;; esac
		if [ "$SB_RC" -eq 0 ]; then ok=$((ok + 1)); else refused=$((refused + 1)); fi
		[ "$SB_RC" -eq 0 ] || [ "$SB_RC" -eq 125 ] || failed "run $i: status $SB_RC: $(show)"
		[ "$SB_RC" -eq 125 ] || contains "run $i: the real project" "$SB_OUT" "project file"
	done
	kill $pacer
	wait $pacer 2>/dev/null
	kill -CONT $sw
	# Control: outside a sandbox the same path shows the secret now and then.
	for i in $(seq 200); do
		case "$(cat "$WORK/proj/token" 2>/dev/null)" in "$token") seen=$((seen + 1)) ;; esac
	done
	kill $sw
	wait $sw 2>/dev/null
	trap - EXIT
	echo "runs: $ok completed with the real project, $refused refused"
	[ "$ok" -ge $min_ok ] || failed "only $ok of $((ok + refused)) runs completed (at least $min_ok must)"
	[ "$seen" -gt 0 ] || failed "control: the race never showed the secret outside"
}

# ---- protected paths: hard links and renames ----

t_hard_link_to_protected_file_is_refused() {
	local p
	mkdir -p "$WORK/proj/.git"
	echo '[core]' >"$WORK/proj/.git/config"
	p=$(policy hl <<<$'[filesystem]\nprotect = .git/config\n')
	sb "$p" -- /bin/true
	eq "control: no link, runs" "$SB_RC" 0
	ln "$WORK/proj/.git/config" "$WORK/proj/config-link"
	sb "$p" -- /bin/sh -c "echo evil > $WORK/proj/config-link"
	eq "refused" "$SB_RC" 125
	contains "names the link" "$SB_ERR" "hard links"
	eq "config untouched" "$(cat "$WORK/proj/.git/config")" "[core]"
}

t_link_and_rename_across_protected_path_fail() {
	local p
	mkdir -p "$WORK/proj/.git/hooks"
	echo 'exit 0' >"$WORK/proj/.git/hooks/pre-commit"
	echo '[core]' >"$WORK/proj/.git/config"
	echo data >"$WORK/proj/plain"
	p=$(policy ren <<<$'[filesystem]\nprotect = .git/hooks\nprotect = .git/config\n')
	sh_in "$p" 'ln .git/config cfg 2>&1; ln .git/hooks/pre-commit h 2>&1; mv .git/hooks/pre-commit x 2>&1; mv plain .git/hooks/pre-commit 2>&1; mv .git/config cfg2 2>&1; mv plain .git/config 2>&1; true'
	not "hard link made" test -e "$WORK/proj/cfg"
	not "hook hard-linked" test -e "$WORK/proj/h"
	eq "hook unchanged" "$(cat "$WORK/proj/.git/hooks/pre-commit")" "exit 0"
	eq "config unchanged" "$(cat "$WORK/proj/.git/config")" "[core]"
	test -e "$WORK/proj/plain" || failed "plain was moved over a protected path: $SB_OUT"
	# Control: the same operations without protect succeed.
	p=$(policy ren2 </dev/null)
	sh_in "$p" 'ln .git/config cfg && mv plain .git/hooks/pre-commit && echo done'
	eq "control" "$SB_OUT" "done"
}

# ---- privileges ----

t_capabilities_all_zero_and_no_new_privs() {
	local p
	p=$(policy caps </dev/null)
	sh_in "$p" 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status'
	local zero=0000000000000000
	for s in CapInh CapPrm CapEff CapBnd CapAmb; do
		contains "$s" "$SB_OUT" "$s:	$zero"
	done
	contains "no_new_privs" "$SB_OUT" "NoNewPrivs:	1"
	contains "seccomp filter mode" "$SB_OUT" "Seccomp:	2"
	# Control: outside, the bounding set is not empty.
	lacks "control" "$(grep CapBnd /proc/self/status)" "$zero"
}

t_setuid_root_helper_stays_unprivileged() {
	local suid=$HELPERS/try-suid p
	[ -u "$suid" ] || skip "no setuid-root helper (the suite was not started as root)"
	local outside
	outside=$("$suid" euid)
	[ "$outside" = 0 ] || skip "$(dirname "$suid") does not honour setuid here (mounted nosuid?): no control"
	local want=$MYUID
	if [ $IS_ROOT -eq 1 ]; then
		# A privileged run without `user =` is uid 0 anyway; use the
		# confined account, as a runner would.
		want=$(id -u "${CORDON_AGENT_USER:?}")
		p=$(policy suid <<<"[sandbox]
user = $CORDON_AGENT_USER
")
	else
		p=$(policy suid </dev/null)
	fi
	sb "$p" -- "$suid" euid
	eq "exit ($SB_ERR)" "$SB_RC" 0
	eq "euid inside" "$SB_OUT" "$want"
}

run_tests "${1:-}"
