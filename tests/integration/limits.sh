#!/usr/bin/env bash
# [limits] memory, pids, cpu (cgroups), timeout, and the size of tmpfs
# mounts: real sandboxes, as root (this host's cgroup v1 hierarchies) and
# as a user (to whom no cgroup is delegated here: refused, with the
# reason). The v2 driver runs against a directory laid out like a cgroup2
# hierarchy (cordon-testhooks): this host's v2 tree has no memory, pids or
# cpu controller, and a cgroup2 mounted afresh in a private mount namespace
# shows the same (they are bound to v1).
. "$(dirname "$0")/lib.sh"

AUDIT=$WORK/audit.jsonl
per_test_setup() {
	rm -f "$AUDIT"
}

# cg_dir CONTROLLER: this shell's cgroup in that v1 hierarchy, which is
# where the launcher (our child) puts cordon/.
cg_dir() {
	local path
	path=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
	[ -n "$path" ] || failed "no v1 $1 hierarchy in /proc/self/cgroup"
	echo "/sys/fs/cgroup/$1${path%/}"
}

# The cgroups of this test's sandboxes (their ids from the audit log)
# that are still there: none, after a run. (Other runs on the host may
# have cgroups of their own there.)
leftovers() {
	local c id
	for id in $(sed -n 's/.*"event":"sandbox_start".*"sandbox_id":"\([0-9a-f]*\)".*/\1/p' "$AUDIT" 2>/dev/null); do
		for c in memory pids cpu; do
			[ -e "$(cg_dir $c)/cordon/$id" ] && echo "$(cg_dir $c)/cordon/$id"
		done
	done
}

limits_policy() { # limits_policy NAME [LIMITS LINES]: with an audit log
	policy "$1" <<EOF
[limits]
$2
[audit]
log = $AUDIT
EOF
}

# The last sandbox_exit record's FIELD (a number or a string).
exit_field() {
	grep '"event":"sandbox_exit"' "$AUDIT" | tail -1 | sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p"
}

# Waits for a sandbox started in the background to have its cgroup: the
# sandbox id from its start record, and the directory.
wait_cgroup() { # wait_cgroup CONTROLLER -> prints the directory
	local id d
	for _ in $(seq 100); do
		id=$(grep '"event":"sandbox_start"' "$AUDIT" 2>/dev/null | tail -1 | sed 's/.*"sandbox_id":"\([0-9a-f]*\)".*/\1/')
		d="$(cg_dir "$1")/cordon/$id"
		[ -n "$id" ] && [ -d "$d" ] && echo "$d" && return 0
		sleep 0.1
	done
	return 1
}

hog() { # a program that allocates 1 MiB at a time until it has $1 MiB
	echo "x = []
for i in range($1): x.append(bytearray(1 << 20))
print('allocated', len(x))"
}

t_root_memory_hog_is_oom_killed_and_reported() {
	local p
	p=$(limits_policy hog "memory = 64M")
	sb "$p" -- /usr/bin/python3 -c "$(hog 32)"
	eq "control: 32M under a 64M limit ($(show))" "$SB_RC" 0
	contains "control" "$SB_OUT" "allocated 32"
	lacks "control: no OOM line" "$SB_ERR" "oom kill"
	eq "control: reason" "$(exit_field reason)" "exit"
	eq "control: no OOM kill counted" "$(exit_field oom_kills)" "0"
	sb "$p" -- /usr/bin/python3 -c "$(hog 1000)"
	eq "exit status of the OOM-killed command ($(show))" "$SB_RC" 137
	contains "the line" "$SB_ERR" "cordon: memory limit 64M reached (oom kill)"
	lacks "never got there" "$SB_OUT" "allocated"
	eq "audit reason" "$(exit_field reason)" "oom"
	[ "$(exit_field oom_kills)" -ge 1 ] || failed "oom_kills: $(exit_field oom_kills)"
	[ "$(exit_field peak_memory_bytes)" -le $((64 << 20)) ] || failed "peak $(exit_field peak_memory_bytes)"
	eq "nothing left" "$(leftovers)" ""
	# The start record says which limits applied, and where.
	grep '"event":"sandbox_start"' "$AUDIT" | tail -1 | python3 -c '
import json, sys
lim = json.loads(sys.stdin.read())["limits"]
assert lim["memory_bytes"] == 64 << 20, lim
assert lim["cgroup"].startswith("v") and "/cordon/" in lim["cgroup"], lim' || failed "sandbox_start limits"
}

