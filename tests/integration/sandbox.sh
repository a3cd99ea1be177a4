#!/usr/bin/env bash
# Integration tests for `cordon run`, `check` and `explain`: real sandboxes,
# asserting what the process inside can and cannot do. Runs as root and as
# an unprivileged user (see run-as.sh).
. "$(dirname "$0")/lib.sh"

# ---- policy checking ----

t_check_reports_file_and_line_for_unknown_key() {
	printf '[sandbox]\nname = x\n\n[filesystem]\nrox = /usr\n' >"$WORK/bad.ini"
	"$CORDON" check "$WORK/bad.ini" >"$WORK/o" 2>&1
	eq "check exit status" "$?" 2
	contains "diagnostic" "$(cat "$WORK/o")" "$WORK/bad.ini:5: unknown key"
}

# --version says where bare names are looked up, as the code does.
t_version_names_the_policy_and_profile_directories() {
	local out
	out=$(env -u CORDON_POLICY_PATH "$CORDON" --version 2>&1)
	eq "--version exit status" "$?" 0
	contains "version" "$out" "cordon "
	contains "policy directory" "$out" "policies: --policy NAME reads /etc/cordon/policies/NAME.ini"
	contains "profile directory" "$out" "/cordon/seccomp/NAME.profile, else the built-in copy (ci, default, strict)"
	out=$(CORDON_POLICY_PATH=$WORK "$CORDON" --version 2>&1)
	contains "CORDON_POLICY_PATH first" "$out" "from CORDON_POLICY_PATH ($WORK), then /etc/cordon/policies"
}

# A bare name that is nowhere: one line naming it and the installed
# names, and nothing runs; control: the same name staged runs.
t_unknown_policy_name_is_one_line_listing_the_installed_ones() {
	local out rc
	out=$(cd "$WORK" && CORDON_POLICY_PATH=$WORK/none "$CORDON" run --policy nosuch-$$ -- /bin/echo ran 2>&1)
	rc=$?
	eq "exit status ($out)" "$rc" 125
	lacks "did not run" "$out" "ran"
	contains "names it" "$out" "no policy named nosuch-$$ (in /etc/cordon/policies:"
	eq "one line ($out)" "$(wc -l <<<"$out")" 1
	policy "nosuch-$$" </dev/null >/dev/null
	out=$(cd "$WORK" && CORDON_POLICY_PATH=$WORK "$CORDON" check "nosuch-$$" 2>&1)
	eq "control: found on CORDON_POLICY_PATH ($out)" "$?" 0
}

t_check_accepts_valid_policy() {
	local p rc
	p=$(policy valid </dev/null)
	"$CORDON" check "$p" >"$WORK/o" 2>&1
	rc=$?
	eq "check exit status ($(cat "$WORK/o"))" "$rc" 0
}

t_check_rejects_duplicate_mount_paths() {
	local p
	p=$(policy dup <<<$'[filesystem]\nrw = /usr\n')
	"$CORDON" check "$p" >"$WORK/o" 2>&1
	eq "check exit status" "$?" 2
	contains "diagnostic" "$(cat "$WORK/o")" "already mounted"
}

