#!/usr/bin/env bash
# The container case (issue 19): cordon inside an unprivileged user
# namespace that holds no capability in the initial one, as in a rootless
# container or a Kubernetes pod with hostUsers: false. The container is
# container-init.sh: root in its own user namespace (the root variant
# drops to an unprivileged account first, the user variant is one), its
# own root file system and /proc, /proc masked as Docker's default masks
# it when asked. cordon runs there as the container's root (no user
# namespace of its own: uid 0) and as a non-root user of the container (a
# user namespace of its own, nested). Each case either works as a real
# sandbox or fails with 125 and one line naming what refused it and the
# setting that grants it, the command not run; each refusal has its
# positive control. A container's seccomp profile that refuses namespaces
# is tests/helpers/nonamespaces. AppArmor's restriction is read by
# cordon-testhooks from the files CORDON_TEST_APPARMOR_SYSCTL and
# CORDON_TEST_APPARMOR_PROFILES name (this host has no AppArmor).
. "$(dirname "$0")/lib.sh"

INIT=$(cd "$(dirname "$0")" && pwd)/container-init.sh
# Everything run-as.sh staged (cordon, helpers, these scripts).
STAGE=$(cd "$(dirname "$CORDON")" && pwd)
TESTHOOKS=$HELPERS/cordon-testhooks
# The root variant enters the container from an unprivileged account, as
# a rootless runtime does: nothing in it has a capability on the host.
UNPRIV=()
if [ $IS_ROOT -eq 1 ]; then
	: "${CORDON_AGENT_USER:?the root variant needs CORDON_AGENT_USER (run-as.sh)}"
	UNPRIV=(setpriv --reuid="$CORDON_AGENT_USER" --regid="$(id -g "$CORDON_AGENT_USER")" --clear-groups --)
fi
# A user of the container, not its root: its own user namespace, in which
# uid 1000 is the container's root; no capability there after exec.
AS_CONTAINER_USER=(unshare --user --map-user=1000 --map-group=1000 --)

# The policy files, read-only inside the container at the same paths.
chmod 0755 "$WORK"

# container_policy NAME [EXTRA]: a policy for inside the container (its
# /work is the project root), with `user = $CP_USER` (default root; empty:
# none, for a user of the container).
container_policy() {
	local f="$WORK/c-$1.ini"
	{
		echo "[sandbox]"
		echo "name = c-$1"
		[ -n "${CP_USER-root}" ] && echo "user = ${CP_USER-root}"
		echo
		echo "[filesystem]"
		echo "ro = /usr"
		echo "ro = /etc"
		echo "tmpfs = /tmp"
		echo "project_root = /work"
		system_links
		printf '%s\n' "${2:-}"
	} >"$f"
	chmod 0644 "$f"
	echo "$f"
}

# An empty directory for a container's root to be mounted on (in its own
# mount namespace only: here it stays empty, and goes with $WORK).
container_root() {
	local d
	d=$(mktemp -d "$WORK/container.XXXXXX")
	chmod 0755 "$d"
	echo "$d"
}

# container MASKED CMD [ARG]...: runs CMD as the container's pid 1 would
# (the container's root, in /work/proj); sets SB_OUT, SB_ERR, SB_RC.
# CONTAINER_CORDON (a file) becomes the container's /usr/bin/cordon.
container() {
	local masked=$1 out err
	shift
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	chmod 0666 "$out" "$err"
	"${UNPRIV[@]}" env CONTAINER_BINDS="$STAGE $WORK" CONTAINER_CORDON="${CONTAINER_CORDON:-}" \
		CONTAINER_ROOT="$(container_root)" unshare --user --map-root-user --mount --pid --fork -- bash "$INIT" "$masked" "$@" >"$out" 2>"$err" </dev/null
	SB_RC=$?
	SB_OUT=$(cat "$out")
	SB_ERR=$(cat "$err")
	rm -f "$out" "$err"
	no_sanitizer_report "$SB_ERR"
}

# What a real sandbox shows from inside: its uid, no capabilities, its
# seccomp filter, only its own processes (cordon's pid 1, the shell, ps
# and wc), and not the container's files outside its policy.
INSIDE='id -u; grep ^CapEff: /proc/self/status; grep ^Seccomp: /proc/self/status; ps -e -o pid= | wc -l; hostname; test -e /var/lib/outside && echo SEES-OUTSIDE; echo RAN'
# As the container's process: a file of its own, then cordon.
run_inside() { # run_inside POLICY [PREFIX...]: the PREFIX before cordon
	local pol=$1
	shift
	echo "sh -c 'echo x >/var/lib/outside; exec \"\$@\"' sh $* $CORDON run --policy $pol -- sh -c '$INSIDE'"
}