# forker N: forks N children that sleep (each fork that fails is
# counted), prints "FORKED FAILED" and exits; pid 1 then ends the sleepers.
forker() {
	echo "import os, time
ok = failed = 0
for i in range($1):
    try:
        pid = os.fork()
    except OSError:
        failed += 1
        continue
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    ok += 1
print(ok, failed)"
}

t_root_fork_bomb_stops_at_pids() {
	local p
	p=$(limits_policy forks "pids = 200")
	sb "$p" -- /usr/bin/python3 -c "$(forker 100)"
	eq "control: 100 forks under pids = 200 ($(show))" "$SB_RC" 0
	eq "control: no fork failed" "$SB_OUT" "100 0"
	eq "control: pids.max never hit" "$(exit_field pids_max_hit)" "0"
	p=$(limits_policy forks "pids = 20")
	sb "$p" -- /usr/bin/python3 -c "$(forker 100)"
	eq "the run ends ($(show))" "$SB_RC" 0
	local ok=${SB_OUT% *} failed=${SB_OUT#* }
	[ "$ok" -ge 1 ] && [ "$ok" -lt 20 ] || failed "forks that worked: $SB_OUT"
	eq "every other fork failed" "$((ok + failed))" 100
	[ "$(exit_field pids_max_hit)" -ge 1 ] || failed "pids_max_hit: $(exit_field pids_max_hit)"
	eq "nothing left" "$(leftovers)" ""
}

# The sandbox is in its cgroups, with the limits written there, for as
# long as it runs; and the cgroups are gone after it.
t_root_limits_are_in_the_sandbox_cgroup_while_it_runs() {
	local p pid d
	p=$(limits_policy cpu $'memory = 96M\npids = 50\ncpu = 0.5')
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$p" -- /bin/sh -c 'sleep 3') >"$WORK/bg.out" 2>&1 &
	pid=$!
	d=$(wait_cgroup cpu) || failed "no cpu cgroup appeared: $(cat "$WORK/bg.out")"
	eq "cpu.cfs_quota_us" "$(cat "$d/cpu.cfs_quota_us")" "50000"
	eq "cpu.cfs_period_us" "$(cat "$d/cpu.cfs_period_us")" "100000"
	[ -n "$(cat "$d/cgroup.procs")" ] || failed "no process in $d"
	d=$(wait_cgroup memory) || failed "no memory cgroup"
	eq "memory.limit_in_bytes" "$(cat "$d/memory.limit_in_bytes")" "$((96 << 20))"
	if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
		eq "memory.memsw.limit_in_bytes" "$(cat "$d/memory.memsw.limit_in_bytes")" "$((96 << 20))"
	fi
	[ -n "$(cat "$d/cgroup.procs")" ] || failed "no process in $d"
	d=$(wait_cgroup pids) || failed "no pids cgroup"
	eq "pids.max" "$(cat "$d/pids.max")" "50"
	# Every process of the sandbox is inside: pid 1, the shell, its sleep.
	[ "$(wc -l <"$d/cgroup.procs")" -ge 2 ] || failed "procs: $(cat "$d/cgroup.procs")"
	wait $pid
	local rc=$?
	eq "exit ($(cat "$WORK/bg.out"))" "$rc" 0
	eq "nothing left" "$(leftovers)" ""
}

# A user to whom a v1 memory cgroup is delegated (the directory and its
# cgroup.procs given to them, and the launcher started inside it) gets the
# limit applied there: the sandbox's cgroup below it, an OOM kill reported.
t_root_a_delegated_v1_cgroup_lets_a_user_apply_memory() {
	local user=cordon-test d p
	id $user >/dev/null 2>&1 || failed "no user $user (run-as.sh makes it)"
	d="$(cg_dir memory)/deleg-$$"
	mkdir "$d" || failed "mkdir $d"
	trap 'rmdir "$d/cordon" "$d" 2>/dev/null' EXIT
	p=$(NO_BASE_USER=1 policy deleg <<<$'[limits]\nmemory = 64M\n[audit]\nlog = stderr')
	chmod 0644 "$p"
	# as_user CMD...: the launcher, as the user, inside $d.
	as_user() {
		(cd "$WORK/proj" && /bin/sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$d" \
			setpriv --reuid=$user --regid=$user --init-groups env HOME=/ "$@") >"$WORK/deleg.out" 2>"$WORK/deleg.err"
	}
	as_user "$CORDON" run --policy "$p" -- /usr/bin/python3 -c "$(hog 1000)"
	local rc=$?
	eq "control: not delegated yet, refused ($(cat "$WORK/deleg.err"))" "$rc" 125
	contains "control: why" "$(cat "$WORK/deleg.err")" "$d is not writable by uid $(id -u $user)"
	chown $user "$d" "$d/cgroup.procs" "$d/tasks"
	as_user "$CORDON" run --policy "$p" -- /usr/bin/python3 -c "$(hog 32)"
	rc=$?
	eq "32M under 64M ($(cat "$WORK/deleg.err"))" "$rc" 0
	contains "under the delegated cgroup" "$(cat "$WORK/deleg.err")" '"oom_kills":0'
	as_user "$CORDON" run --policy "$p" -- /usr/bin/python3 -c "$(hog 1000)"
	rc=$?
	eq "the hog ($(cat "$WORK/deleg.err"))" "$rc" 137
	contains "the line" "$(cat "$WORK/deleg.err")" "cordon: memory limit 64M reached (oom kill)"
	contains "audit" "$(cat "$WORK/deleg.err")" '"reason":"oom"'
	[ -e "$d/cordon" ] && failed "$d/cordon left behind: $(ls "$d/cordon")"
	rmdir "$d" || failed "rmdir $d"
}

# Inside, the sandbox sees its own cgroup as /, not the host's path.
t_root_sandbox_sees_its_cgroup_as_root() {
	local p
	p=$(limits_policy cgns "pids = 50")
	sb "$p" -- /bin/cat /proc/self/cgroup
	eq "exit ($(show))" "$SB_RC" 0
	contains "pids" "$SB_OUT" "pids:/"$'\n'
	lacks "no host path" "$SB_OUT" "cordon"
}

t_root_sigkill_of_launcher_leaves_no_cgroup_after_the_next_run() {
	local p pid d
	p=$(limits_policy killed $'memory = 64M\npids = 50\ncpu = 1')
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$p" -- /bin/sleep 60) >"$WORK/k.out" 2>&1 &
	pid=$!
	d=$(wait_cgroup memory) || failed "no memory cgroup appeared: $(cat "$WORK/k.out")"
	kill -KILL $pid
	wait $pid 2>/dev/null
	# die_with_parent: pid 1 is killed, and with it the sandbox.
	for _ in $(seq 50); do [ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
	eq "the sandbox is gone" "$(cat "$d/cgroup.procs" 2>/dev/null)" ""
	[ -d "$d" ] || failed "control: the killed launcher could not have removed $d"
	sb "$p" -- /bin/true
	eq "the next run ($(show))" "$SB_RC" 0
	eq "nothing left after the next run" "$(leftovers)" ""
}

# Four tmpfs mounts filled under a 64M limit: their total stays inside it.
t_root_four_tmpfs_fills_stay_within_the_memory_limit() {
	local p
	p=$(policy fill <<EOF
tmpfs = /mnt/a
tmpfs = /mnt/b
tmpfs = /mnt/c
[limits]
memory = 64M
[audit]
log = $AUDIT
EOF
	)
	sb "$p" -- /bin/sh -c 'df -k /tmp /dev/shm /mnt/a | tail -3
for d in /tmp /dev/shm /mnt/a /mnt/b; do head -c 40M /dev/zero >$d/fill 2>/dev/null; done
du -ck /tmp /dev/shm /mnt/a /mnt/b | tail -1'
	case "$SB_RC" in
	137) contains "the OOM line ($(show))" "$SB_ERR" "cordon: memory limit 64M reached (oom kill)" ;;
	0) [ "$(echo "$SB_OUT" | tail -1 | cut -f1)" -le $((64 * 1024)) ] || failed "more than 64M held: $(show)" ;;
	*) failed "unexpected status: $(show)" ;;
	esac
	eq "peak within the limit" "$([ "$(exit_field peak_memory_bytes)" -le $((64 << 20)) ] && echo yes)" yes
	eq "nothing left" "$(leftovers)" ""
}

