#!/usr/bin/env bash
# The sudoers-scoped runner (issue 17): root with SUDO_UID of a test user,
# as sudo leaves it, and once through the real sudo with a real sudoers
# rule. The invoking user is the attacker: every refusal has a control
# that runs. Root only (run-as.sh root); the policies live where a runner
# reads them, /etc/cordon/policies, under names unique to this run.
. "$(dirname "$0")/lib.sh"

[ $IS_ROOT -eq 1 ] || {
	echo "Bail out! runner.sh needs root"
	exit 1
}
AGENT=${CORDON_AGENT_USER:?run-as.sh sets it}
AGENT_UID=$(id -u "$AGENT")
AGENT_GID=$(id -g "$AGENT")
INV=cordon-test
INV2=cordon-test2
for u in "$INV" "$INV2"; do
	id "$u" >/dev/null 2>&1 || flock /tmp/cordon-test-useradd.lock useradd --create-home --shell /bin/bash "$u" ||
		id "$u" >/dev/null 2>&1 || {
		echo "Bail out! useradd $u"
		exit 1
	}
done
INV_UID=$(id -u "$INV")
INV_GID=$(id -g "$INV")
INV_HOME=$(getent passwd "$INV" | cut -d: -f6)
INV2_UID=$(id -u "$INV2")
# A sanitizer build's settings, through env -i and sudo's env_reset.
SAN_ENV=()
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
	[ -n "${!v:-}" ] && SAN_ENV+=("$v=${!v}")
done
POLDIR=/etc/cordon/policies
PREFIX=cordon-suite-$$
ROOTS=$WORK/users
SUDOERS=/etc/sudoers.d/cordon-suite-$$
made_poldir=0
[ -d "$POLDIR" ] || made_poldir=1
mkdir -p "$POLDIR" && chmod 0755 /etc/cordon "$POLDIR"

runner_cleanup() {
	rm -f "$POLDIR/$PREFIX"-*.ini "$SUDOERS"
	rm -rf "/var/lib/cordon/home/$INV/$PREFIX"-* "/var/lib/cordon/home/$INV2/$PREFIX"-*
	[ $made_poldir -eq 1 ] && rmdir "$POLDIR" /etc/cordon 2>/dev/null
	cleanup_work
}
trap runner_cleanup EXIT

# Each test: a project of each invoker in their own root.
per_test_setup() {
	rm -rf "$ROOTS"
	mkdir -p "$ROOTS/$INV/proj" "$ROOTS/$INV2/proj"
	echo mine >"$ROOTS/$INV/proj/file"
	echo theirs >"$ROOTS/$INV2/proj/secret"
	chown -R "$INV:" "$ROOTS/$INV"
	chown -R "$INV2:" "$ROOTS/$INV2"
	chmod 0700 "$ROOTS/$INV2"
	chmod 0755 "$ROOTS" "$ROOTS/$INV"
}

# rpolicy NAME: a runner policy from stdin after the base, in the policy
# directory, root's and 0644; prints its bare name.
rpolicy() {
	local name=$PREFIX-$1 rest
	rest=$(cat)
	{
		printf '[sandbox]\nname = %s\n' "$name"
		grep -q '^user *=' <<<"$rest" || [ -n "${NO_USER:-}" ] || echo "user = $AGENT"
		printf '%s\n' "$rest"
		cat <<EOF
[filesystem]
ro = /usr
ro = /etc
tmpfs = /tmp
EOF
		[ -n "$HELPERS" ] && echo "ro = $HELPERS"
		system_links
		printf '[user:%s]\nproject_root = %s\n' "$INV" "$ROOTS/$INV"
		printf '[user:%s]\nproject_root = %s\n' "$INV2" "$ROOTS/$INV2"
	} >"$POLDIR/$name.ini"
	chmod 0644 "$POLDIR/$name.ini"
	echo "$name"
}

# as_sudo [VAR=VALUE...] -- ARG...: cordon as sudo runs it for $INV (or
# $SUDO_AS): root, SUDO_* set, from $SB_CWD or the invoker's project.
as_sudo() {
	local vars=() out err who=${SUDO_AS:-$INV}
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	(cd "${SB_CWD:-$ROOTS/$who/proj}" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
		SUDO_UID="$(id -u "$who")" SUDO_GID="$(id -g "$who")" SUDO_USER="$who" "${SAN_ENV[@]}" "${vars[@]}" \
		"$CORDON" "$@") >"$out" 2>"$err" </dev/null
	SB_RC=$?
	SB_OUT=$(cat "$out")
	SB_ERR=$(cat "$err")
	rm -f "$out" "$err"
	no_sanitizer_report "$SB_ERR"
}

# rsb NAME ARG...: `cordon run --policy NAME ARG...` as as_sudo runs it.
rsb() {
	local name=$1
	shift
	as_sudo -- run --policy "$name" "$@"
}

# via_sudo ARG...: the real sudo, as $INV, with the suite's sudoers rule.
via_sudo() {
	local out err
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	chmod 0666 "$out" "$err"
	(cd "${SB_CWD:-$ROOTS/$INV/proj}" && setpriv --reuid="$INV" --regid="$INV" --init-groups -- \
		env -i PATH=/usr/bin:/bin HOME="$INV_HOME" TERM=dumb "${SAN_ENV[@]}" "${VIA_ENV[@]}" sudo -n "$CORDON" "$@") \
		>"$out" 2>"$err" </dev/null
	SB_RC=$?
	SB_OUT=$(cat "$out")
	SB_ERR=$(cat "$err")
	rm -f "$out" "$err"
	no_sanitizer_report "$SB_ERR"
}
VIA_ENV=()