one_line() { # one_line: SB_ERR is exactly one line starting "cordon: "
	eq "lines of stderr ($SB_ERR)" "$(printf '%s\n' "$SB_ERR" | wc -l)" 1
	contains "stderr" "$SB_ERR" "cordon: "
}

is_real_sandbox() { # is_real_sandbox UID: what $INSIDE printed
	eq "exit status ($(show))" "$SB_RC" 0
	eq "uid ($SB_OUT)" "$(printf '%s\n' "$SB_OUT" | sed -n 1p)" "$1"
	contains "capabilities" "$SB_OUT" "CapEff:	0000000000000000"
	contains "seccomp" "$SB_OUT" "Seccomp:	2"
	contains "hostname" "$SB_OUT" "cordon"
	contains "ran" "$SB_OUT" "RAN"
	lacks "the container's files" "$SB_OUT" "SEES-OUTSIDE"
	local procs
	procs=$(printf '%s\n' "$SB_OUT" | sed -n 4p | tr -d ' ')
	[ "$procs" -le 4 ] || failed "the sandbox sees $procs processes, more than its own: $SB_OUT"
}

# ---- the container's root: no user namespace of cordon's ----

t_container_root_gets_a_real_sandbox() {
	local pol
	pol=$(container_policy root)
	container 0 sh -c "$(run_inside "$pol")"
	is_real_sandbox 0
}

# Docker's masks are the container's own mounts, not locked from a more
# privileged namespace: the container's root may mount a new /proc, which
# shows the sandbox's own processes. Not a weaker sandbox: cordon's /proc
# is made read-only where bubblewrap's is, and the command has no
# capability to use what the masks hid.
t_container_root_with_masked_proc_gets_a_real_sandbox() {
	local pol
	pol=$(container_policy root)
	container 1 sh -c "grep -q ' /proc/sys ro,' /proc/self/mountinfo || echo NOT-MASKED; $(run_inside "$pol")"
	lacks "the container's /proc is masked" "$SB_OUT" "NOT-MASKED"
	is_real_sandbox 0
}

# ---- a user of the container: cordon makes its own user namespace ----

t_container_user_gets_a_real_sandbox() {
	local pol
	pol=$(CP_USER= container_policy user)
	container 0 sh -c "$(run_inside "$pol" "${AS_CONTAINER_USER[@]}")"
	is_real_sandbox 1000
}

# The container's masks are locked in cordon's user namespace: the kernel
# refuses a new /proc there (it would reveal what they hide). Never the
# container's /proc bound instead: 125, one line, the command not run.
t_masked_proc_refuses_a_container_user_naming_the_setting() {
	local pol
	pol=$(CP_USER= container_policy user)
	container 1 sh -c "$(run_inside "$pol" "${AS_CONTAINER_USER[@]}")"
	eq "exit status ($(show))" "$SB_RC" 125
	one_line
	contains "the step" "$SB_ERR" "mount /proc"
	contains "why" "$SB_ERR" "partly covered (/proc/"
	contains "Docker's setting" "$SB_ERR" "--security-opt systempaths=unconfined"
	contains "Kubernetes' setting" "$SB_ERR" "securityContext.procMount: Unmasked"
	lacks "the command ran" "$SB_OUT" "RAN"
	# The control: the same user, policy and command, /proc unmasked.
	container 0 sh -c "$(run_inside "$pol" "${AS_CONTAINER_USER[@]}")"
	is_real_sandbox 1000
}

t_doctor_in_a_masked_container_names_the_setting() {
	container 1 "${AS_CONTAINER_USER[@]}" "$CORDON" doctor
	eq "doctor's status ($(show))" "$SB_RC" 1
	contains "doctor" "$SB_OUT" "FAIL  proc"
	contains "doctor" "$SB_OUT" "--security-opt systempaths=unconfined"
	contains "doctor" "$SB_OUT" "securityContext.procMount: Unmasked"
	# Controls: unmasked, and the container's root with masks, pass.
	container 0 "${AS_CONTAINER_USER[@]}" "$CORDON" doctor
	eq "doctor's status, unmasked ($(show))" "$SB_RC" 0
	contains "doctor" "$SB_OUT" "ok    proc"
	container 1 "$CORDON" doctor
	eq "doctor's status, the container's root ($(show))" "$SB_RC" 0
	contains "doctor" "$SB_OUT" "ok    proc"
}