# Every writable tmpfs is sized: the memory limit, else a quarter of RAM.
t_tmpfs_mounts_are_sized() {
	local p ram
	p=$(policy sized <<<$'[limits]\nmemory = 64M')
	if [ $IS_ROOT -eq 1 ]; then
		sh_in "$p" 'df -k /tmp /dev/shm | tail -2'
		eq "tmpfs = /tmp" "$(echo "$SB_OUT" | awk 'NR == 1 {print $2}')" 65536
		eq "/dev/shm" "$(echo "$SB_OUT" | awk 'NR == 2 {print $2}')" 65536
	fi
	cli explain "$p"
	eq "explain ($(show))" "$SB_RC" 0
	contains "explain" "$SB_OUT" "tmpfs size   64M each (the memory limit)"
	p=$(policy unsized </dev/null)
	sh_in "$p" 'df -k /tmp /dev/shm | tail -2'
	ram=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
	local got
	for got in $(echo "$SB_OUT" | awk '{print $2}'); do
		# The kernel rounds to pages; MemTotal and sysinfo differ by a little.
		[ $((got - ram / 4)) -le 1024 ] && [ $((ram / 4 - got)) -le 1024 ] ||
			failed "a tmpfs of ${got}K, not a quarter of ${ram}K: $SB_OUT"
	done
	cli explain "$p"
	contains "explain" "$SB_OUT" "each (a quarter of RAM)"
}