t_example_policies_pass_check() {
	[ -d "${CORDON_EXAMPLES:-}" ] || failed "no examples staged"
	local f n=0
	for f in "$CORDON_EXAMPLES"/*.ini; do
		n=$((n + 1))
		"$CORDON" check "$f" >"$WORK/o" 2>&1 || failed "$f: $(cat "$WORK/o")"
		no_sanitizer_report "$(cat "$WORK/o")"
	done
	[ $n -ge 2 ] || failed "expected at least two example policies, found $n"
}

# ---- check and run agree on seccomp profiles ----
#
# Whatever `run` refuses in a policy's profile, `check` reports (exit 2)
# and `run` refuses before the command starts (125), both naming the
# problem; each with a control that differs only in the problem.

# profile_policy NAME: writes $WORK/NAME.profile from stdin and a policy
# using it; prints the policy's path.
profile_policy() {
	cat >"$WORK/$1.profile"
	policy "$1" <<<"[seccomp]
profile = $WORK/$1.profile
"
}

# check_and_run POLICY: `cordon check` (CK_RC, CK_OUT with stderr), then
# `cordon run -- /bin/true` (SB_RC, SB_OUT, SB_ERR).
check_and_run() {
	CK_OUT=$("$CORDON" check "$1" 2>&1)
	CK_RC=$?
	no_sanitizer_report "$CK_OUT"
	sb "$1" -- /bin/true
}

# refused_by_both POLICY NEEDLE: check says 2 and run 125, both with NEEDLE.
refused_by_both() {
	check_and_run "$1"
	eq "check exit status ($CK_OUT)" "$CK_RC" 2
	contains "check names the problem" "$CK_OUT" "$2"
	eq "run exit status ($(show))" "$SB_RC" 125
	contains "run names the problem" "$SB_ERR" "$2"
	lacks "the command did not run" "$SB_ERR" "true:"
}

accepted_by_both() {
	check_and_run "$1"
	eq "control: check exit status ($CK_OUT)" "$CK_RC" 0
	eq "control: run exit status ($(show))" "$SB_RC" 0
}

t_check_and_run_refuse_a_profile_with_a_nul_byte() {
	local p
	p=$(printf 'default allow\nptrace deny\nbpf\0deny\n' | profile_policy nul)
	refused_by_both "$p" "$WORK/nul.profile: file contains a NUL byte"
	contains "at the policy's key" "$CK_OUT" "$p:"
	"$CORDON" explain "$p" >"$WORK/explain.out" 2>&1
	eq "explain exit status" "$?" 2
	p=$(printf 'default allow\nptrace deny\nbpf deny\n' | profile_policy nonul)
	accepted_by_both "$p"
}

t_check_and_run_refuse_a_missing_profile() {
	local p
	p=$(policy gone <<<"[seccomp]
profile = $WORK/gone.profile
")
	refused_by_both "$p" "$WORK/gone.profile: No such file"
	printf 'default allow\n' >"$WORK/gone.profile"
	accepted_by_both "$p"
}

t_check_and_run_refuse_what_libseccomp_refuses() {
	# Both rules parse; libseccomp refuses the second (same condition,
	# another action). run used to exit 137 here, killing its own pid 1.
	local p
	p=$(printf 'default allow\nread deny arg0==1000\nread kill arg0==1000\n' | profile_policy lsr)
	refused_by_both "$p" "$WORK/lsr.profile:3: read: libseccomp refused the rule"
	p=$(printf 'default allow\nread deny arg0==1000\n' | profile_policy lsrok)
	accepted_by_both "$p"
}

t_check_and_run_refuse_a_filter_longer_than_the_kernel_takes() {
	# The kernel takes at most 4096 BPF instructions per filter.
	local p
	p=$({ echo "default allow"; seq -f 'ioctl deny arg1==%g' 1 4500; } | profile_policy long)
	refused_by_both "$p" "$WORK/long.profile:1: this layer compiles to"
	contains "says why" "$CK_OUT" "at most 4096"
	p=$({ echo "default allow"; seq -f 'ioctl deny arg1==%g' 1 400; } | profile_policy short)
	accepted_by_both "$p"
}

t_check_and_run_refuse_a_layer_that_blocks_the_next() {
	# The second layer is loaded with seccomp() under the first.
	local p
	p=$(printf 'default allow\nseccomp deny\ndefault allow\nmount deny\n' | profile_policy blocks)
	refused_by_both "$p" "$WORK/blocks.profile:1: this layer may refuse seccomp"
	p=$(printf 'default allow\nseccomp deny\n' | profile_policy lastblocks)
	accepted_by_both "$p"
}

t_check_and_run_refuse_a_profile_without_execve() {
	local p
	p=$(printf 'default allow\nexecve deny\n' | profile_policy noexec)
	refused_by_both "$p" "$WORK/noexec.profile:1: this layer may refuse execve"
	p=$(printf 'default allow\nexecveat deny\n' | profile_policy noexecat)
	accepted_by_both "$p"
}

t_check_and_run_refuse_more_than_four_layers() {
	local p
	p=$(printf 'default allow\n%.0s' 1 2 3 4 5 | profile_policy five)
	refused_by_both "$p" "$WORK/five.profile:5: default: more than 4 layers"
	p=$(printf 'default allow\n%.0s' 1 2 3 4 | profile_policy four)
	accepted_by_both "$p"
}

# ---- check and run agree on what the policy alone refuses ----

# line_of POLICY TEXT: the number of the line of POLICY holding TEXT.
line_of() {
	grep -n -F -- "$2" "$1" | head -n 1 | cut -d: -f1
}

t_check_and_run_refuse_what_a_shared_proxy_socket_cannot_use() {
	# With socket = a shared proxy decides, by its own policy: the
	# sandbox's allow list would be unused.
	local p l
	p=$(policy sockallow <<EOF
[network]
mode = proxy
socket = $WORK/shared.sock
allow = example.org:443
EOF
)
	l=$(line_of "$p" "socket = ")
	refused_by_both "$p" "$p:$(line_of "$p" "allow = "): allow is not used with socket = (line $l)"
	p=$(policy sockdeny <<EOF
[network]
deny = example.org
mode = proxy
socket = $WORK/shared.sock
EOF
)
	l=$(line_of "$p" "socket = ")
	refused_by_both "$p" "$p:$(line_of "$p" "deny = "): deny is not used with socket = (line $l)"
	# A path no Unix socket address holds: pid 1 could never connect.
	p=$(policy socklong <<EOF
[network]
mode = proxy
socket = $WORK/$(printf 'x%.0s' $(seq 110)).sock
EOF
)
	refused_by_both "$p" "$p:$(line_of "$p" "socket = "): socket: $WORK/xxx"
	contains "says why" "$CK_OUT" "is too long for a Unix socket address"
	# Controls: the allow list with the sandbox's own proxy, and socket
	# alone (check passes; run then needs the shared proxy, absent here).
	p=$(policy ownallow <<<$'[network]\nmode = proxy\nallow = example.org:443\n')
	accepted_by_both "$p"
	p=$(policy sockonly <<EOF
[network]
mode = proxy
socket = $WORK/shared.sock
EOF
)
	check_and_run "$p"
	eq "control: check exit status ($CK_OUT)" "$CK_RC" 0
	eq "control: run exit status ($(show))" "$SB_RC" 125
	contains "control: run fails on the absent proxy" "$SB_ERR" "shared.sock"
	lacks "control: not for the policy" "$SB_ERR" "is not used with socket"
}

t_explain_prints_the_plan() {
	local p
	p=$(policy explain <<<$'[filesystem]\nmask = .env\n')
	local out
	out=$(cd "$WORK/proj" && "$CORDON" explain "$p")
	eq "explain exit" "$?" 0
	contains "mount table" "$out" "/usr"
	contains "project root" "$out" "$WORK/proj"
	contains "mask" "$out" "$WORK/proj/.env"
	out=$(cd "$WORK/proj" && "$CORDON" explain "$p" --json -- /bin/true)
	eq "explain --json exit" "$?" 0
	contains "json" "$out" '"mounts":['
	contains "json command" "$out" '"command":["/bin/true"]'
}

# ---- options ----

# A sudoers rule `cordon run --policy pi *` lets the invoker append
# anything: a second --policy, in either spelling, must not replace the
# administrator's.
t_policy_given_twice_is_refused() {
	local p q
	p=$(policy once </dev/null)
	q=$(policy other </dev/null)
	for second in "--policy $q" "--policy=$q"; do
		# shellcheck disable=SC2086 # two words on purpose
		cli run --policy "$p" $second -- /bin/sh -c "touch $WORK/proj/ran"
		eq "run: $second: exit" "$SB_RC" 125
		eq "run: $second: message" "$SB_ERR" "cordon: --policy given more than once"
		not "run: $second: the command ran" test -e "$WORK/proj/ran"
	done
	cli explain "$p" --policy "$q"
	eq "explain: exit" "$SB_RC" 2
	contains "explain: message" "$SB_ERR" "cordon: --policy given more than once"
	# Control: once, in either spelling, it runs.
	cli run --policy "$p" -- /bin/sh -c "touch $WORK/proj/ran"
	eq "control: --policy P runs ($(show))" "$SB_RC" 0
	ok "control: the command ran" test -e "$WORK/proj/ran"
	cli run --policy="$p" -- /bin/true
	eq "control: --policy=P runs ($(show))" "$SB_RC" 0
}

# Only the options each command documents, spelt in full: no prefix of
# one (getopt_long would take --pol for --policy), no option of another
# command, no short options.
t_unknown_options_are_refused() {
	local p arg
	p=$(policy unknown </dev/null)
	for arg in --json --pol --polic=x --foo=bar -x -xy - --help-me; do
		cli run --policy "$p" "$arg" -- /bin/sh -c "touch $WORK/proj/ran"
		eq "run $arg: exit" "$SB_RC" 125
		eq "run $arg: message" "$SB_ERR" "cordon: unknown option $arg (see cordon run --help)"
	done
	not "the command never ran" test -e "$WORK/proj/ran"
	for arg in --js --json=1 --proj -x; do
		cli explain "$p" "$arg"
		eq "explain $arg: exit" "$SB_RC" 2
		contains "explain $arg: message" "$SB_ERR" "cordon: unknown option $arg (see cordon explain --help)"
	done
	# Control: the documented spellings are taken.
	cli explain "$p" --json --project="$WORK/proj"
	eq "control: explain --json --project=DIR ($(show))" "$SB_RC" 0
	contains "control: json" "$SB_OUT" '"mounts":['
}

t_option_without_its_value_is_refused() {
	local p
	p=$(policy novalue </dev/null)
	cli run --policy
	eq "run --policy: exit" "$SB_RC" 125
	eq "run --policy: message" "$SB_ERR" "cordon: --policy needs a value"
	cli run --policy "$p" --project
	eq "run --project: exit" "$SB_RC" 125
	eq "run --project: message" "$SB_ERR" "cordon: --project needs a value"
	cli explain "$p" --project
	eq "explain --project: exit" "$SB_RC" 2
	contains "explain --project: message" "$SB_ERR" "cordon: --project needs a value"
	# Control: with its value, the next word is the value whatever it looks
	# like (here a directory named like an option is refused as a project,
	# not as an option).
	cli run --policy "$p" --project --json -- /bin/true
	eq "control: --project takes the next word: exit" "$SB_RC" 125
	contains "control: --project takes the next word: message" "$SB_ERR" "--json"
	lacks "control: not an unknown option" "$SB_ERR" "unknown option"
}

# Options end at `--` or at the command's first word: what follows is the
# command's, options included.
t_options_end_at_the_command() {
	local p
	p=$(policy dashdash </dev/null)
	cli run --policy "$p" -- /bin/echo --policy x --help
	eq "after --: exit ($(show))" "$SB_RC" 0
	eq "after --: the command's arguments" "$SB_OUT" "--policy x --help"
	cli run --policy "$p" /bin/echo --policy x
	eq "after the command: exit ($(show))" "$SB_RC" 0
	eq "after the command: the command's arguments" "$SB_OUT" "--policy x"
	cli run --policy "$p" -- --help
	eq "-- --help is a command named --help" "$SB_RC" 127
	cli explain "$p" -- /bin/echo --json
	eq "explain: exit ($(show))" "$SB_RC" 0
	contains "explain: the command" "$SB_OUT" "/bin/echo --json"
	lacks "explain: --json after -- is the command's" "$SB_OUT" '"mounts":['
	cli run --help
	eq "control: --help before -- is help" "$SB_RC" 0
	contains "control: the help text" "$SB_OUT" "usage: cordon run"
}

# ---- exit statuses ----

t_exit_status_of_command_is_propagated() {
	local p
	p=$(policy exit </dev/null)
	sb "$p" -- /bin/true
	eq "true" "$SB_RC" 0
	sb "$p" -- /bin/sh -c 'exit 3'
	eq "exit 3" "$SB_RC" 3
}

t_exit_status_128_plus_signal() {
	local p
	p=$(policy sig </dev/null)
	sb "$p" -- /bin/sh -c 'kill -TERM $$'
	eq "SIGTERM" "$SB_RC" 143
	sb "$p" -- /bin/sh -c 'kill -KILL $$'
	eq "SIGKILL" "$SB_RC" 137
}

t_exit_status_127_not_found_126_not_executable() {
	local p
	p=$(policy nf </dev/null)
	sb "$p" -- /nonexistent/command
	eq "not found" "$SB_RC" 127
	sb "$p" -- no-such-command-anywhere
	eq "not found in PATH" "$SB_RC" 127
	eq "message: one line naming the command" "$SB_ERR" "cordon: no-such-command-anywhere: command not found"
	printf '#!/bin/sh\necho hi\n' >"$WORK/proj/script.sh"
	chmod 0644 "$WORK/proj/script.sh"
	sb "$p" -- "$WORK/proj/script.sh"
	eq "not executable" "$SB_RC" 126
	eq "message: the command and the reason" "$SB_ERR" "cordon: $WORK/proj/script.sh: Permission denied"
}

t_invalid_policy_exits_125_and_command_never_runs() {
	printf '[filesystem]\nbogus = 1\n' >"$WORK/inv.ini"
	sb "$WORK/inv.ini" -- /bin/sh -c "touch $WORK/proj/ran"
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "inv.ini:2: unknown key"
	not "command ran" test -e "$WORK/proj/ran"
	# Control: the same command under a valid policy runs.
	sb "$(policy valid </dev/null)" -- /bin/sh -c "touch $WORK/proj/ran"
	eq "control: exit ($(show))" "$SB_RC" 0
	ok "control: the command ran" test -e "$WORK/proj/ran"
}

t_setup_failure_exits_125_with_one_line() {
	local p
	p=$(policy fail <<<$'[filesystem]\nro = /nonexistent-cordon-path\n')
	sb "$p" -- /bin/sh -c "touch $WORK/proj/ran"
	eq "exit" "$SB_RC" 125
	contains "names the step" "$SB_ERR" "/nonexistent-cordon-path"
	eq "one line" "$(printf '%s\n' "$SB_ERR" | wc -l)" 1
	not "command ran" test -e "$WORK/proj/ran"
	# Control: the path as optional (ro_try) is skipped and the command runs.
	sed -i 's/^ro = \/nonexistent-cordon-path$/ro_try = \/nonexistent-cordon-path/' "$p"
	sb "$p" -- /bin/sh -c "touch $WORK/proj/ran"
	eq "control: exit ($(show))" "$SB_RC" 0
	ok "control: the command ran" test -e "$WORK/proj/ran"
}

t_no_command_is_refused() {
	local p
	p=$(policy nocmd </dev/null)
	sb "$p"
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "no command"
	sb "$p" -- /bin/true
	eq "control: with a command, it runs ($(show))" "$SB_RC" 0
}

t_policy_command_is_the_default() {
	local p
	p=$(policy defcmd <<<$'[sandbox]\ncommand = /bin/echo from-policy\n')
	sb "$p"
	eq "exit" "$SB_RC" 0
	eq "output" "$SB_OUT" "from-policy"
}

# ---- filesystem ----

t_ssh_key_of_invoker_is_unreadable() {
	local p key dir="$MYHOME/.ssh" made=0
	key=$dir/id_rsa
	[ $IS_ROOT -eq 1 ] && key=$dir/id_rsa_cordon_test_$$
	if [ ! -d "$dir" ]; then
		mkdir -m 700 "$dir" || skip "cannot create $dir"
		made=1
	fi
	echo "FAKE-PRIVATE-KEY" >"$key"
	chmod 600 "$key"
	p=$(policy ssh </dev/null)
	echo FAKE-PROJECT-FILE >"$WORK/proj/readable"
	sh_in "$p" "cat '$key' ~/.ssh/$(basename "$key") 2>&1; ls -a '$dir' 2>&1; echo HOME=\$HOME; cat readable"
	rm -f "$key"
	[ $made -eq 1 ] && rmdir "$dir"
	lacks "key content" "$SB_OUT" "FAKE-PRIVATE-KEY"
	lacks "key listed" "$SB_OUT" "$(basename "$key")"$'\n'
	contains "home is the invoker's path" "$SB_OUT" "HOME=$MYHOME"
	contains "control: the same run reads a file of the project" "$SB_OUT" "FAKE-PROJECT-FILE"
}

t_usr_is_read_only() {
	local p f=/usr/cordon-test-$$
	p=$(policy usr </dev/null)
	sh_in "$p" "touch $f 2>&1; touch /tmp/f && echo tmp-writable"
	contains "touch fails" "$SB_OUT" "touch: cannot touch '$f': Read-only file system"
	contains "control: the same run writes elsewhere" "$SB_OUT" "tmp-writable"
	not "file on host" test -e $f
	sb "$p" -- "$HELPERS/mountcheck" ro /usr
	eq "every mount at /usr read-only ($SB_OUT $SB_ERR)" "$SB_RC" 0
}

# The new root and /dev: read-only for root and user alike, with Landlock
# off so that the read-only flag alone stops the writes.
t_new_root_and_dev_are_not_writable() {
	local p
	p=$(policy rootro <<<$'[landlock]\nmode = off\n')
	sh_in "$p" 'mkdir /newdir 2>&1; touch /dev/newfile 2>&1; echo x > /dev/null && echo devnull-ok; mkdir /tmp/newdir && echo tmp-ok'
	contains "mkdir /" "$SB_OUT" "mkdir: cannot create directory '/newdir': Read-only file system"
	contains "/dev" "$SB_OUT" "touch: cannot touch '/dev/newfile': Read-only file system"
	contains "/dev/null writable" "$SB_OUT" "devnull-ok"
	contains "control: mkdir works in /tmp" "$SB_OUT" "tmp-ok"
}

t_root_read_only_bind_includes_submounts() {
	local base=$WORK/robase p
	mkdir -p "$base/sub"
	mount -t tmpfs none "$base/sub" || skip "cannot mount a tmpfs here"
	echo data >"$base/sub/file"
	p=$(policy sub <<<"[filesystem]
ro = $base
")
	sh_in "$p" "cat $base/sub/file; (echo x > $base/sub/file) 2>&1; touch $base/sub/new 2>&1; true"
	local out=$SB_OUT
	# Control: bound read-write, the same writes reach the submount.
	p=$(policy subrw <<<"[filesystem]
rw = $base
")
	sh_in "$p" "touch $base/sub/new && echo wrote"
	local control=$SB_OUT
	umount "$base/sub"
	contains "submount visible" "$out" "data"
	contains "submount file read-only" "$out" "$base/sub/file: Read-only file system"
	contains "submount read-only" "$out" "touch: cannot touch '$base/sub/new': Read-only file system"
	eq "control: read-write, the submount is written" "$control" "wrote"
}

t_project_is_writable_and_files_belong_to_invoker() {
	local p
	p=$(policy proj </dev/null)
	sh_in "$p" "echo written > $WORK/proj/newfile && echo ok"
	eq "write" "$SB_OUT" "ok"
	eq "content on host" "$(cat "$WORK/proj/newfile")" "written"
	eq "owner" "$(stat -c %u "$WORK/proj/newfile")" "$MYUID"
}

t_cwd_is_same_path_inside() {
	local p
	mkdir -p "$WORK/proj/sub/dir"
	p=$(policy cwd </dev/null)
	SB_CWD=$WORK/proj/sub/dir sb "$p" -- /bin/pwd
	eq "exit" "$SB_RC" 0
	eq "pwd" "$SB_OUT" "$WORK/proj/sub/dir"
}

t_cwd_outside_project_roots_is_refused() {
	local p
	mkdir -p "$WORK/elsewhere"
	p=$(policy outside </dev/null)
	SB_CWD=$WORK/elsewhere sb "$p" -- /bin/true
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "cwd $WORK/elsewhere is outside the allowed project roots"
	SB_CWD=$WORK/proj sb "$p" -- /bin/true
	eq "control: from the project, it runs ($(show))" "$SB_RC" 0
}

t_project_option_narrows() {
	local p
	mkdir -p "$WORK/proj/a" "$WORK/proj/b"
	echo secret-b >"$WORK/proj/b/f"
	p=$(policy narrow </dev/null)
	SB_CWD=$WORK/proj/a sb "$p" --project "$WORK/proj/a" -- /bin/sh -c "cat $WORK/proj/b/f 2>&1; touch $WORK/proj/a/x && echo wrote"
	eq "exit" "$SB_RC" 0
	lacks "sibling hidden" "$SB_OUT" "secret-b"
	contains "narrowed root writable" "$SB_OUT" "wrote"
	SB_CWD=$WORK/proj/a sb "$p" --project /usr -- /bin/true
	eq "outside root refused" "$SB_RC" 125
	contains "message" "$SB_ERR" "outside the allowed project roots"
}

t_mask_hides_file_content() {
	local p
	echo "API_KEY=secret" >"$WORK/proj/.env"
	echo "NOT_MASKED=visible" >"$WORK/proj/.env.example"
	p=$(policy mask <<<$'[filesystem]\nmask = .env\n')
	sh_in "$p" 'cat .env; echo "[$(wc -c < .env)]"; echo x >> .env 2>&1; rm .env 2>&1; mv .env .e 2>&1; cat .env.example; true'
	lacks "content hidden" "$SB_OUT" "secret"
	contains "reads empty" "$SB_OUT" "[0]"
	contains "control: the file next to it reads" "$SB_OUT" "NOT_MASKED=visible"
	eq "host file intact" "$(cat "$WORK/proj/.env")" "API_KEY=secret"
}

t_mask_of_missing_path_cannot_be_created() {
	local p
	p=$(policy maskmissing <<<$'[filesystem]\nmask = .env\n')
	sh_in "$p" 'echo planted > .env 2>&1; cat .env; echo planted > .env2 && echo control-written'
	lacks "not created" "$SB_OUT" "planted"
	contains "control: the file next to it is created" "$SB_OUT" "control-written"
	eq "control: on the host" "$(cat "$WORK/proj/.env2")" planted
	not "no placeholder left on host" test -e "$WORK/proj/.env"
}

t_protect_keeps_existing_path_read_only() {
	local p
	mkdir -p "$WORK/proj/.git/hooks"
	echo '[core]' >"$WORK/proj/.git/config"
	p=$(policy protect <<<$'[filesystem]\nprotect = .git/hooks\n')
	sh_in "$p" 'echo evil > .git/hooks/pre-commit 2>&1; echo ok > .git/other && echo git-writable; mv .git .git2 2>&1; mv .git/hooks .git/h2 2>&1; rmdir .git/hooks 2>&1; true'
	not "hook planted" test -e "$WORK/proj/.git/hooks/pre-commit"
	contains ".git itself stays writable" "$SB_OUT" "git-writable"
	test -d "$WORK/proj/.git/hooks" || failed "hooks renamed away: $SB_OUT"
	test -d "$WORK/proj/.git" || failed ".git renamed away: $SB_OUT"
	not ".git2 created" test -e "$WORK/proj/.git2"
}

t_protect_of_missing_path_cannot_be_created() {
	local p
	mkdir -p "$WORK/proj/.git"
	p=$(policy protectmissing <<<$'[filesystem]\nprotect = .git/hooks/\nprotect = .vscode/\nprotect = .mcp.json\n')
	sh_in "$p" 'mkdir -p .git/hooks 2>&1; echo evil > .git/hooks/post-checkout 2>&1; mkdir .vscode/x 2>&1; echo x > .vscode/tasks.json 2>&1; echo {} > .mcp.json 2>&1; mkdir -p .git/info && echo {} > .mcp2.json && echo unguarded-ok'
	contains "control: unguarded paths are created" "$SB_OUT" "unguarded-ok"
	not "hook planted" test -e "$WORK/proj/.git/hooks/post-checkout"
	not "vscode task planted" test -e "$WORK/proj/.vscode/tasks.json"
	not "placeholder .git/hooks removed" test -e "$WORK/proj/.git/hooks"
	not "placeholder .vscode removed" test -e "$WORK/proj/.vscode"
	not "placeholder .mcp.json removed" test -e "$WORK/proj/.mcp.json"
}

t_protect_below_missing_directory() {
	local p
	p=$(policy protectdeep <<<$'[filesystem]\nprotect = .git/hooks\n')
	sh_in "$p" 'git_dir=.git; mkdir -p $git_dir/hooks 2>&1; echo evil > $git_dir/hooks/pre-commit 2>&1; mkdir -p other/hooks && echo x > other/hooks/pre-commit && echo unguarded-ok'
	contains "control: elsewhere, the same writes work" "$SB_OUT" "unguarded-ok"
	not "hook planted" test -e "$WORK/proj/.git/hooks/pre-commit"
	not "placeholder removed" test -e "$WORK/proj/.git"
}

t_symlink_escaping_root_is_refused_for_mask() {
	local p
	ln -s /etc/passwd "$WORK/proj/.env"
	p=$(policy maskln <<<$'[filesystem]\nmask = .env\n')
	sb "$p" -- /bin/true
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "symlink"
	# Control: the same policy with a file there runs.
	rm "$WORK/proj/.env" && echo x >"$WORK/proj/.env"
	sb "$p" -- /bin/true
	eq "control: no symlink, it runs ($(show))" "$SB_RC" 0
}

t_symlink_escaping_root_is_refused_for_protect() {
	local p
	mkdir -p "$WORK/outside/hooks"
	ln -s "$WORK/outside" "$WORK/proj/.git"
	p=$(policy protln <<<$'[filesystem]\nprotect = .git/hooks\n')
	sb "$p" -- /bin/true
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "symlink"
	# Control: the same policy with a directory there runs.
	rm "$WORK/proj/.git" && mkdir -p "$WORK/proj/.git/hooks"
	sb "$p" -- /bin/true
	eq "control: no symlink, it runs ($(show))" "$SB_RC" 0
}

t_bind_of_single_file_and_ro_try() {
	local p
	echo filedata >"$WORK/single"
	p=$(policy file <<<"[filesystem]
ro = $WORK/single
ro_try = /nonexistent-cordon-path
")
	sh_in "$p" "cat $WORK/single; (echo x > $WORK/single) 2>&1; ls /nonexistent-cordon-path 2>&1; true"
	eq "exit" "$SB_RC" 0
	contains "file visible" "$SB_OUT" "filedata"
	contains "file read-only" "$SB_OUT" "Read-only file system"
}

t_rw_bind_and_tmpfs() {
	local p
	mkdir -p "$WORK/cache"
	p=$(policy rw <<<"[filesystem]
rw = $WORK/cache
tmpfs = /var/scratch
")
	sh_in "$p" "echo c > $WORK/cache/c && echo s > /var/scratch/s && cat /var/scratch/s"
	eq "exit ($SB_ERR)" "$SB_RC" 0
	eq "rw bind reaches host" "$(cat "$WORK/cache/c")" "c"
	eq "tmpfs" "$SB_OUT" "s"
}

t_home_tmpfs_is_empty_and_writable() {
	local p
	p=$(policy home </dev/null)
	sh_in "$p" 'ls -A "$HOME" | wc -l; touch "$HOME/.x" && echo writable; stat -c %u "$HOME"'
	eq "exit" "$SB_RC" 0
	eq "empty, writable, owned" "$SB_OUT" "0
writable
$MYUID"
}

t_mount_order_does_not_depend_on_file_order() {
	# The project lives under /tmp; tmpfs = /tmp is listed after it here.
	cat >"$WORK/order.ini" <<EOF
[sandbox]
$([ "$(id -u)" -eq 0 ] && echo "user = root")
[filesystem]
project_root = $WORK/proj
ro = /usr
tmpfs = /tmp
EOF
	for d in bin lib lib64; do [ -L /$d ] && echo "symlink = $(readlink /$d):/$d" >>"$WORK/order.ini"; done
	sh_in "$WORK/order.ini" "echo x > $WORK/proj/o && echo ok"
	eq "project visible under tmpfs /tmp" "$SB_OUT" "ok"
}

# ---- processes, identity, namespaces ----

t_proc_shows_only_sandbox_processes() {
	local p
	# Not on the runner's output pipe, and gone with the test even when it
	# fails: the runner would wait for it.
	sleep 424242.5 >/dev/null 2>&1 &
	local host_pid=$!
	# shellcheck disable=SC2064 # the pid as it is now
	trap "kill $host_pid 2>/dev/null" EXIT
	p=$(policy proc </dev/null)
	# The marker is assembled inside so the shell's own command line does
	# not contain it.
	sh_in "$p" "m=4242; grep -l \${m}42.5 /proc/[0-9]*/cmdline 2>/dev/null; ls -d /proc/[0-9]* | wc -l; test -e /proc/$host_pid/cmdline && echo host-pid-visible; echo pid=\$\$"
	# Control: outside, the same search finds it.
	grep -l -s 424242.5 /proc/[0-9]*/cmdline | grep -q "^/proc/$host_pid/" || failed "control: outside, grep does not find the sleep"
	kill $host_pid
	lacks "host process hidden" "$SB_OUT" "cmdline"
	lacks "host pid" "$SB_OUT" "host-pid-visible"
	contains "shell is pid 2 (after our init)" "$SB_OUT" "pid=2"
}