# The sudoers rule an administrator writes, for the policy named NAME.
install_sudoers() {
	command -v sudo >/dev/null || failed "sudo is not installed (scripts/setup installs it)"
	{
		printf '%s ALL=(root) NOPASSWD: %s run --policy %s *\n' "$INV" "$CORDON" "$1"
		# Only a sanitizer build's settings, so its die paths are not
		# reported as leaks (run-as.sh sets them for every suite).
		[ ${#SAN_ENV[@]} -gt 0 ] && echo 'Defaults env_keep += "ASAN_OPTIONS UBSAN_OPTIONS"'
	} >"$SUDOERS.tmp"
	chmod 0440 "$SUDOERS.tmp"
	visudo -cqf "$SUDOERS.tmp" || failed "visudo refuses the rule: $(cat "$SUDOERS.tmp")"
	mv "$SUDOERS.tmp" "$SUDOERS"
}

# ---- identity ----

t_root_runner_runs_as_the_agent_account_without_privilege() {
	local p
	p=$(rpolicy id <<<"")
	rsb "$p" -- /bin/sh -c 'id -u; id -g; id -G; echo "$HOME $USER"; grep -E "^Cap(Eff|Prm|Bnd|Amb)" /proc/self/status'
	eq "exit ($(show))" "$SB_RC" 0
	eq "uid, gid, groups" "$(sed -n 1,3p <<<"$SB_OUT")" "$AGENT_UID
$AGENT_GID
$AGENT_GID"
	contains "home" "$SB_OUT" "$(getent passwd "$AGENT" | cut -d: -f6) $AGENT"
	for c in CapEff CapPrm CapBnd CapAmb; do
		contains "$c" "$SB_OUT" "$c:	0000000000000000"
	done
}

t_root_runner_audit_names_the_invoker() {
	local p
	p=$(rpolicy audit <<<"[audit]
log = $WORK/audit.jsonl")
	rsb "$p" -- /bin/true
	eq "exit ($(show))" "$SB_RC" 0
	python3 - "$WORK/audit.jsonl" "$INV_UID" "$AGENT_UID" <<'EOF' || failed "audit records: $(cat "$WORK/audit.jsonl")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert {r["event"] for r in recs} >= {"sandbox_start", "sandbox_exit"}, recs
assert all(r["uid"] == int(sys.argv[2]) for r in recs), recs
start = [r for r in recs if r["event"] == "sandbox_start"][0]
assert start["run_uid"] == int(sys.argv[3]) and start["runner"] is True and start["root_kept"] is False, start
EOF
}

# The invoker's refused attempts are on the record too, under their uid.
t_root_runner_audit_records_a_refused_attempt() {
	local p
	p=$(rpolicy auditref <<<"[audit]
log = $WORK/audit-refused.jsonl")
	SB_CWD=/tmp rsb "$p" -- /bin/true
	eq "refused ($(show))" "$SB_RC" 125
	python3 - "$WORK/audit-refused.jsonl" "$INV_UID" <<'EOF' || failed "audit records: $(cat "$WORK/audit-refused.jsonl")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["event"] for r in recs] == ["sandbox_refused"], recs
r = recs[0]
assert r["uid"] == int(sys.argv[2]) and r["runner"] is True and r["cwd"] == "/tmp", r
assert "outside the allowed project roots" in r["reason"], r
EOF
}

t_root_runner_env_of_the_invoker_has_no_effect() {
	local p evil=$WORK/evil
	mkdir -p "$evil"
	# The invoker's own policy directory and a policy of the same name.
	printf '[sandbox]\nuser = root\n[filesystem]\nro = /\n' >"$evil/$PREFIX-env.ini"
	p=$(rpolicy env <<<"[env]
keep = TERM")
	as_sudo PATH="$evil:/usr/bin:/bin" HOME="$evil" LD_PRELOAD=/nonexistent-cordon.so CORDON_POLICY_PATH="$evil" \
		XDG_CONFIG_HOME="$evil" -- run --policy "$p" -- /bin/sh -c 'env; id -u'
	eq "exit ($(show))" "$SB_RC" 0
	lacks "LD_PRELOAD" "$SB_OUT" "LD_PRELOAD"
	lacks "invoker's PATH" "$SB_OUT" "$evil"
	contains "agent's HOME" "$SB_OUT" "HOME=$(getent passwd "$AGENT" | cut -d: -f6)"
	contains "not root: the invoker's policy was not read" "$SB_OUT" "$AGENT_UID"
	# Control: without sudo the same variable chooses the policy.
	(cd "$evil" && CORDON_POLICY_PATH="$evil" "$CORDON" explain "$PREFIX-env" >"$WORK/ctl" 2>&1)
	contains "control: CORDON_POLICY_PATH works unprivileged-style" "$(cat "$WORK/ctl")" "$evil/$PREFIX-env.ini"
}

# ---- the policy is the administrator's ----

t_root_runner_policy_must_be_a_root_owned_bare_name() {
	local p f
	p=$(rpolicy pol <<<"")
	f=$POLDIR/$p.ini
	rsb "$p" -- /bin/true
	eq "control: the root-owned policy runs ($(show))" "$SB_RC" 0
	cp "$f" "$WORK/mine.ini"
	rsb "$WORK/mine.ini" -- /bin/true
	eq "a path" "$SB_RC" 125
	contains "a path: why" "$SB_ERR" "under sudo --policy takes a bare name"
	rsb "$p.ini" -- /bin/true
	eq "name.ini is a path" "$SB_RC" 125
	as_sudo -- run --policy "$p" --policy "$p" -- /bin/true
	eq "twice" "$SB_RC" 125
	contains "twice: why" "$SB_ERR" "--policy given more than once"
	chmod g+w "$f"
	rsb "$p" -- /bin/true
	eq "group-writable" "$SB_RC" 125
	contains "group-writable: why" "$SB_ERR" "$f is group-writable"
	chmod 0644 "$f"
	chown "$INV" "$f"
	rsb "$p" -- /bin/true
	eq "invoker-owned" "$SB_RC" 125
	contains "invoker-owned: why" "$SB_ERR" "$f is owned by uid $INV_UID, not root"
	chown root "$f"
	mv "$f" "$WORK/real.ini"
	ln -s "$WORK/real.ini" "$f"
	rsb "$p" -- /bin/true
	eq "symlink" "$SB_RC" 125
	contains "symlink: why" "$SB_ERR" "$f is a symlink"
	rm "$f"
	mv "$WORK/real.ini" "$f"
	chmod o+w "$POLDIR"
	rsb "$p" -- /bin/true
	local rc=$SB_RC err=$SB_ERR
	chmod 0755 "$POLDIR"
	eq "world-writable directory" "$rc" 125
	contains "world-writable directory: why" "$err" "$POLDIR is world-writable"
	rsb "$p" -- /bin/true
	eq "control: restored, it runs ($(show))" "$SB_RC" 0
}

t_root_runner_env_file_must_be_root_owned() {
	local p
	echo "FROM_FILE=admin" >"$WORK/admin.env"
	chmod 0644 "$WORK/admin.env"
	p=$(rpolicy envfile <<<"[env]
file = $WORK/admin.env")
	rsb "$p" -- /bin/sh -c 'echo $FROM_FILE'
	eq "exit: /tmp is world-writable, so $WORK/admin.env is not trusted ($(show))" "$SB_RC" 125
	contains "why" "$SB_ERR" "under sudo it must be root's"
	mkdir -p /etc/cordon/$PREFIX-envdir && echo "FROM_FILE=admin" >/etc/cordon/$PREFIX-envdir/a.env
	p=$(rpolicy envfile2 <<<"[env]
file = /etc/cordon/$PREFIX-envdir/a.env")
	rsb "$p" -- /bin/sh -c 'echo $FROM_FILE'
	local rc=$SB_RC out=$SB_OUT
	chown "$INV" /etc/cordon/$PREFIX-envdir/a.env
	rsb "$p" -- /bin/sh -c 'echo $FROM_FILE'
	local rc2=$SB_RC
	rm -rf /etc/cordon/$PREFIX-envdir
	eq "control: root's env file is read ($out)" "$rc" 0
	eq "control: its value" "$out" "admin"
	eq "the invoker's env file" "$rc2" 125
}

t_root_runner_user_must_be_a_dedicated_account() {
	local p
	p=$(NO_USER=1 rpolicy nouser <<<"")
	rsb "$p" -- /bin/true
	eq "no user" "$SB_RC" 125
	contains "no user: why" "$SB_ERR" "under sudo the policy must name the account"
	p=$(rpolicy rootuser <<<"user = root")
	rsb "$p" -- /bin/true
	eq "user = root" "$SB_RC" 125
	contains "root: why" "$SB_ERR" "never runs as root"
	p=$(rpolicy selfuser <<<"user = $INV")
	rsb "$p" -- /bin/true
	eq "user = the invoker" "$SB_RC" 125
	contains "invoker: why" "$SB_ERR" "is the invoking user"
	p=$(rpolicy nosuch <<<"user = no-such-cordon-user")
	rsb "$p" -- /bin/true
	eq "no such account" "$SB_RC" 125
	p=$(rpolicy gooduser <<<"user = $AGENT")
	rsb "$p" -- /bin/true
	eq "control: the agent account ($(show))" "$SB_RC" 0
}

t_root_runner_sudo_identity_is_checked() {
	local p
	p=$(rpolicy ident <<<"")
	as_sudo SUDO_UID=4294967 -- run --policy "$p" -- /bin/true
	eq "unknown SUDO_UID" "$SB_RC" 125
	contains "unknown: why" "$SB_ERR" "not in the password database"
	as_sudo SUDO_GID=0 -- run --policy "$p" -- /bin/true
	eq "SUDO_GID not the user's" "$SB_RC" 125
	as_sudo SUDO_UID=12x -- run --policy "$p" -- /bin/true
	eq "SUDO_UID not a number" "$SB_RC" 125
	# SUDO_UID set by a caller that is not root changes nothing: it runs
	# as that caller, unprivileged.
	local out
	out=$(cd "$ROOTS/$INV/proj" && setpriv --reuid="$INV2" --regid="$INV2" --init-groups -- env SUDO_UID=0 \
		"$CORDON" explain --json "$POLDIR/$p.ini" 2>&1)
	contains "not root: no runner mode" "$out" '"runner":false'
}

# ---- roots and projects ----

t_root_runner_cwd_and_projects_stay_in_the_invokers_roots() {
	local p
	p=$(rpolicy roots <<<"")
	SB_CWD=/tmp rsb "$p" -- /bin/true
	eq "cwd outside" "$SB_RC" 125
	contains "cwd outside: why" "$SB_ERR" "is outside the allowed project roots ($ROOTS/$INV)"
	# Another user's root is not this user's.
	SB_CWD=$ROOTS/$INV2/proj rsb "$p" -- /bin/true
	eq "another user's project as cwd" "$SB_RC" 125
	rsb "$p" --project "$ROOTS/$INV2/proj" -- /bin/true
	eq "another user's project by --project" "$SB_RC" 125
	# A symlink the invoker plants in the project, to outside.
	ln -s /etc "$ROOTS/$INV/proj/out"
	chown -h "$INV:" "$ROOTS/$INV/proj/out"
	rsb "$p" --project "$ROOTS/$INV/proj/out" -- /bin/true
	eq "--project through the invoker's symlink" "$SB_RC" 125
	SB_CWD=$ROOTS/$INV/proj/out rsb "$p" -- /bin/true
	eq "cwd through the invoker's symlink (it is /etc)" "$SB_RC" 125
	# A directory of root's inside the invoker's root is not theirs.
	mkdir "$ROOTS/$INV/rootdir"
	SB_CWD=$ROOTS/$INV/rootdir rsb "$p" -- /bin/true
	eq "a project the invoker does not own" "$SB_RC" 125
	contains "why" "$SB_ERR" "is owned by uid 0, not by $INV"
	rsb "$p" -- /bin/sh -c 'cat file'
	eq "control: own project ($(show))" "$SB_RC" 0
	eq "control: content" "$SB_OUT" "mine"
}

t_root_runner_user_without_roots_and_symlinked_root_are_refused() {
	local p
	# A policy whose roots are all someone else's.
	p=$(NO_USER=1 rpolicy noroots <<<"user = $AGENT")
	sed -i "/^\[user:$INV\]/,+1d" "$POLDIR/$p.ini"
	rsb "$p" -- /bin/true
	eq "no roots for the invoker" "$SB_RC" 125
	contains "why" "$SB_ERR" "no project roots for $INV"
	# A root that is itself a symlink, root's own.
	ln -s "$ROOTS/$INV" "$WORK/link-root"
	p=$(rpolicy linkroot <<<"")
	sed -i "s|^project_root = $ROOTS/$INV\$|project_root = $WORK/link-root|" "$POLDIR/$p.ini"
	SB_CWD=$WORK/link-root/proj rsb "$p" -- /bin/true
	eq "symlinked root" "$SB_RC" 125
	contains "why" "$SB_ERR" "a symlink (under sudo a project root must be the directory itself)"
}

t_root_runner_sees_only_its_own_project() {
	local p
	echo agent-only >"$WORK/agent-file"
	chown "$AGENT:" "$WORK/agent-file"
	chmod 0600 "$WORK/agent-file"
	p=$(rpolicy own <<<"")
	rsb "$p" -- /bin/sh -c "ls $ROOTS; cat $ROOTS/$INV2/proj/secret 2>&1; cat $WORK/agent-file 2>&1; true"
	eq "exit ($(show))" "$SB_RC" 0
	eq "only the invoker's directory" "$(head -1 <<<"$SB_OUT")" "$INV"
	lacks "other user's project" "$SB_OUT" "theirs"
	lacks "a file only the agent account can read" "$SB_OUT" "agent-only"
	# Control: the agent account reads it on the host.
	eq "control" "$(setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups cat "$WORK/agent-file")" "agent-only"
}

t_root_runner_two_users_at_once_see_their_own_projects() {
	local p
	p=$(rpolicy two <<<"")
	echo two >"$ROOTS/$INV2/proj/mine2"
	chown "$INV2:" "$ROOTS/$INV2/proj/mine2"
	(SUDO_AS=$INV2 rsb "$p" -- /bin/sh -c "sleep 1; ls $ROOTS; ls $ROOTS/$INV2/proj" && echo "$SB_RC
$SB_OUT" >"$WORK/second") &
	local bg=$!
	rsb "$p" -- /bin/sh -c "sleep 1; ls $ROOTS; ls $ROOTS/$INV/proj"
	wait $bg
	eq "first exit ($(show))" "$SB_RC" 0
	eq "first sees its own" "$SB_OUT" "$INV
file"
	eq "second sees its own" "$(cat "$WORK/second")" "0
$INV2
mine2
secret"
}

# ---- home ----

t_root_runner_persistent_home_is_per_invoker_and_the_agents() {
	local p dir
	p=$(rpolicy home <<<"home = persist")
	dir=/var/lib/cordon/home/$INV/$p
	rsb "$p" -- /bin/sh -c 'echo kept > "$HOME/k"'
	eq "exit ($(show))" "$SB_RC" 0
	eq "owner and mode" "$(stat -c '%U %a' "$dir")" "$AGENT 700"
	rsb "$p" -- /bin/sh -c 'cat "$HOME/k"'
	eq "kept" "$SB_OUT" "kept"
	SUDO_AS=$INV2 rsb "$p" -- /bin/sh -c 'cat "$HOME/k" 2>&1; true'
	lacks "another invoker's home is another" "$SB_OUT" "kept"
}

t_root_runner_home_copy_reads_as_the_invoker_and_managed_settings_win() {
	local p conf=$INV_HOME/.cordon-suite-$$
	mkdir -p "$conf"
	echo '{"model":"user"}' >"$conf/settings.json"
	echo user-auth >"$conf/auth"
	echo root-only >"$conf/root-secret"
	chown -R "$INV:" "$conf"
	chown root: "$conf/root-secret"
	chmod 0600 "$conf/root-secret" "$conf/auth"
	mkdir -p "/etc/cordon/$PREFIX-managed"
	echo '{"model":"admin"}' >"/etc/cordon/$PREFIX-managed/settings.json"
	p=$(rpolicy copy <<<"home_copy = .cordon-suite-$$
home_managed = .cordon-suite-$$/settings.json:/etc/cordon/$PREFIX-managed/settings.json")
	rsb "$p" -- /bin/sh -c "cd \$HOME/.cordon-suite-$$ && cat auth settings.json; cat root-secret 2>&1; echo x > settings.json 2>&1; true"
	local rc=$SB_RC out=$SB_OUT err=$SB_ERR
	rm -rf "$conf" "/etc/cordon/$PREFIX-managed"
	eq "exit ($rc, $err)" "$rc" 125
	# A file of the source the invoker cannot read is not copied with
	# root's rights: the copy fails, and says so.
	contains "why" "$err" "root-secret"
	lacks "not copied" "$out" "root-only"
}

t_root_runner_managed_settings_win_over_the_copy() {
	local p conf=$INV_HOME/.cordon-suite-$$
	mkdir -p "$conf"
	echo '{"model":"user"}' >"$conf/settings.json"
	echo user-auth >"$conf/auth"
	chown -R "$INV:" "$conf"
	chmod 0600 "$conf/auth"
	mkdir -p "/etc/cordon/$PREFIX-managed"
	echo '{"model":"admin"}' >"/etc/cordon/$PREFIX-managed/settings.json"
	p=$(rpolicy managed <<<"home_copy = .cordon-suite-$$
home_managed = .cordon-suite-$$/settings.json:/etc/cordon/$PREFIX-managed/settings.json")
	rsb "$p" -- /bin/sh -c "cd \$HOME/.cordon-suite-$$ && cat auth settings.json; { echo x > settings.json; } 2>&1; echo y > auth && echo changed-copy; true"
	local rc=$SB_RC out=$SB_OUT err=$SB_ERR
	local orig
	orig=$(cat "$conf/auth")
	rm -rf "$conf" "/etc/cordon/$PREFIX-managed"
	eq "exit ($rc, $err)" "$rc" 0
	contains "the invoker's 0600 file is copied" "$out" "user-auth"
	contains "the administrator's settings win" "$out" '{"model":"admin"}'
	lacks "the user's settings are covered" "$out" '{"model":"user"}'
	contains "managed file read-only" "$out" "Read-only file system"
	contains "the copy is the agent's to change" "$out" "changed-copy"
	eq "the original is untouched" "$orig" "user-auth"
}

# ---- the launcher while privileged ----

# attach_without_cap PID: PTRACE_ATTACH by root without CAP_SYS_PTRACE,
# which works on a dumpable process with no more capabilities, and on no
# other.
NOPTRACE=(setpriv --inh-caps=-all --bounding-set=-sys_ptrace --)
attach_without_cap() {
	"${NOPTRACE[@]}" python3 -c "
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
sys.exit(0 if libc.ptrace(16, $1, 0, 0) == 0 else 1)"
}

t_root_runner_launcher_is_not_dumpable() {
	local p pid= fifo=/etc/cordon/$PREFIX-fifo
	# The launcher waits on this env file while it reads the policy in:
	# early, before it first takes the invoker's file system identity
	# (which would make it non-dumpable by itself).
	mkfifo -m 0600 "$fifo"
	p=$(rpolicy dump <<<"[env]
file = $fifo")
	# The launcher, with the capabilities of the process that attaches.
	(cd "$ROOTS/$INV/proj" && "${NOPTRACE[@]}" env -i PATH=/usr/bin:/bin SUDO_UID="$INV_UID" SUDO_GID="$INV_GID" "${SAN_ENV[@]}" \
		"$CORDON" run --policy "$p" -- /bin/true >/dev/null 2>&1) &
	local bg=$!
	for _ in $(seq 50); do
		pid=$(pgrep -f -o "^$CORDON run --policy $p") && break
		sleep 0.1
	done
	sleep 0.3 # past exec and main's first lines: blocked on the fifo
	"${NOPTRACE[@]}" sleep 3 &
	local ctl=$!
	local attached=0 ctl_ok=0
	# Until it is sleep, it is setpriv still holding every capability.
	for _ in $(seq 100); do
		[ "$(cat "/proc/$ctl/comm" 2>/dev/null)" = sleep ] && break
		sleep 0.02
	done
	attach_without_cap $ctl && ctl_ok=1
	kill -9 $ctl
	[ -n "$pid" ] && attach_without_cap "$pid" && attached=1
	# An attach that worked left it stopped.
	[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
	timeout 5 sh -c "echo X=1 >$fifo"
	wait $bg
	rm -f "$fifo"
	[ -n "$pid" ] || failed "launcher not found"
	[ $ctl_ok -eq 1 ] || failed "control: a dumpable root process cannot be attached to"
	[ $attached -eq 0 ] || failed "the launcher can be ptraced while it reads the policy"
}

t_root_setuid_install_refuses_to_run() {
	local c= d out rc
	# A place where set-user-ID works (not a nosuid mount).
	for d in "$WORK" /var/tmp /opt /root; do
		findmnt -n -o OPTIONS -T "$d" | grep -qw nosuid && continue
		c=$(mktemp "$d/cordon-suid.XXXXXX") && break
	done
	[ -n "$c" ] || failed "no mount without nosuid among $WORK /var/tmp /opt /root"
	chmod 0755 "$(dirname "$c")" 2>/dev/null
	cp "$CORDON" "$c" && chown root:root "$c" && chmod 4755 "$c" || failed "setuid copy"
	out=$(cd "$ROOTS/$INV/proj" && setpriv --reuid="$INV" --regid="$INV" --init-groups -- "$c" --version 2>&1)
	rc=$?
	eq "exit ($out)" "$rc" 125
	contains "why" "$out" "refusing to run set-user-ID"
	chmod 0755 "$c"
	out=$(setpriv --reuid="$INV" --regid="$INV" --init-groups -- "$c" --version 2>&1)
	rc=$?
	[ "$c" = "$WORK/${c##*/}" ] || rm -f "$c"
	eq "control: not setuid, it runs ($out)" "$rc" 0
}

t_root_root_run_without_user_is_refused_and_user_root_is_audited() {
	local p out
	cp "${CORDON_SRC:?}/policy/examples/dev.ini" "$WORK/dev.ini"
	(cd "$ROOTS/$INV/proj" && "$CORDON" run --policy "$WORK/dev.ini" -- /bin/true) >"$WORK/o" 2>&1
	local rc=$?
	eq "the shipped dev policy as root: refused ($(cat "$WORK/o"))" "$rc" 125
	contains "why" "$(cat "$WORK/o")" "as root the policy must name the account the command runs as"
	p=$(policy keep <<<"[sandbox]
user = root
[audit]
log = $WORK/a.jsonl")
	sb "$p" -- /bin/sh -c 'id -u'
	eq "user = root keeps uid 0 ($(show))" "$SB_OUT" "0"
	grep -q '"root_kept":true' "$WORK/a.jsonl" || failed "audit: $(cat "$WORK/a.jsonl")"
	out=$("$CORDON" explain "$p" 2>&1)
	contains "explain says so" "$out" "uid 0 kept for the command"
}

# ci.ini as a CI container runs it: root, a root-owned checkout. The job
# runs as nobody, writes the checkout as its owner, and cannot make a
# set-user-ID file there.
t_root_shipped_ci_policy_runs_jobs_as_nobody_on_an_idmapped_checkout() {
	local co=$WORK/builds/repo
	mkdir -p "$co"
	echo 'all:; @echo built > out.txt; id -u' >"$co/Makefile"
	sed "s|^project_root = .*|project_root = $WORK/builds|" "${CORDON_EXAMPLES:?}/ci.ini" >"$WORK/ci.ini"
	grep -q '^user = nobody$' "$WORK/ci.ini" || failed "the shipped ci.ini does not say user = nobody"
	SB_CWD=$co sb "$WORK/ci.ini" -- /bin/sh -c 'make -s all && cat out.txt && chmod 4755 out.txt 2>&1; stat -c %a out.txt; true'
	eq "exit ($(show))" "$SB_RC" 0
	eq "inside: nobody, the file, no set-ID bit" "$SB_OUT" "$(id -u nobody)
built
chmod: changing permissions of 'out.txt': Operation not permitted
644"
	eq "on the host the file is the checkout's owner's" "$(stat -c %u "$co/out.txt")" 0
}

# The invoker names the command after --; with a pinned hash nothing but
# the pinned file runs.
t_root_runner_pinned_command_refuses_any_other() {
	local p sum
	sum=$(sha256sum /bin/true | cut -d' ' -f1)
	p=$(rpolicy pin <<<"command_sha256 = $sum
[audit]
log = $WORK/pin.jsonl")
	rsb "$p" -- /bin/true
	eq "control: the pinned file runs ($(show))" "$SB_RC" 0
	rsb "$p" -- /bin/sh -c 'echo ran'
	eq "another command" "$SB_RC" 125
	lacks "it did not run" "$SB_OUT" "ran"
	contains "why" "$SB_ERR" "command_sha256: /bin/sh has sha256"
	cp /bin/true "$ROOTS/$INV/proj/true"
	chown "$INV:" "$ROOTS/$INV/proj/true"
	rsb "$p" -- ./true
	eq "control: an identical copy runs ($(show))" "$SB_RC" 0
	printf '#!/bin/sh\necho tampered\n' >"$ROOTS/$INV/proj/true"
	rsb "$p" -- ./true
	eq "the tampered copy" "$SB_RC" 125
	grep -q '"reason":"setup_failed".*command_sha256' "$WORK/pin.jsonl" || failed "audit: $(cat "$WORK/pin.jsonl")"
}

# A shared proxy the policy names must be root's to replace: in a
# directory the invoker can write it could be the invoker's own.
t_root_runner_shared_proxy_socket_must_be_roots() {
	local p pp dir=/run/$PREFIX sock proxy_pid
	mkdir -p "$dir" && chmod 0755 "$dir"
	sock=$dir/egress.sock
	printf '[network]\nmode = proxy\nallow = 127.0.0.1:9\n' >"$WORK/proxy.ini"
	"$CORDON" proxy --socket "$sock" --policy "$WORK/proxy.ini" >"$WORK/proxy.out" 2>&1 &
	proxy_pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	p=$(rpolicy sock <<<"[network]
mode = proxy
socket = $sock")
	rsb "$p" -- /bin/sh -c 'echo $HTTP_PROXY'
	local rc=$SB_RC out=$SB_OUT
	# The same socket reached through a directory the invoker owns.
	mkdir -p "$ROOTS/$INV/sockdir"
	chown "$INV:" "$ROOTS/$INV/sockdir"
	ln "$sock" "$ROOTS/$INV/sockdir/egress.sock" 2>/dev/null || cp -a "$sock" "$ROOTS/$INV/sockdir/egress.sock"
	p=$(rpolicy sock2 <<<"[network]
mode = proxy
socket = $ROOTS/$INV/sockdir/egress.sock")
	rsb "$p" -- /bin/true
	local rc2=$SB_RC err2=$SB_ERR
	kill "$proxy_pid"
	wait "$proxy_pid" 2>/dev/null
	rm -rf "$dir"
	eq "control: root's socket in root's directory ($out)" "$rc" 0
	eq "a socket in the invoker's directory" "$rc2" 125
	contains "why" "$err2" "under sudo the proxy socket's directory must be root's"
}

# The issue's "done when": the shipped ci.ini with its limits turned on,
# `make test` as root (cgroup v1 here), a timeout, the audit.
t_root_shipped_ci_policy_with_limits_runs_make_test() {
	local co=$WORK/builds/repo
	mkdir -p "$co"
	printf 'test:\n\t@echo tests pass; cat /proc/self/cgroup | head -1 >/dev/null\n' >"$co/Makefile"
	sed -e "s|^project_root = .*|project_root = $WORK/builds|" -e 's/^; memory = .*/memory = 256M/' \
		-e 's/^; pids = .*/pids = 256/' -e 's/^; cpu = .*/cpu = 1/' -e 's/^timeout = .*/timeout = 5m/' \
		"${CORDON_EXAMPLES:?}/ci.ini" >"$WORK/ci.ini"
	printf '[audit]\nlog = %s\n' "$WORK/ci-audit.jsonl" >>"$WORK/ci.ini"
	grep -q '^memory = 256M' "$WORK/ci.ini" || failed "ci.ini's commented limits changed: $(grep -n limits -A8 "$WORK/ci.ini")"
	SB_CWD=$co sb "$WORK/ci.ini" -- make test
	eq "exit ($(show))" "$SB_RC" 0
	eq "output" "$SB_OUT" "tests pass"
	python3 - "$WORK/ci-audit.jsonl" <<'EOF' || failed "audit: $(cat "$WORK/ci-audit.jsonl")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
start = [r for r in recs if r["event"] == "sandbox_start"][0]
lim = start["limits"]
assert lim["memory_bytes"] == 256 << 20 and lim["pids"] == 256 and lim["cpu_milli"] == 1000, lim
assert lim["timeout_ms"] == 300000 and lim["cgroup"], lim
assert start["run_user"] == "nobody", start
end = [r for r in recs if r["event"] == "sandbox_exit"][0]
assert end["status"] == 0 and end["reason"] == "exit", end
EOF
}

# ---- through the real sudo ----

t_root_runner_through_real_sudo() {
	local p
	p=$(rpolicy real <<<"[audit]
log = $WORK/real.jsonl")
	install_sudoers "$p"
	chmod 0666 "$WORK/real.jsonl" 2>/dev/null
	VIA_ENV=(LD_PRELOAD=/nonexistent-cordon.so CORDON_POLICY_PATH=/tmp) via_sudo run --policy "$p" -- /bin/sh -c 'id -u; env | grep -c -E "^(LD_PRELOAD|CORDON_POLICY_PATH)=" ; echo new > made; echo edit >> file; true'
	eq "exit ($(show))" "$SB_RC" 0
	eq "agent, no variables of the invoker" "$SB_OUT" "$AGENT_UID
0"
	grep -q "\"uid\":$INV_UID" "$WORK/real.jsonl" || failed "audit uid: $(cat "$WORK/real.jsonl")"
	# The idmapped project: made by the agent, owned by the invoker.
	eq "a new file is the invoker's on the host" "$(stat -c '%u %g' "$ROOTS/$INV/proj/made")" "$INV_UID $INV_GID"
	eq "the invoker's file was edited" "$(cat "$ROOTS/$INV/proj/file")" "mine
edit"
	# The rule's wildcard appends options; none widens the policy.
	via_sudo run --policy "$p" --policy /tmp/x.ini -- /bin/true
	eq "a second --policy" "$SB_RC" 125
	via_sudo run --policy "$PREFIX-other" -- /bin/true
	[ "$SB_RC" -ne 0 ] || failed "sudo ran a policy the rule does not name"
	SB_CWD=/tmp via_sudo run --policy "$p" -- /bin/true
	eq "cwd outside the roots" "$SB_RC" 125
}

# The terminal through sudo (which puts its own pty in between, use_pty):
# job control, Ctrl-C and window resizes as without sudo.
t_root_runner_terminal_works_through_sudo() {
	local p
	[ -x "$HELPERS/ptyrun" ] || failed "ptyrun helper missing"
	p=$(rpolicy tty <<<"")
	install_sudoers "$p"
	cd "$ROOTS/$INV/proj" || failed "cd"
	"$HELPERS/ptyrun" -t 30 -- setpriv --reuid="$INV" --regid="$INV" --init-groups -- \
		env -i PATH=/usr/bin:/bin HOME="$INV_HOME" TERM=xterm "${SAN_ENV[@]}" sudo -n "$CORDON" run --policy "$p" -- \
		/bin/bash --norc --noprofile -i >"$WORK/tty.out" 2>&1 <<'EOF'
sleep 500
send PS1='P> '\n
expect P> 
send sleep 30 &\n
expect P> 
send jobs; echo "flags=$-"; [ -t 0 ] && echo stdin-is-tty; id -u\n
expect stdin-is-tty
resize 41 101
sleep 300
send stty size\n
expect 41 101
send sleep 20\n
sleep 300
send \x03
expect P> 
send echo after-interrupt\n
expect after-interrupt
send exit\n
EOF
	local rc=$? out
	out=$(cat "$WORK/tty.out")
	eq "ptyrun exit ($out)" "$rc" 0
	contains "the agent account" "$out" "$AGENT_UID"
	contains "job listed" "$out" "Running"
	contains "monitor mode" "$out" "flags=himBHs"
	lacks "no job control warning" "$out" "no job control"
	contains "resize reached the sandbox" "$out" "41 101"
	contains "shell survived Ctrl-C" "$out" "after-interrupt"
}

# The agent wrapper: through sudo when the rule is there, else as the
# user, the arguments untouched either way.
t_root_runner_agent_wrapper_picks_sudo_when_the_rule_exists() {
	local p name wbin=$WORK/wbin real=$WORK/real
	p=$(rpolicy wrap <<<"[env]
set = PATH=$real:/usr/bin:/bin
[filesystem]
ro = $real")
	name=$p
	mkdir -p "$wbin" "$real"
	cp "${CORDON_SRC:?}/packaging/wrappers/agent" "$wbin/$name"
	printf '#!/bin/sh\nid -u\nfor a in "$@"; do echo "[$a]"; done\n' >"$real/$name"
	chmod 0755 "$wbin/$name" "$real/$name" "$wbin" "$real"
	local run=(setpriv --reuid="$INV" --regid="$INV" --init-groups -- env -i HOME="$INV_HOME" TERM=dumb
		"${SAN_ENV[@]}" PATH="$wbin:$real:/usr/bin:/bin" CORDON_BIN="$CORDON" "$name" "a b" '$c')
	# No rule: the user's own sandbox (uid of the user), the real one found
	# after the wrapper's directory.
	rm -f "$SUDOERS"
	out=$(cd "$ROOTS/$INV/proj" && "${run[@]}" 2>&1)
	eq "as the user ($out)" "$out" "$INV_UID
[a b]
[\$c]"
	install_sudoers "$p"
	out=$(cd "$ROOTS/$INV/proj" && "${run[@]}" 2>&1)
	eq "through sudo, as the agent account ($out)" "$out" "$AGENT_UID
[a b]
[\$c]"
}

# ---- secrets and the audit log under sudo ----

# A file secret is the administrator's, for the agent account: the file
# and every directory above it root's and written by root alone, and the
# invoking user unable to read it (not o+r, not g+r for one of their
# groups). Each refusal is undone by its control.
t_root_runner_secret_file_must_be_roots_and_unreadable_by_the_invoker() {
	local p dir=/etc/cordon/$PREFIX-sec value=runner-secret-$$
	mkdir -p "$dir" && chmod 0755 "$dir"
	printf '%s' "$value" >"$dir/key"
	chown root:root "$dir/key"
	chmod 0600 "$dir/key"
	p=$(rpolicy sec <<<"[secrets]
K = file:$dir/key
T = env:CORDON_TEST_TOKEN")
	as_sudo CORDON_TEST_TOKEN=from-env -- run --policy "$p" -- /bin/sh -c 'cat /run/secrets/K; echo; cat /run/secrets/T; echo; stat -c "%a %u" /run/secrets/K; env'
	local rc=$SB_RC out=$SB_OUT
	chmod 0644 "$dir/key"
	as_sudo CORDON_TEST_TOKEN=from-env -- run --policy "$p" -- /bin/true
	local rc_world=$SB_RC err_world=$SB_ERR
	chgrp "$INV_GID" "$dir/key" && chmod 0640 "$dir/key"
	as_sudo CORDON_TEST_TOKEN=from-env -- run --policy "$p" -- /bin/true
	local rc_group=$SB_RC err_group=$SB_ERR
	chgrp root "$dir/key"
	as_sudo CORDON_TEST_TOKEN=from-env -- run --policy "$p" -- /bin/cat /run/secrets/K
	local rc_rootgroup=$SB_RC
	chown "$INV" "$dir/key" && chmod 0600 "$dir/key"
	as_sudo CORDON_TEST_TOKEN=from-env -- run --policy "$p" -- /bin/true
	local rc_owner=$SB_RC err_owner=$SB_ERR
	chown root "$dir/key" && chmod 0777 "$dir"
	as_sudo CORDON_TEST_TOKEN=from-env -- run --policy "$p" -- /bin/true
	local rc_dir=$SB_RC err_dir=$SB_ERR
	rm -rf "$dir"
	# One the invoker could write: in $WORK, below the world-writable /tmp.
	printf '%s' "$value" >"$WORK/key" && chmod 0600 "$WORK/key"
	local p2
	p2=$(rpolicy sec2 <<<"[secrets]
K = file:$WORK/key")
	rsb "$p2" -- /bin/true
	local rc_tmp=$SB_RC err_tmp=$SB_ERR
	eq "control: root's 0600 file is delivered (rc $rc: $out)" "$rc" 0
	eq "control: content" "$(sed -n 1p <<<"$out")" "$value"
	eq "control: env secret" "$(sed -n 2p <<<"$out")" "from-env"
	eq "control: the agent's, 0400" "$(sed -n 3p <<<"$out")" "400 $AGENT_UID"
	lacks "control: not in the environment" "$(sed -n '5,$p' <<<"$out")" "CORDON_TEST_TOKEN"
	eq "world-readable ($err_world)" "$rc_world" 125
	contains "world-readable: why" "$err_world" "the invoking user must not be able to read it: it is readable by everyone"
	eq "readable by the invoker's group ($err_group)" "$rc_group" 125
	contains "group: why" "$err_group" "its group $INV_GID is the invoking user's"
	eq "control: g+r for root's group" "$rc_rootgroup" 0
	eq "the invoker's file ($err_owner)" "$rc_owner" 125
	contains "owner: why" "$err_owner" "is owned by uid $INV_UID, not root"
	eq "in a world-writable directory ($err_dir)" "$rc_dir" 125
	contains "directory: why" "$err_dir" "$dir is world-writable"
	eq "below /tmp ($err_tmp)" "$rc_tmp" 125
	contains "below /tmp: why" "$err_tmp" "under sudo it must be root's"
}

# The log's directory is made root's (0750) under sudo; one the invoker
# owns, or a log file of theirs, is refused: they could rewrite the trail.
t_root_runner_audit_log_is_roots_alone() {
	local p
	p=$(rpolicy alog <<<"[audit]
log = $WORK/rlog/sub/a.jsonl")
	rsb "$p" -- /bin/true
	eq "control: made ($(show))" "$SB_RC" 0
	eq "root's, 0750" "$(stat -c '%a %u' "$WORK/rlog" "$WORK/rlog/sub")" "750 0
750 0"
	eq "the log root's, 0600" "$(stat -c '%a %u' "$WORK/rlog/sub/a.jsonl")" "600 0"
	mkdir -p "$WORK/invlog" && chown "$INV" "$WORK/invlog"
	p=$(rpolicy alog2 <<<"[audit]
log = $WORK/invlog/a.jsonl")
	rsb "$p" -- /bin/true
	eq "the invoker's directory ($(show))" "$SB_RC" 125
	contains "why" "$SB_ERR" "$WORK/invlog is owned by uid $INV_UID, not root"
	touch "$WORK/rlog/sub/b.jsonl" && chown "$INV" "$WORK/rlog/sub/b.jsonl"
	p=$(rpolicy alog3 <<<"[audit]
log = $WORK/rlog/sub/b.jsonl")
	rsb "$p" -- /bin/true
	eq "the invoker's log file ($(show))" "$SB_RC" 125
	contains "file: why" "$SB_ERR" "b.jsonl is owned by uid $INV_UID, not root"
}

run_tests "$@"