# Root applies the limit; a user to whom no cgroup is delegated (this
# host) is refused with the reason and the way out, never run unlimited.
t_memory_limit_applies_or_is_refused_with_the_reason() {
	local p
	p=$(policy free </dev/null)
	sb "$p" -- /bin/true
	eq "control: without limits ($(show))" "$SB_RC" 0
	p=$(policy mem <<<$'[limits]\nmemory = 64M')
	sb "$p" -- /bin/echo ran
	if [ $IS_ROOT -eq 1 ]; then
		eq "root ($(show))" "$SB_RC" 0
		return 0
	fi
	eq "refused ($(show))" "$SB_RC" 125
	lacks "nothing ran" "$SB_OUT" "ran"
	contains "why" "$SB_ERR" "cordon: limits: memory: only cgroup v1 has the memory controller here"
	contains "what would make it work" "$SB_ERR" "run as root, have an administrator delegate that directory"
	eq "one line" "$(echo "$SB_ERR" | wc -l)" 1
	cli check "$p"
	eq "check accepts the policy ($(show))" "$SB_RC" 0
	cli explain "$p"
	contains "explain says run refuses" "$SB_OUT" "cannot be applied here, run refuses: memory: only cgroup v1"
}

# doctor says, per limit, whether and how this user's runs get it.
t_doctor_reports_each_limit() {
	cli doctor
	[ "$SB_RC" -le 1 ] || failed "doctor: $(show)"
	local l
	for l in memory pids cpu; do
		if [ $IS_ROOT -eq 1 ]; then
			contains "$l ($(show))" "$SB_OUT" "ok    limit $l"
			contains "$l" "$SB_OUT" "cgroup v1: $l in $(cg_dir $l)/cordon/ID"
		else
			contains "$l ($(show))" "$SB_OUT" "warn  limit $l"
			contains "$l" "$SB_OUT" "$l: only cgroup v1 has the $l controller here, and $(cg_dir $l) is not writable by uid $MYUID"
		fi
	done
}