t_pid1_is_cordon_init() {
	local p
	p=$(policy pid1 </dev/null)
	sh_in "$p" 'cat /proc/1/comm'
	eq "comm" "$SB_OUT" "cordon"
}

t_hostname_is_the_policy_one() {
	local p
	p=$(policy host </dev/null)
	sh_in "$p" 'cat /proc/sys/kernel/hostname'
	eq "hostname" "$SB_OUT" "cordon-test"
}

t_network_none_has_only_loopback_and_it_is_up() {
	local p
	# Landlock limits TCP to listed ports when there is no host network;
	# this test connects to port 9 to see that lo answers.
	p=$(policy net <<<$'[landlock]\ntcp_connect = 9\n')
	sh_in "$p" 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " "'
	eq "interfaces" "$SB_OUT" "lo "
	# bash's /dev/tcp is not available in sh; use bash if present
	sb "$p" -- /bin/bash -c '(echo > /dev/tcp/127.0.0.1/9) 2>&1; true'
	eq "exit" "$SB_RC" 0
	contains "lo is up (refused, not unreachable)" "$SB_OUT" "refused"
}

t_network_host_mode_shares_interfaces() {
	local p n
	n=$(tail -n +3 /proc/net/dev | wc -l)
	[ "$n" -gt 1 ] || skip "this host has only loopback"
	p=$(policy nethost <<<$'[network]\nmode = host\n')
	sh_in "$p" 'tail -n +3 /proc/net/dev | wc -l'
	eq "same interfaces" "$SB_OUT" "$n"
}