# ---- a seccomp profile that refuses namespaces (Docker's default) ----

t_seccomp_refusing_namespaces_names_the_setting() {
	local pol upol
	pol=$(container_policy root)
	upol=$(CP_USER= container_policy user)
	for who in root user; do
		local prefix=("$HELPERS/nonamespaces")
		[ $who = user ] && prefix=("${AS_CONTAINER_USER[@]}" "$HELPERS/nonamespaces")
		local p=$pol
		[ $who = user ] && p=$upol
		container 0 sh -c "$(run_inside "$p" "${prefix[@]}")"
		eq "exit status, the container's $who ($(show))" "$SB_RC" 125
		one_line
		contains "the step" "$SB_ERR" "create namespaces: Operation not permitted"
		contains "the cause" "$SB_ERR" "seccomp filter"
		contains "Docker's setting" "$SB_ERR" "--security-opt seccomp=unconfined"
		contains "Kubernetes' setting" "$SB_ERR" "securityContext.seccompProfile"
		lacks "the command ran" "$SB_OUT" "RAN"
		container 1 "${prefix[@]}" "$CORDON" doctor
		eq "doctor's status ($(show))" "$SB_RC" 1
		contains "doctor" "$SB_OUT" "FAIL  sandbox_ns"
		contains "doctor" "$SB_OUT" "--security-opt seccomp=unconfined"
	done
	# The controls are the tests above: the same runs without the filter.
	container 0 sh -c "$(run_inside "$pol")"
	is_real_sandbox 0
}

# ---- cgroups the container cannot write ----