t_timeout_is_said_on_stderr() {
	local p
	p=$(policy tmo <<<$'[limits]\ntimeout = 1s')
	sb "$p" -- /bin/sh -c 'sleep 20'
	eq "exit ($(show))" "$SB_RC" 124
	contains "the line" "$SB_ERR" "cordon: timeout 1s reached; the command was stopped"
	# Control: a command's own 124 is not the timeout's.
	p=$(policy tmo2 <<<$'[limits]\ntimeout = 30s')
	sb "$p" -- /bin/sh -c 'exit 124'
	eq "control: the command's own 124 ($(show))" "$SB_RC" 124
	lacks "control: no timeout line" "$SB_ERR" "timeout"
}

# The v2 driver, against a directory laid out like the root of a cgroup2
# hierarchy (cordon-testhooks, CORDON_TEST_CGROUP2): the controllers
# enabled down the tree, the limits written, pid 1 written in (a directory
# is not a cgroup2 file system, so clone3 cannot put it there), and the
# sandbox's cgroup removed after.
t_v2_driver_against_a_cgroup2_layout() {
	local p pid root="$WORK/cg2" d
	local hooks=$HELPERS/cordon-testhooks
	[ -x "$hooks" ] || failed "cordon-testhooks missing"
	mkdir -p "$root"
	echo "cpuset cpu io memory hugetlb pids rdma misc" >"$root/cgroup.controllers"
	: >"$root/cgroup.subtree_control"
	p=$(limits_policy v2 $'memory = 64M\npids = 20\ncpu = 1.5')
	(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root exec "$hooks" run --policy "$p" -- /bin/sleep 2) >"$WORK/v2.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		d=$(ls -d "$root"/cordon/*/ 2>/dev/null | head -1)
		[ -n "$d" ] && [ -s "$d/cgroup.procs" ] && break
		sleep 0.05
	done
	[ -n "$d" ] || failed "no cgroup made under $root: $(cat "$WORK/v2.out")"
	eq "enabled at the root" "$(cat "$root/cgroup.subtree_control")" "memory pids cpu"
	eq "enabled in cordon/" "$(cat "$root/cordon/cgroup.subtree_control")" "memory pids cpu"
	eq "memory.max" "$(cat "$d/memory.max")" "$((64 << 20))"
	eq "memory.swap.max" "$(cat "$d/memory.swap.max")" "0"
	eq "pids.max" "$(cat "$d/pids.max")" "20"
	eq "cpu.max" "$(cat "$d/cpu.max")" "150000 100000"
	grep -qx '[0-9][0-9]*' "$d/cgroup.procs" || failed "cgroup.procs: $(cat "$d/cgroup.procs")"
	wait $pid
	local rc=$?
	eq "exit ($(cat "$WORK/v2.out"))" "$rc" 0
	[ -e "$d" ] && failed "$d left behind"
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$hooks" explain "$p")
	contains "explain names the driver" "$SB_OUT" "cgroup     v2: memory, pids, cpu in $root/cordon/ID"
	# The hook is the test build's alone: cordon itself ignores it.
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$CORDON" explain "$p")
	lacks "cordon ignores the hook" "$SB_OUT" "$root"
	# And even the test build refuses a real cgroup file system there.
	(cd "$WORK/proj" && CORDON_TEST_CGROUP2=/sys/fs/cgroup/unified "$hooks" run --policy "$p" -- /bin/true) >"$WORK/v2r.out" 2>&1
	rc=$?
	eq "a real cgroup fs refused" "$rc" 125
	contains "why" "$(cat "$WORK/v2r.out")" "is a real cgroup or sysfs file system"
}