t_identity_and_capabilities() {
	local p
	p=$(policy ident </dev/null)
	sh_in "$p" 'id -u; id -g; grep -E "^(Cap|NoNewPrivs)" /proc/self/status'
	eq "exit" "$SB_RC" 0
	contains "uid" "$SB_OUT" "$MYUID"
	contains "CapEff" "$SB_OUT" "CapEff:	0000000000000000"
	contains "CapPrm" "$SB_OUT" "CapPrm:	0000000000000000"
	contains "CapInh" "$SB_OUT" "CapInh:	0000000000000000"
	contains "CapBnd" "$SB_OUT" "CapBnd:	0000000000000000"
	contains "CapAmb" "$SB_OUT" "CapAmb:	0000000000000000"
	contains "no_new_privs" "$SB_OUT" "NoNewPrivs:	1"
}

t_root_privileged_run_switches_to_policy_user() {
	local agent=${CORDON_AGENT_USER:?} auid
	auid=$(id -u "$agent")
	chmod 0777 "$WORK/proj"
	p=$(policy priv <<<"[sandbox]
user = $agent
")
	sh_in "$p" "id -u; id -G; echo \$HOME \$USER; echo hi > $WORK/proj/by-agent && echo wrote; grep CapEff /proc/self/status"
	eq "exit ($SB_ERR)" "$SB_RC" 0
	contains "uid" "$SB_OUT" "$auid"
	contains "groups reset" "$SB_OUT" "$(id -g "$agent")"$'\n'
	contains "home" "$SB_OUT" "$(getent passwd "$agent" | cut -d: -f6) $agent"
	# The project is mounted idmapped: what the agent makes is its owner's.
	eq "owner on host" "$(stat -c %u "$WORK/proj/by-agent")" "$(stat -c %u "$WORK/proj")"
	contains "no caps" "$SB_OUT" "CapEff:	0000000000000000"
}

t_root_privileged_run_with_missing_user_is_refused() {
	p=$(policy nouser <<<$'[sandbox]\nuser = no-such-cordon-user\n')
	sb "$p" -- /bin/true
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "no-such-cordon-user"
	chmod 0777 "$WORK/proj"
	sed -i "s/^user = no-such-cordon-user$/user = ${CORDON_AGENT_USER:?}/" "$p"
	sb "$p" -- /bin/true
	eq "control: an existing user, it runs ($(show))" "$SB_RC" 0
}

t_environment_is_rebuilt() {
	local p
	printf '# comment\nFROM_FILE=f1\nBOTH=file\n' >"$WORK/env"
	p=$(policy env <<<"[env]
keep = KEPT
keep = LC_*
set = BOTH=set
set = EDITOR=vi
file = $WORK/env
")
	KEPT=yes LC_FOO=lc DROPPED=no LD_PRELOAD=/x.so sb "$p" -- /usr/bin/env
	eq "exit" "$SB_RC" 0
	contains "keep" "$SB_OUT" "KEPT=yes"
	contains "keep glob" "$SB_OUT" "LC_FOO=lc"
	contains "file" "$SB_OUT" "FROM_FILE=f1"
	contains "set wins" "$SB_OUT" "BOTH=set"
	contains "set" "$SB_OUT" "EDITOR=vi"
	contains "HOME" "$SB_OUT" "HOME=$MYHOME"
	contains "USER" "$SB_OUT" "USER=$ME"
	contains "PATH" "$SB_OUT" "PATH=/usr/local/bin:/usr/bin:/bin"
	lacks "dropped" "$SB_OUT" "DROPPED"
	lacks "LD_PRELOAD dropped" "$SB_OUT" "LD_PRELOAD"
}

t_no_file_descriptors_leak_into_sandbox() {
	local p
	p=$(policy fds </dev/null)
	exec 7</etc/hostname
	sh_in "$p" 'ls /proc/self/fd'
	exec 7<&-
	eq "only 0 1 2 and ls's own" "$(echo $SB_OUT)" "0 1 2 3"
}

t_signals_are_forwarded_to_the_command() {
	local p pid
	p=$(policy fwd </dev/null)
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$p" -- /bin/sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done') >"$WORK/fwd.out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do grep -q ready "$WORK/fwd.out" 2>/dev/null && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid
	eq "exit status from trap" "$?" 7
}

# Each signal of the forwarded list (init.c add_forwarded_signals), sent
# to the launcher, reaches the command through pid 1. env resets the
# dispositions: a background job of this shell starts with SIGINT and
# SIGQUIT ignored.
t_each_forwarded_signal_reaches_the_command() {
	local p pid sig rc
	p=$(policy fwdall </dev/null)
	for sig in INT TERM HUP QUIT USR1 USR2; do
		rm -f "$WORK/fwd.out"
		(cd "$WORK/proj" && exec env --default-signal "$CORDON" run --policy "$p" -- /bin/sh -c "trap 'exit 7' $sig; echo ready; while :; do sleep 0.1; done") >"$WORK/fwd.out" 2>&1 &
		pid=$!
		for _ in $(seq 50); do grep -q ready "$WORK/fwd.out" 2>/dev/null && break; sleep 0.1; done
		contains "SIG$sig: the command started" "$(cat "$WORK/fwd.out")" "ready"
		kill -"$sig" $pid
		wait $pid
		rc=$?
		eq "SIG$sig: exit status from the command's trap" "$rc" 7
	done
}

t_timeout_ends_sandbox_with_124() {
	local p start end
	p=$(policy tmo <<<$'[limits]\ntimeout = 1s\n')
	start=$(date +%s)
	# A duration no other test (or parallel run) uses, to find them by.
	local tag=1000.$$
	sb "$p" -- /bin/sh -c "sleep $tag & sleep $tag"
	end=$(date +%s)
	eq "exit" "$SB_RC" 124
	[ $((end - start)) -lt 10 ] || failed "took $((end - start))s"
	pgrep -f "sleep $tag" >/dev/null && failed "a sleep survived"
	true
}

t_sigkill_of_launcher_leaves_nothing_behind() {
	local p pid pids
	p=$(policy kill </dev/null)
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$p" -- /bin/sh -c "sleep 777.${$}1 & sleep 777.${$}2 & echo started; wait") >"$WORK/k.out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do grep -q started "$WORK/k.out" 2>/dev/null && break; sleep 0.1; done
	pids=$(pgrep -f "sleep 777\\.$$[12]" | tr '\n' ' ')
	[ -n "$pids" ] || failed "sandboxed sleeps not found on the host"
	kill -KILL $pid
	wait $pid 2>/dev/null
	for _ in $(seq 50); do
		local alive=""
		for q in $pids; do kill -0 "$q" 2>/dev/null && alive="$alive $q"; done
		[ -z "$alive" ] && return 0
		sleep 0.1
	done
	failed "processes survived: $alive"
}

t_interactive_shell_has_tty_and_job_control() {
	local p
	[ -x "$HELPERS/ptyrun" ] || failed "ptyrun helper missing"
	p=$(policy tty </dev/null)
	cd "$WORK/proj" || failed "cd"
	"$HELPERS/ptyrun" -t 20 -- "$CORDON" run --policy "$p" -- /bin/bash --norc --noprofile -i >"$WORK/tty.out" 2>&1 <<'EOF'
sleep 500
send PS1='P> '\n
expect P> 
send sleep 30 &\n
expect P> 
send jobs; echo "flags=$-"; [ -t 0 ] && echo stdin-is-tty; tty\n
expect stdin-is-tty
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
	contains "job listed" "$out" "Running"
	contains "monitor mode" "$out" "flags=himBHs"
	lacks "no job control warning" "$out" "no job control"
	contains "shell survived Ctrl-C" "$out" "after-interrupt"
	contains "ttyname resolves" "$out" "/dev/console"
}

t_audit_log_records_start_and_exit() {
	local p log=$WORK/audit.jsonl
	p=$(policy audit <<<"[audit]
log = $log
")
	sb "$p" -- /bin/sh -c 'exit 5'
	eq "exit" "$SB_RC" 5
	contains "start" "$(cat "$log")" '"event":"sandbox_start"'
	contains "exit" "$(cat "$log")" '"event":"sandbox_exit"'
	contains "status" "$(cat "$log")" '"status":5'
	contains "policy name" "$(cat "$log")" '"policy":"audit"'
	contains "uid" "$(cat "$log")" "\"uid\":$MYUID"
}

# A run the plan refuses leaves a record of who tried what (under sudo:
# a hostile invoker's attempts), and nothing ran. Control: from the
# project, a start and an exit and no refusal.
t_audit_log_records_a_refused_run() {
	local p log=$WORK/audit-refused.jsonl
	mkdir -p "$WORK/elsewhere"
	p=$(policy auditrefused <<<"[audit]
log = $log
")
	SB_CWD=$WORK/elsewhere sb "$p" -- /bin/echo ran
	eq "refused ($(show))" "$SB_RC" 125
	lacks "did not run" "$SB_OUT" "ran"
	eq "one record ($(cat "$log"))" "$(wc -l <"$log")" 1
	python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["event"] == "sandbox_refused", r
assert r["uid"] == int(sys.argv[2]) and r["policy"] == "auditrefused", r
assert r["cwd"] == sys.argv[3] and r["argv"] == ["/bin/echo", "ran"], r
assert "outside the allowed project roots" in r["reason"], r
assert r["policy_sha256"] and len(r["policy_sha256"]) == 64 and r["runner"] is False, r
' "$log" "$MYUID" "$WORK/elsewhere" || failed "the refused record: $(cat "$log")"
	: >"$log"
	sb "$p" -- /bin/echo ran
	eq "control: runs ($(show))" "$SB_RC" 0
	lacks "control: no refusal" "$(cat "$log")" "sandbox_refused"
	contains "control: started" "$(cat "$log")" '"event":"sandbox_start"'
}

# ---- doctor ----

# doctor reads the mount table (libmount) for each project root of the
# policy a run uses by default, and says what filesystem it is on.
t_doctor_reports_the_filesystem_of_each_project_root() {
	local out rc fstype target
	mkdir -p "$WORK/pol"
	policy default </dev/null >/dev/null
	mv "$WORK/default.ini" "$WORK/pol/default.ini"
	read -r fstype target < <(findmnt -n -o FSTYPE,TARGET -T "$WORK/proj")
	[ -n "$fstype" ] || failed "findmnt found no mount for $WORK/proj"
	out=$(cd "$WORK/proj" && CORDON_POLICY_PATH=$WORK/pol "$CORDON" doctor 2>"$WORK/doctor.err")
	rc=$?
	eq "exit ($out $(cat "$WORK/doctor.err"))" "$rc" 0
	contains "the root, its filesystem and mount" "$out" "ok    project_root     $WORK/proj: $fstype on $target (optional)"
	out=$(cd "$WORK/proj" && CORDON_POLICY_PATH=$WORK/pol "$CORDON" doctor --json 2>>"$WORK/doctor.err")
	eq "--json exit" "$?" 0
	contains "--json" "$out" "{\"name\":\"project_root\",\"ok\":true,\"required\":false,\"detail\":\"$WORK/proj: $fstype on $target\""
	# Control: a default policy with a problem is named, and no root is
	# reported as checked.
	printf '[filesystem]\nbogus = 1\n' >>"$WORK/pol/default.ini"
	out=$(cd "$WORK/proj" && CORDON_POLICY_PATH=$WORK/pol "$CORDON" doctor 2>>"$WORK/doctor.err")
	eq "control: exit" "$?" 0
	contains "control: the policy's problem" "$out" "project_root     policy default: $WORK/pol/default.ini:"
	contains "control: the policy's problem" "$out" "unknown key 'bogus'"
	lacks "control: no root checked" "$out" "$WORK/proj: $fstype"
}

# As root, doctor tries an idmapped mount of each project root (a root run
# with user = NAME needs one); unprivileged it says it cannot.
t_doctor_tries_an_idmapped_mount_of_each_project_root() {
	local out
	mkdir -p "$WORK/pol"
	policy default </dev/null >/dev/null
	mv "$WORK/default.ini" "$WORK/pol/default.ini"
	out=$(cd "$WORK/proj" && CORDON_POLICY_PATH=$WORK/pol "$CORDON" doctor 2>&1)
	eq "exit ($out)" "$?" 0
	if [ $IS_ROOT -eq 0 ]; then
		contains "unprivileged: not tried" "$out" "ok    idmapped_mounts  not tried: they are made as root"
		lacks "unprivileged: no root tried" "$out" "project_idmap"
		return 0
	fi
	contains "a mapping is made" "$out" "ok    idmapped_mounts  making a mapping works"
	contains "the root is tried" "$out" "ok    project_idmap    $WORK/proj: an idmapped mount works ("
	out=$(cd "$WORK/proj" && CORDON_POLICY_PATH=$WORK/pol "$CORDON" doctor --json 2>&1)
	eq "--json exit" "$?" 0
	contains "--json" "$out" "{\"name\":\"project_idmap\",\"ok\":true,\"required\":false,\"detail\":\"$WORK/proj: an idmapped mount works ("
	# A root on ramfs, which cannot be idmapped, in a mount namespace of
	# the test's own.
	out=$(cd / && unshare -m --propagation private sh -c "mount -t ramfs cordon-idmap-test '$WORK/proj' &&
		cd '$WORK/proj' && CORDON_POLICY_PATH='$WORK/pol' '$CORDON' doctor" 2>&1)
	eq "ramfs: exit (optional) ($out)" "$?" 0
	contains "ramfs: the root fails" "$out" "warn  project_idmap    $WORK/proj: an idmapped mount FAILED on ramfs"
	contains "ramfs: what it costs" "$out" "without it: a root run with user = NAME refuses a project here"
}

# A path or an argument may hold any byte; an audit record is JSON, which
# is UTF-8: a byte outside a well-formed sequence becomes U+FFFD (as in
# explain --json, policy/util.c buf_json_str), so every line parses.
t_audit_records_are_json_whatever_the_bytes() {
	local p log=$WORK/audit-bytes.jsonl dir arg
	dir=$WORK/proj/$'d\xff\xfe'
	arg=$'a\xffb\xc3'
	mkdir -p "$dir"
	p=$(policy auditbytes <<<"[audit]
log = $log
")
	SB_CWD=$dir sb "$p" -- /bin/echo "$arg"
	eq "exit ($(show))" "$SB_RC" 0
	SB_CWD=$dir sb "$p" -- "/nonexistent/$arg"
	eq "not found" "$SB_RC" 127
	eq "four records" "$(wc -l <"$log")" 4
	python3 -c '
import json, sys
want_cwd = sys.argv[2]
records = [json.loads(line) for line in open(sys.argv[1], "rb")]
starts = [r for r in records if r["event"] == "sandbox_start"]
assert [r["cwd"] for r in starts] == [want_cwd] * 2, starts
assert starts[0]["argv"] == ["/bin/echo", "a\ufffdb\ufffd"], starts[0]
exits = [r for r in records if r["event"] == "sandbox_exit"]
assert exits[1]["detail"] == "/nonexistent/a\ufffdb\ufffd: command not found", exits[1]
' "$log" "$WORK/proj/d"$'\xef\xbf\xbd\xef\xbf\xbd' ||
		failed "a record is not valid JSON, or not what was run: $(cat -v "$log")"
}

# ---- friction (issue 16 point 5) ----

# rw_try: a read-write bind where the host has the path, skipped where it
# has not. Controls: the same directory through ro_try is not writable,
# and rw of the missing path refuses the run.
t_rw_try_binds_what_exists_read_write_and_skips_the_rest() {
	local p
	mkdir -p "$WORK/cache"
	p=$(policy rwtry <<EOF
rw_try = $WORK/cache
rw_try = $WORK/absent-cache
EOF
)
	sb "$p" -- /bin/sh -c "echo kept >$WORK/cache/f && test ! -e $WORK/absent-cache && echo skipped"
	eq "exit ($(show))" "$SB_RC" 0
	eq "the missing one is not there" "$SB_OUT" "skipped"
	eq "written through to the host" "$(cat "$WORK/cache/f")" "kept"
	sed -i "s|^rw_try = $WORK/cache\$|ro_try = $WORK/cache|" "$p"
	sb "$p" -- /bin/sh -c "echo no >$WORK/cache/g"
	not "control: ro_try is read-only ($(show))" test "$SB_RC" -eq 0
	not "control: nothing written" test -e "$WORK/cache/g"
	sed -i "s|^rw_try = $WORK/absent-cache\$|rw = $WORK/absent-cache|" "$p"
	sb "$p" -- /bin/true
	eq "control: rw of a missing path refuses ($(show))" "$SB_RC" 125
	contains "control: names it" "$SB_ERR" "$WORK/absent-cache"
}

# explain leads with what a person checks first and folds the seccomp
# rule list into one line; --verbose lists it. A policy without a command
# is explained with a note (run still refuses it: t_no_command_is_refused).
t_explain_leads_with_project_and_folds_seccomp_unless_verbose() {
	local p order
	p=$(policy explainorder <<<$'[seccomp]\nprofile = default\n')
	cli explain "$p"
	eq "exit ($(show))" "$SB_RC" 0
	order=$(grep -n -E '^(project|mounts,|network|environment|namespaces|landlock|seccomp) ' <<<"$SB_OUT" |
		cut -d: -f2 | awk '{print $1}' | tr '\n' ' ')
	eq "the order of the sections" "$order" "project mounts, network environment namespaces landlock seccomp "
	contains "seccomp folded to one line" "$SB_OUT" "rules, default allow; other ABIs (i386, x32): ENOSYS (--verbose lists the rules)"
	lacks "no rule listed" "$SB_OUT" "seccomp-profiles/default.profile:"
	cli explain "$p" --verbose
	eq "--verbose: exit ($(show))" "$SB_RC" 0
	contains "--verbose: the rules" "$SB_OUT" "seccomp-profiles/default.profile:"
	contains "--verbose: a rule" "$SB_OUT" "reboot"
	cli explain "$p" --json
	eq "--json: exit ($(show))" "$SB_RC" 0
	contains "--json: the rules, without --verbose" "$SB_OUT" '"syscall":"reboot"'
	lacks "no command: not refused" "$SB_OUT" '"refusal":"'
	cli explain "$p"
	lacks "no command: not REFUSED" "$SB_OUT" "REFUSED"
	contains "no command: a note" "$SB_OUT" "note         no command: run needs CMD or [sandbox] command"
	contains "no command: the plan is shown" "$SB_OUT" "$WORK/proj"
	sb "$p"
	eq "no command: run refuses ($(show))" "$SB_RC" 125
	contains "no command: run says why" "$SB_ERR" "no command: give one after -- or set [sandbox] command"
	cli explain "$p" -- /bin/true
	lacks "control: with a command, no note" "$SB_OUT" "no command"
	contains "control: the command" "$SB_OUT" "command      /bin/true"
}

# git identity: the invoker's user.name and user.email (from their git
# config files, as git on the host reads them) reach the sandbox as
# GIT_AUTHOR_*/GIT_COMMITTER_*; nothing else of those files does. The
# files are the password database's home's (~/.gitconfig, which wins)
# and $XDG_CONFIG_HOME/git/config, written here.
t_git_commit_inside_carries_the_invokers_identity_only() {
	local p want
	mkdir -p "$WORK/xdg/git"
	printf '[user]\n\tname = Cordon Xdg\n\temail = xdg@cordon.test\n[credential]\n\thelper = store --file=/x\n[alias]\n\tleakalias = !echo leaked\n' \
		>"$WORK/xdg/git/config"
	export XDG_CONFIG_HOME=$WORK/xdg
	# What git on the host would commit with, every config file read.
	want="$(HOME=$MYHOME git config --get user.name) <$(HOME=$MYHOME git config --get user.email)>"
	contains "control: git on the host sees the helper" "$(HOME=$MYHOME git config --list)" "credential.helper=store"
	git init -q . || failed "git init"
	p=$(policy gitid </dev/null)
	sb "$p" -- /bin/sh -c 'echo x >f && git add f && git commit -q -m one && git log -1 --format="%an <%ae>|%cn <%ce>" &&
		echo "config: $(git config --list 2>&1)"; echo "user.name inside: [$(git config user.name)]"'
	eq "exit ($(show))" "$SB_RC" 0
	contains "author and committer are the invoker's" "$SB_OUT" "$want|$want"
	lacks "no credential helper of the invoker's inside" "$SB_OUT" "helper=store"
	lacks "no alias inside" "$SB_OUT" "leakalias"
	contains "control: no git config inside names the user" "$SB_OUT" "user.name inside: []"
	cli explain "$p"
	contains "explain shows it" "$SB_OUT" "GIT_AUTHOR_NAME=${want% <*}"
	# The policy's own setting wins.
	p=$(policy gitid2 <<<$'[env]\nset = GIT_AUTHOR_NAME=Policy Bot\n')
	sb "$p" -- /bin/sh -c 'echo y >f && git commit -q -am two && git log -1 --format="%an|%cn"'
	eq "policy's: exit ($(show))" "$SB_RC" 0
	eq "policy's: the author is the policy's" "$SB_OUT" "Policy Bot|${want% <*}"
}

# A command the host has but the sandbox does not show: 127, and the
# message says where it is and which key shows it. Controls: a command
# the host lacks too keeps the plain message; bound but off the
# sandbox's PATH, the message says PATH; bound and on PATH, it runs.
t_command_only_on_the_host_exits_127_naming_the_key_to_add() {
	local p
	mkdir -p "$WORK/hostbin"
	printf '#!/bin/sh\necho tool ran\n' >"$WORK/hostbin/mytool"
	chmod 0755 "$WORK/hostbin/mytool"
	p=$(policy hosttool </dev/null)
	PATH="$WORK/hostbin:$PATH" sb "$p" -- mytool
	eq "exit ($(show))" "$SB_RC" 127
	eq "the message" "$SB_ERR" "cordon: mytool: not found in the sandbox (it is $WORK/hostbin/mytool on the host; add: ro = $WORK/hostbin or ro_try = $WORK/hostbin)"
	PATH="$WORK/hostbin:$PATH" sb "$p" -- nonesuch-cordon-tool
	eq "control: absent everywhere: exit ($(show))" "$SB_RC" 127
	eq "control: absent everywhere: the message" "$SB_ERR" "cordon: nonesuch-cordon-tool: command not found"
	echo "ro = $WORK/hostbin" >>"$p"
	PATH="$WORK/hostbin:$PATH" sb "$p" -- mytool
	eq "bound, not on PATH: exit ($(show))" "$SB_RC" 127
	contains "bound, not on PATH: the message" "$SB_ERR" "cordon: mytool: not found in the sandbox's PATH ($WORK/hostbin/mytool is there"
	printf '[env]\nset = PATH=%s:/usr/bin:/bin\n' "$WORK/hostbin" >>"$p"
	PATH="$WORK/hostbin:$PATH" sb "$p" -- mytool
	eq "control: bound and on PATH: exit ($(show))" "$SB_RC" 0
	eq "control: it ran" "$SB_OUT" "tool ran"
}

# ---- command_sha256 and the no-set-ID layer (issue 17) ----

sha() { sha256sum "$1" | cut -d' ' -f1; }

# pinned NAME HASH: a policy pinning HASH (as root, user = root: the
# command reads the project's files), with an audit log in $WORK.
pinned() {
	local who=""
	[ $IS_ROOT -eq 1 ] && who="user = root"
	policy "$1" <<EOF
[sandbox]
$who
command_sha256 = $2

[audit]
log = $WORK/$1.audit
EOF
}

t_command_sha256_right_hash_runs_and_passes_the_status() {
	local p
	p=$(pinned right "$(sha /bin/sh)")
	sb "$p" -- /bin/sh -c 'exit 7'
	eq "the pinned file ran: exit ($(show))" "$SB_RC" 7
	eq "nothing said" "$SB_ERR" ""
}

t_command_sha256_wrong_hash_exits_125_with_one_line_and_is_audited() {
	local p want
	p=$(pinned wrong "$(sha /bin/true)")
	sb "$p" -- /bin/false
	eq "exit ($(show))" "$SB_RC" 125
	want="command_sha256: /bin/false has sha256 $(sha /bin/false), the policy pins $(sha /bin/true)"
	eq "the line" "$SB_ERR" "cordon: $want"
	contains "audited" "$(cat "$WORK/wrong.audit")" '"reason":"setup_failed","detail":"'"$want"'"'
	sb "$p" -- /bin/true
	eq "control: the pinned file runs ($(show))" "$SB_RC" 0
}

t_command_sha256_tampered_command_is_refused() {
	local p
	cp /bin/true "$WORK/proj/tool"
	p=$(pinned tampered "$(sha "$WORK/proj/tool")")
	sb "$p" -- ./tool
	eq "control: as pinned, it runs ($(show))" "$SB_RC" 0
	printf '#!/bin/sh\necho tampered\n' >"$WORK/proj/tool"
	sb "$p" -- ./tool
	eq "tampered: exit ($(show))" "$SB_RC" 125
	contains "tampered: the line" "$SB_ERR" "command_sha256: ./tool has sha256 $(sha "$WORK/proj/tool"), the policy pins"
	lacks "tampered: it did not run" "$SB_OUT" "tampered"
}

t_command_sha256_bare_name_is_hashed_as_found_in_path() {
	local p
	p=$(pinned bare "$(sha /usr/bin/env)")
	sb "$p" -- env
	eq "the file PATH names ran ($(show))" "$SB_RC" 0
	contains "it is env" "$SB_OUT" "HOME="
	p=$(pinned bareother "$(sha /bin/true)")
	sb "$p" -- env
	eq "another pin: exit ($(show))" "$SB_RC" 125
	contains "the file found in PATH is named" "$SB_ERR" "/env has sha256 $(sha /usr/bin/env), the policy pins"
	sb "$p" -- no-such-cordon-command
	eq "control: missing stays 127 ($(show))" "$SB_RC" 127
}

t_command_sha256_script_runs_with_its_hash() {
	local p
	printf '#!/bin/sh\necho "script ran: $*"\nexit 3\n' >"$WORK/proj/s.sh"
	chmod 0755 "$WORK/proj/s.sh"
	p=$(pinned script "$(sha "$WORK/proj/s.sh")")
	sb "$p" -- ./s.sh a b
	eq "exit ($(show))" "$SB_RC" 3
	eq "it ran" "$SB_OUT" "script ran: a b"
	chmod 0644 "$WORK/proj/s.sh"
	sb "$p" -- ./s.sh a b
	eq "control: not executable stays 126 ($(show))" "$SB_RC" 126
}

t_check_rejects_a_bad_command_sha256() {
	printf '[sandbox]\nname = x\ncommand_sha256 = xyz\n' >"$WORK/badsha.ini"
	"$CORDON" check "$WORK/badsha.ini" >"$WORK/o" 2>&1
	eq "check exit status" "$?" 2
	contains "diagnostic" "$(cat "$WORK/o")" "$WORK/badsha.ini:3: command_sha256: expected the file's SHA-256, 64 hexadecimal digits"
	printf '[sandbox]\nname = x\ncommand_sha256 = %s\n' "$(sha /bin/true | tr a-f A-F)" >"$WORK/badsha.ini"
	"$CORDON" check "$WORK/badsha.ini" >"$WORK/o" 2>&1
	eq "control: 64 hex digits, either case ($(cat "$WORK/o"))" "$?" 0
}

# Idmapped projects (the project is cordon-test's, the command runs as
# the agent): the command cannot make a set-ID file, not even one of its
# own in /tmp, while other modes work. Control: the agent's own project,
# nothing idmapped, no layer.
t_root_idmapped_projects_refuse_set_id_bits() {
	local agent=${CORDON_AGENT_USER:?} p script
	p=$(policy nosetid <<<"[sandbox]
user = $agent

[seccomp]
profile = none
")
	chown cordon-test: "$WORK/proj"
	cli explain --json "$p"
	eq "explain ($SB_ERR)" "$SB_RC" 0
	contains "explain: the layer" "$SB_OUT" '"profile":"none","no_setid":true'
	script='cd /tmp && touch f && chmod 755 f && echo chmod-755-ok; chmod u+s f 2>&1; chmod g+s f 2>&1; stat -c %a f'
	sh_in "$p" "$script"
	contains "chmod 755 works" "$SB_OUT" "chmod-755-ok"
	contains "chmod u+s refused" "$SB_OUT" "changing permissions of 'f': Operation not permitted"
	eq "no set-ID bit was set" "${SB_OUT##*$'\n'}" "755"
	chown "$agent": "$WORK/proj"
	cli explain --json "$p"
	contains "control: explain" "$SB_OUT" '"profile":"none","no_setid":false'
	sh_in "$p" "$script"
	eq "control: the agent's own project, set-ID bits allowed" "${SB_OUT##*$'\n'}" "6755"
}

run_tests "${1:-}"