t_limits_fail_closed_where_the_container_has_no_cgroup() {
	local pol free
	pol=$(container_policy limited "[limits]
memory = 256M
pids = 100")
	container 0 sh -c "$(run_inside "$pol")"
	eq "exit status ($(show))" "$SB_RC" 125
	one_line
	contains "why" "$SB_ERR" "not writable even by root here: this is a container's root"
	contains "the setting" "$SB_ERR" "Kubernetes: resources.limits"
	lacks "the command ran" "$SB_OUT" "RAN"
	# The control: the same policy without [limits].
	free=$(container_policy free)
	container 0 sh -c "$(run_inside "$free")"
	is_real_sandbox 0
}

# ---- idmapped projects (a root run with user = NAME) ----

# The container's root cannot idmap the host's file system: refused and
# named, never mounted without the mapping. The control: user = root.
t_idmapped_project_in_a_container_is_refused_naming_it() {
	local pol
	pol=$(CP_USER=nobody container_policy nobody)
	container 0 sh -c "$(run_inside "$pol")"
	eq "exit status ($(show))" "$SB_RC" 125
	one_line
	contains "the step" "$SB_ERR" "idmap: "
	contains "why" "$SB_ERR" "whose root cannot idmap the host's file systems"
	contains "what to do" "$SB_ERR" "set user = root"
	lacks "the command ran" "$SB_OUT" "RAN"
	pol=$(container_policy root)
	container 0 sh -c "$(run_inside "$pol")"
	is_real_sandbox 0
}

# ---- setgroups denied (maps written by an unprivileged runtime) ----

# Its root holds a supplementary group it cannot drop: refused, named.
# The control is every other test here (setpriv --clear-groups: none).
t_root_setgroups_denied_with_groups_held_is_refused() {
	local pol out err
	pol=$(container_policy root)
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	chmod 0666 "$out" "$err"
	setpriv --reuid="$CORDON_AGENT_USER" --regid="$(id -g "$CORDON_AGENT_USER")" --groups=100 -- \
		env CONTAINER_BINDS="$STAGE $WORK" CONTAINER_ROOT="$(container_root)" unshare --user --map-root-user --mount --pid --fork -- \
		bash "$INIT" 0 sh -c "$(run_inside "$pol")" >"$out" 2>"$err" </dev/null
	SB_RC=$?
	SB_OUT=$(cat "$out")
	SB_ERR=$(cat "$err")
	eq "exit status ($(show))" "$SB_RC" 125
	contains "why" "$SB_ERR" "drop supplementary groups: this user namespace denies setgroups and the process holds groups"
	lacks "the command ran" "$SB_OUT" "RAN"
}

# ---- AppArmor's restriction (Ubuntu 23.10+), through the test hooks ----

AA_ON=$WORK/aa-sysctl-1
AA_OFF=$WORK/aa-sysctl-0
AA_WITH=$WORK/aa-profiles-with-cordon
AA_WITHOUT=$WORK/aa-profiles-without-cordon
printf '1\n' >"$AA_ON"
printf '0\n' >"$AA_OFF"
printf 'unprivileged_userns (enforce)\nbwrap (unconfined)\ncordon (enforce)\nlsb_release (enforce)\n' >"$AA_WITH"
printf 'unprivileged_userns (enforce)\nbwrap (unconfined)\ncordon-other (enforce)\n' >"$AA_WITHOUT"
chmod 0644 "$AA_ON" "$AA_OFF" "$AA_WITH" "$AA_WITHOUT"

aa_doctor() { # aa_doctor SYSCTL PROFILES [BINARY]: doctor's apparmor line
	SB_OUT=$(env CORDON_TEST_APPARMOR_SYSCTL="$1" CORDON_TEST_APPARMOR_PROFILES="$2" "${3:-$TESTHOOKS}" doctor)
	SB_RC=$?
	SB_OUT=$(printf '%s\n' "$SB_OUT" | grep -A1 ' apparmor ')
}

t_doctor_apparmor_restricted_and_not_loaded_says_what_to_do() {
	aa_doctor "$AA_ON" "$AA_WITHOUT"
	contains "doctor" "$SB_OUT" "warn  apparmor"
	contains "doctor" "$SB_OUT" "kernel.apparmor_restrict_unprivileged_userns=1"
	contains "doctor" "$SB_OUT" "the cordon profile is not loaded"
	contains "doctor" "$SB_OUT" "apparmor_parser -r /etc/apparmor.d/cordon"
	contains "doctor" "$SB_OUT" "sysctl kernel.apparmor_restrict_unprivileged_userns=0"
	# The control: the real cordon reads the kernel's files, not these.
	aa_doctor "$AA_ON" "$AA_WITHOUT" "$CORDON"
	contains "cordon doctor" "$SB_OUT" "ok    apparmor         no AppArmor restriction"
}

t_doctor_apparmor_restricted_and_loaded() {
	# Loaded, but this binary is not the one it attaches to.
	aa_doctor "$AA_ON" "$AA_WITH"
	contains "doctor" "$SB_OUT" "warn  apparmor"
	contains "doctor" "$SB_OUT" "the cordon profile is loaded (enforce) but attaches to /usr/bin/cordon, not to this binary ($TESTHOOKS)"
	# Loaded, and this binary is /usr/bin/cordon (the container's).
	CONTAINER_CORDON=$TESTHOOKS container 0 env CORDON_TEST_APPARMOR_SYSCTL="$AA_ON" \
		CORDON_TEST_APPARMOR_PROFILES="$AA_WITH" /usr/bin/cordon doctor
	contains "doctor ($(show))" "$SB_OUT" "ok    apparmor         AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); the cordon profile is loaded (enforce) and attaches to /usr/bin/cordon, this binary"
	# Not loaded there: the same binary says what to do.
	CONTAINER_CORDON=$TESTHOOKS container 0 env CORDON_TEST_APPARMOR_SYSCTL="$AA_ON" \
		CORDON_TEST_APPARMOR_PROFILES="$AA_WITHOUT" /usr/bin/cordon doctor
	contains "doctor ($(show))" "$SB_OUT" "warn  apparmor"
	contains "doctor" "$SB_OUT" "the cordon profile is not loaded"
}

t_doctor_apparmor_not_restricted() {
	aa_doctor "$AA_OFF" "$AA_WITHOUT"
	contains "doctor" "$SB_OUT" "ok    apparmor         kernel.apparmor_restrict_unprivileged_userns=0: not restricted"
	aa_doctor "$WORK/no-such-sysctl" "$WORK/no-such-profiles"
	contains "doctor" "$SB_OUT" "ok    apparmor         no AppArmor restriction of user namespaces on this kernel"
	# The control: restricted, the same profiles, warns.
	aa_doctor "$AA_ON" "$AA_WITHOUT"
	contains "doctor" "$SB_OUT" "warn  apparmor"
}

# Under a container's default AppArmor profile (docker-default) mounts
# are refused: doctor names the profile and the option that lifts it.
# Controls: unconfined, complain mode and cordon's own profile confine
# nothing; the real cordon reads the kernel's file, not the test's.
t_doctor_apparmor_profile_confining_cordon_is_named() {
	local cur=$WORK/aa-current out
	printf 'docker-default (enforce)\n' >"$cur"
	chmod 0644 "$cur"
	out=$(CORDON_TEST_APPARMOR_CURRENT=$cur "$TESTHOOKS" doctor | grep ' apparmor_profile ')
	contains "names the profile" "$out" "warn  apparmor_profile cordon runs under the AppArmor profile docker-default:"
	contains "says what lifts it" "$out" "--security-opt apparmor=unconfined"
	local label
	for label in "unconfined" "docker-default (complain)" "cordon (unconfined)" "cordon (enforce)"; do
		printf '%s\n' "$label" >"$cur"
		out=$(CORDON_TEST_APPARMOR_CURRENT=$cur "$TESTHOOKS" doctor | grep ' apparmor_profile ')
		contains "control: $label" "$out" "ok    apparmor_profile not confined by an AppArmor profile"
	done
	printf 'docker-default (enforce)\n' >"$cur"
	out=$(CORDON_TEST_APPARMOR_CURRENT=$cur "$CORDON" doctor | grep ' apparmor_profile ')
	contains "control: the real cordon reads the kernel's file" "$out" "ok    apparmor_profile not confined"
}

# The profile list is root's to read: a user is told doctor cannot tell.
t_doctor_apparmor_cannot_tell_as_a_user() {
	local hidden=$WORK/aa-profiles-hidden
	cp "$AA_WITH" "$hidden"
	chmod 0000 "$hidden"
	SB_OUT=$("${UNPRIV[@]}" env CORDON_TEST_APPARMOR_SYSCTL="$AA_ON" CORDON_TEST_APPARMOR_PROFILES="$hidden" \
		"$TESTHOOKS" doctor | grep ' apparmor ')
	contains "doctor" "$SB_OUT" "cannot tell whether the cordon profile is loaded"
	contains "doctor" "$SB_OUT" "sudo cordon doctor"
	# The control: a list it can read.
	SB_OUT=$("${UNPRIV[@]}" env CORDON_TEST_APPARMOR_SYSCTL="$AA_ON" CORDON_TEST_APPARMOR_PROFILES="$AA_WITHOUT" \
		"$TESTHOOKS" doctor | grep ' apparmor ')
	contains "doctor" "$SB_OUT" "the cordon profile is not loaded"
}

# A run whose user namespace is refused names AppArmor when it restricts
# them and cordon's profile is not loaded; seccomp when it is. (A refusal
# is made here by the seccomp helper: this host has no AppArmor.)
t_run_refused_user_namespace_names_apparmor() {
	local pol
	pol=$(NO_BASE_USER=1 policy plain </dev/null)
	chmod 0644 "$pol"
	SB_ERR=$("${UNPRIV[@]}" env CORDON_TEST_APPARMOR_SYSCTL="$AA_ON" CORDON_TEST_APPARMOR_PROFILES="$AA_WITHOUT" \
		"$HELPERS/nonamespaces" "$TESTHOOKS" run --policy "$pol" -- echo RAN 2>&1 >/dev/null)
	SB_RC=$?
	eq "exit status ($SB_ERR)" "$SB_RC" 125
	eq "lines ($SB_ERR)" "$(printf '%s\n' "$SB_ERR" | wc -l)" 1
	contains "the step" "$SB_ERR" "create namespaces: Operation not permitted; AppArmor restricts unprivileged user namespaces"
	contains "what to do" "$SB_ERR" "apparmor_parser -r /etc/apparmor.d/cordon"
	# The control: not restricted, the same refusal names the filter.
	SB_ERR=$("${UNPRIV[@]}" env CORDON_TEST_APPARMOR_SYSCTL="$AA_OFF" CORDON_TEST_APPARMOR_PROFILES="$AA_WITHOUT" \
		"$HELPERS/nonamespaces" "$TESTHOOKS" run --policy "$pol" -- echo RAN 2>&1 >/dev/null)
	contains "the step" "$SB_ERR" "create namespaces: Operation not permitted; cordon runs under a seccomp filter"
	lacks "AppArmor" "$SB_ERR" "AppArmor"
}

run_tests "${1:-}"