# The systemd driver (unprivileged, the launcher's own cgroup not
# writable, a user bus reachable) against a stand-in for the user's
# systemd (systemd-stub.py) on a private dbus-daemon: no systemd runs
# here. The cgroup2 layout is the test's (cordon-testhooks), its root not
# writable, so the delegated v2 driver is not an option; the stub makes
# the scope's directory under it.
SD_BUS_PID=
SD_STUB=$(cd "$(dirname "$0")" && pwd)/systemd-stub.py
sd_bus_start() { # sd_bus_start ROOT MODE: a private bus with the stub on it
	local out=$WORK/dbus.addr
	dbus-daemon --session --fork --print-address=1 --print-pid=1 >"$out" 2>"$WORK/dbus.err" ||
		failed "dbus-daemon: $(cat "$WORK/dbus.err")"
	DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p "$out")
	SD_BUS_PID=$(sed -n 2p "$out")
	export DBUS_SESSION_BUS_ADDRESS
	trap 'kill $SD_BUS_PID 2>/dev/null; chmod -R u+w "$WORK"' EXIT
	/usr/bin/python3 "$SD_STUB" "$1" "$WORK/sd.json" "$2" >"$WORK/stub.out" 2>&1 &
	for _ in $(seq 100); do
		grep -qs ready "$WORK/stub.out" && return 0
		sleep 0.05
	done
	failed "the stub did not start: $(cat "$WORK/stub.out")"
}
sd_root() { # a cgroup2 layout whose root is not writable by the invoker
	local root=$WORK/cg2sd
	mkdir -p "$root/user.slice"
	echo "cpuset cpu io memory hugetlb pids rdma misc" >"$root/cgroup.controllers"
	: >"$root/cgroup.subtree_control"
	chmod 0555 "$root"
	echo "$root"
}
sd_prop() { # sd_prop KEY: what the stub was given
	/usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["props"].get(sys.argv[2]); print(json.dumps(v))' "$WORK/sd.json" "$1"
}

t_systemd_driver_asks_for_a_scope_with_the_limits() {
	local hooks=$HELPERS/cordon-testhooks root p rc
	[ -x "$hooks" ] || failed "cordon-testhooks missing"
	root=$(sd_root)
	trap 'chmod -R u+w "$WORK"' EXIT
	sd_bus_start "$root" ok
	p=$(limits_policy sd $'memory = 64M\npids = 20\ncpu = 1.5')
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$hooks" run --policy "$p" -- /bin/echo in-scope 2>&1)
	SB_RC=$?
	if [ $IS_ROOT -eq 1 ]; then
		# Root uses the root drivers: systemd is never asked.
		eq "exit ($SB_OUT)" "$SB_RC" 0
		[ -e "$WORK/sd.json" ] && failed "root asked systemd: $(cat "$WORK/sd.json")"
		ok "root made its cgroup in the layout" [ -d "$root/cordon" ]
		return 0
	fi
	eq "exit ($SB_OUT)" "$SB_RC" 0
	contains "the command ran" "$SB_OUT" "in-scope"
	ok "systemd was asked" [ -s "$WORK/sd.json" ]
	eq "MemoryMax" "$(sd_prop MemoryMax)" "$((64 << 20))"
	eq "MemorySwapMax" "$(sd_prop MemorySwapMax)" "0"
	eq "TasksMax" "$(sd_prop TasksMax)" "20"
	eq "CPUQuotaPerSecUSec" "$(sd_prop CPUQuotaPerSecUSec)" "1500000"
	eq "Delegate" "$(sd_prop Delegate)" "true"
	eq "AddRef" "$(sd_prop AddRef)" "true"
	local d pids
	d=$(ls -d "$root"/user.slice/cordon-*.scope)
	pids=$(sd_prop PIDs)
	eq "one pid, pid 1 of the sandbox" "$pids" "[$(cat "$d/cgroup.procs")]"
	lacks "not the launcher's own" "$pids" "[$$]"
	# The unit is named by the sandbox id, and the audit log names it.
	contains "unit name" "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$WORK/sd.json")" "cordon-"
	contains "the start record names the scope" "$(cat "$AUDIT")" "\"cgroup\":\"v2: $(basename "$d")\""
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$hooks" explain "$p")
	contains "explain names the driver" "$SB_OUT" "v2 through systemd: memory, pids, cpu in the scope cordon-ID.scope"
}

t_systemd_driver_refusals_are_125_with_the_reason() {
	local hooks=$HELPERS/cordon-testhooks root p
	[ -x "$hooks" ] || failed "cordon-testhooks missing"
	[ $IS_ROOT -eq 1 ] && return 0 # root never asks systemd (the test above)
	root=$(sd_root)
	trap 'chmod -R u+w "$WORK"' EXIT
	p=$(limits_policy sd $'memory = 64M')
	# No bus reachable: the hint, as before.
	SB_OUT=$(cd "$WORK/proj" && env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$WORK" CORDON_TEST_CGROUP2=$root \
		"$hooks" run --policy "$p" -- /bin/echo ran 2>&1)
	SB_RC=$?
	eq "no bus ($SB_OUT)" "$SB_RC" 125
	contains "the hint" "$SB_OUT" "systemd-run --user --scope -p Delegate=yes"
	lacks "nothing ran" "$SB_OUT" "ran"$'\n'
	# A bus named that nobody listens on: refused naming why.
	SB_OUT=$(cd "$WORK/proj" && DBUS_SESSION_BUS_ADDRESS=unix:path=$WORK/nobus CORDON_TEST_CGROUP2=$root \
		"$hooks" run --policy "$p" -- /bin/echo ran 2>&1)
	SB_RC=$?
	eq "dead bus ($SB_OUT)" "$SB_RC" 125
	contains "why" "$SB_OUT" "limits: the systemd driver cannot connect to the user bus"
	sd_bus_start "$root" deny
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$hooks" run --policy "$p" -- /bin/echo ran 2>&1)
	SB_RC=$?
	eq "denied ($SB_OUT)" "$SB_RC" 125
	contains "why" "$SB_OUT" "limits: systemd refused the scope cordon-"
	contains "systemd's reason" "$SB_OUT" "Access denied (stub)"
	eq "one line" "$(printf '%s\n' "$SB_OUT" | wc -l)" 1
	kill $SD_BUS_PID
	# The job ends other than "done": refused naming the result.
	sd_bus_start "$root" fail
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$hooks" run --policy "$p" -- /bin/echo ran 2>&1)
	SB_RC=$?
	eq "job failed ($SB_OUT)" "$SB_RC" 125
	contains "why" "$SB_OUT" "its job ended failed"
	lacks "nothing ran" "$SB_OUT" "ran"$'\n'
	kill $SD_BUS_PID
	# Positive control: the same policy where systemd makes the scope.
	sd_bus_start "$root" ok
	SB_OUT=$(cd "$WORK/proj" && CORDON_TEST_CGROUP2=$root "$hooks" run --policy "$p" -- /bin/echo ran 2>&1)
	SB_RC=$?
	eq "made ($SB_OUT)" "$SB_RC" 0
	eq "ran" "$SB_OUT" "ran"
}

run_tests "${1:-}"
