#!/usr/bin/env bash
# The project the agent works in: which directory is mounted, its guards
# (mask, protect) with placeholders shared by concurrent sandboxes and
# cleaned up after SIGKILL, git's other doors, and symlinks a sandbox could
# have planted. Runs as root and as an unprivileged user (run-as.sh).
. "$(dirname "$0")/lib.sh"

SRC=$WORK/src

# Every test starts with an empty $SRC (the runner makes $WORK/proj anew).
per_test_setup() {
	trap stop_background EXIT
	rm -rf "$SRC" "$WORK/pwned" "$WORK/data" "$WORK/rootonly" "$WORK/fifo" "$WORK/eof" "$WORK/linked" "$WORK/real" \
		"$WORK/mono"
	mkdir -p "$SRC"
}

gitq() {
	git -c user.name=cordon-test -c user.email=test@example.org -c init.defaultBranch=main \
		-c protocol.file.allow=always -c safe.directory='*' "$@"
}

# mkrepo DIR: a git repository with one commit.
mkrepo() {
	mkdir -p "$1" && (cd "$1" && gitq init -q && echo hi >f && gitq add f && gitq commit -qm init) ||
		failed "mkrepo $1"
}

# The guards of git's doors, as the shipped policies have them.
GIT_GUARDS='protect = .git/hooks/
protect = .git/config
protect = .git/commondir
protect = .git/config.worktree
protect = .git/info/attributes
protect = .git/objects/info/alternates'

# ppolicy NAME: the base policy with project_root = $SRC, plus stdin.
ppolicy() {
	local f="$WORK/$1.ini" rest no_user=
	rest=$(cat)
	grep -q '^user *=' <<<"$rest" && no_user=1
	{
		NO_BASE_USER=$no_user base_policy "$1" | sed "s|^project_root = .*|project_root = $SRC|"
		printf '%s\n' "$rest"
	} >"$f"
	echo "$f"
}

# in_project DIR POLICY SCRIPT: runs a shell script in a sandbox started
# in DIR.
in_project() {
	SB_CWD=$1 sb "$2" -- /bin/sh -c "$3"
}

# Inside, git must work without a config file of its own.
GITIN='git -c user.name=agent -c user.email=agent@example.org -c safe.directory=*'

# ---- which directory is mounted ----

t_only_the_project_is_mounted_not_its_siblings() {
	mkrepo "$SRC/app"
	mkdir -p "$SRC/other"
	echo secret >"$SRC/other/notes"
	echo top >"$SRC/top-level-file"
	local p
	p=$(ppolicy only <<<"mask = .env")
	echo APP_SECRET=1 >"$SRC/app/.env"
	in_project "$SRC/app" "$p" "cat $SRC/other/notes 2>&1; ls $SRC; cat .env; echo x >new && echo wrote"
	eq "exit" "$SB_RC" 0
	lacks "sibling project" "$SB_OUT" "secret"
	lacks "root's own files" "$SB_OUT" "top-level-file"
	lacks "masked .env of the project" "$SB_OUT" "APP_SECRET"
	contains "project writable" "$SB_OUT" "wrote"
	eq "written on the host" "$(cat "$SRC/app/new")" "x"
}

t_starting_in_a_subdirectory_mounts_the_work_tree_top() {
	mkrepo "$SRC/app"
	mkdir -p "$SRC/app/pkg/deep"
	local p
	p=$(ppolicy sub </dev/null)
	in_project "$SRC/app/pkg/deep" "$p" "pwd; $GITIN rev-parse --show-toplevel; $GITIN status --short; echo done"
	eq "exit" "$SB_RC" 0
	contains "cwd kept" "$SB_OUT" "$SRC/app/pkg/deep"
	contains "git finds its repository" "$SB_OUT" "$SRC/app"
	contains "git status works" "$SB_OUT" "done"
	lacks "no git error" "$SB_OUT$SB_ERR" "not a git repository"
}

t_without_git_only_the_working_directory_is_mounted() {
	mkdir -p "$SRC/plain/a/b"
	echo sibling >"$SRC/plain/a/sib"
	local p
	p=$(ppolicy plain </dev/null)
	in_project "$SRC/plain/a/b" "$p" "cat ../sib 2>&1; touch x && echo wrote"
	eq "exit" "$SB_RC" 0
	lacks "parent hidden" "$SB_OUT" "sibling"
	contains "cwd writable" "$SB_OUT" "wrote"
}

t_project_is_never_above_the_root_that_holds_the_cwd() {
	mkrepo "$WORK/mono"
	mkdir -p "$WORK/mono/pkgs/one"
	echo outside >"$WORK/mono/secret"
	local p
	p=$(policy mono <<<"project_root = $WORK/mono/pkgs")
	SB_CWD=$WORK/mono/pkgs/one sb "$p" -- /bin/sh -c "cat $WORK/mono/secret 2>&1; ls $WORK/mono/pkgs; echo ran"
	eq "exit" "$SB_RC" 0
	lacks "the repository above the root stays hidden" "$SB_OUT" "outside"
	cordon_explain "$p" "$WORK/mono/pkgs/one"
	contains "explain: chosen as the working directory" "$EXPLAIN" "project      $WORK/mono/pkgs/one"
}

cordon_explain() { # POLICY CWD: sets EXPLAIN
	EXPLAIN=$(cd "$2" && "$CORDON" explain "$1" 2>&1)
	no_sanitizer_report "$EXPLAIN"
}

t_explain_shows_the_project_and_why() {
	mkrepo "$SRC/app"
	mkdir -p "$SRC/app/sub"
	local p
	p=$(ppolicy why </dev/null)
	cordon_explain "$p" "$SRC/app/sub"
	contains "project" "$EXPLAIN" "project      $SRC/app"
	contains "why" "$EXPLAIN" "top of the git work tree"
	contains "git dir" "$EXPLAIN" "git dir    $SRC/app/.git"
	local js
	js=$(cd "$SRC/app/sub" && "$CORDON" explain "$p" --json)
	contains "json project" "$js" "\"projects\":[{\"dir\":\"$SRC/app\""
}

t_project_option_names_projects_and_only_narrows() {
	mkrepo "$SRC/a"
	mkrepo "$SRC/b"
	mkrepo "$SRC/c"
	echo c-secret >"$SRC/c/s"
	local p
	p=$(ppolicy named </dev/null)
	SB_CWD=$SRC/a sb "$p" --project "$SRC/a" --project "$SRC/b" -- /bin/sh -c "touch $SRC/a/x $SRC/b/y && echo both; cat $SRC/c/s 2>&1; true"
	eq "exit" "$SB_RC" 0
	contains "both named projects writable" "$SB_OUT" "both"
	lacks "third project hidden" "$SB_OUT" "c-secret"
	SB_CWD=$SRC/a sb "$p" --project /etc -- /bin/true
	eq "outside a root: refused" "$SB_RC" 125
	contains "message" "$SB_ERR" "outside the allowed project roots"
	SB_CWD=$SRC/a sb "$p" --project "$SRC/b" -- /bin/true
	eq "cwd outside the named projects: refused" "$SB_RC" 125
	contains "message" "$SB_ERR" "outside the projects named with --project"
}

t_cwd_outside_lists_the_allowed_roots() {
	mkdir -p "$SRC" "$WORK/elsewhere"
	local p
	p=$(ppolicy outside <<<"project_root = $WORK/also")
	SB_CWD=$WORK/elsewhere sb "$p" -- /bin/true
	eq "exit" "$SB_RC" 125
	contains "message" "$SB_ERR" "cwd $WORK/elsewhere is outside the allowed project roots ($SRC, $WORK/also)"
}

t_missing_root_is_skipped_with_a_note() {
	mkdir -p "$SRC/app"
	local p
	p=$(ppolicy missing <<<"project_root = $WORK/does-not-exist")
	SB_CWD=$SRC/app sb "$p" -- /bin/true
	eq "runs" "$SB_RC" 0
	cordon_explain "$p" "$SRC/app"
	contains "note" "$EXPLAIN" "project_root $WORK/does-not-exist does not exist: skipped"
}

t_symlinked_root_is_refused_only_when_the_cwd_is_in_it() {
	mkdir -p "$SRC/app" "$WORK/real/proj"
	ln -s "$WORK/real" "$WORK/linked"
	[ $IS_ROOT -eq 1 ] && chown -h nobody "$WORK/linked"
	local p
	p=$(ppolicy linked <<<"project_root = $WORK/linked")
	SB_CWD=$SRC/app sb "$p" -- /bin/true
	eq "cwd in another root: runs" "$SB_RC" 0
	contains "warned" "$SB_ERR" "project_root $WORK/linked refused"
	SB_CWD=$WORK/real/proj sb "$p" -- /bin/true
	eq "cwd in the refused root: 125" "$SB_RC" 125
	contains "says why" "$SB_ERR" "is a symlink owned by uid"
}

t_submodule_git_directory_is_mounted_and_guarded() {
	mkrepo "$SRC/lib"
	mkrepo "$SRC/super"
	(cd "$SRC/super" && gitq submodule -q add "$SRC/lib" lib && gitq commit -qm sub) >/dev/null 2>&1 ||
		failed "submodule add"
	[ -d "$SRC/super/.git/modules/lib" ] || failed "no absorbed git directory"
	local p
	p=$(ppolicy submod <<<"$GIT_GUARDS")
	in_project "$SRC/super/lib" "$p" "$GITIN status --short && echo status-ok; echo x >>f; $GITIN commit -qam change && echo commit-ok; echo evil >$SRC/super/.git/modules/lib/hooks/pre-commit 2>&1 || echo hook-refused; echo '[core]' >>$SRC/super/.git/modules/lib/config 2>/dev/null || echo config-refused"
	eq "exit" "$SB_RC" 0
	contains "git status in the submodule" "$SB_OUT" "status-ok"
	contains "commit in the submodule" "$SB_OUT" "commit-ok"
	contains "its hooks are protected" "$SB_OUT" "hook-refused"
	contains "its config is protected" "$SB_OUT" "config-refused"
	[ -e "$SRC/super/.git/modules/lib/hooks/pre-commit" ] && failed "hook planted on the host"
	true
}

t_superproject_guards_reach_its_submodules() {
	mkrepo "$SRC/lib"
	mkrepo "$SRC/super"
	(cd "$SRC/super" && gitq submodule -q add "$SRC/lib" vendor/lib && gitq commit -qm sub) >/dev/null 2>&1 ||
		failed "submodule add"
	local p
	p=$(ppolicy supermod <<<"$GIT_GUARDS")
	in_project "$SRC/super" "$p" "echo x >.git/modules/vendor/lib/commondir 2>/dev/null || echo commondir-refused; echo x >.git/modules/vendor/lib/hooks/post-checkout 2>/dev/null || echo hook-refused; $GITIN status --short >/dev/null && echo status-ok"
	eq "exit" "$SB_RC" 0
	contains "nested commondir" "$SB_OUT" "commondir-refused"
	contains "nested hooks" "$SB_OUT" "hook-refused"
	contains "git works" "$SB_OUT" "status-ok"
}

t_linked_worktree_mounts_the_common_directory() {
	mkrepo "$SRC/main"
	(cd "$SRC/main" && gitq worktree add -q "$SRC/wt" -b feature) >/dev/null 2>&1 || failed "worktree add"
	local p
	p=$(ppolicy linked-wt <<<"$GIT_GUARDS")
	in_project "$SRC/wt" "$p" "$GITIN status --short && echo status-ok; echo y >f; $GITIN commit -qam wt && echo commit-ok; echo x >$SRC/main/.git/hooks/pre-commit 2>/dev/null || echo hook-refused; echo ../.. >$SRC/main/.git/worktrees/wt/commondir 2>/dev/null || echo wt-commondir-refused; ls $SRC/main 2>&1 | sed 's/^/main:/'"
	eq "exit" "$SB_RC" 0
	contains "git status in the worktree" "$SB_OUT" "status-ok"
	contains "commit in the worktree" "$SB_OUT" "commit-ok"
	contains "common hooks protected" "$SB_OUT" "hook-refused"
	contains "the worktree's commondir protected" "$SB_OUT" "wt-commondir-refused"
	lacks "the main work tree is not mounted" "$SB_OUT" "main:f"
	eq "commit reached the repository" "$(cd "$SRC/main" && gitq log -1 --format=%s feature)" "wt"
}

# The shipped dev policy, used exactly as its comments say: from inside
# ~/src/..., `cordon run --policy dev -- CMD`.
t_shipped_dev_policy_protects_the_project_it_is_started_in() {
	[ -f "$CORDON_EXAMPLES/dev.ini" ] || failed "dev.ini not staged"
	local src=$MYHOME/src made_src=0 tag app other
	[ -d "$src" ] || made_src=1
	tag=cordon-suite-$$-$RANDOM
	app=$src/$tag-app
	other=$src/$tag-other
	mkrepo "$app"
	mkdir -p "$other"
	echo sibling-secret >"$other/notes"
	echo TOKEN=dev-secret >"$app/.env"
	local out err rc
	out=$(cd "$app" && CORDON_POLICY_PATH=$CORDON_EXAMPLES "$CORDON" run --policy dev -- /bin/sh -c "cat .env; cat $other/notes 2>&1; echo hook >.git/hooks/pre-commit 2>&1; echo x >.git/commondir 2>&1; echo '{}' >.mcp.json 2>&1; mkdir -p .vscode/x 2>&1; echo work >file && echo wrote; $GITIN status --porcelain; echo end" 2>"$WORK/dev.err" </dev/null)
	rc=$?
	err=$(cat "$WORK/dev.err")
	no_sanitizer_report "$err"
	local left
	left=$(ls -A "$app")
	rm -rf "$app" "$other"
	[ $made_src -eq 1 ] && rmdir "$src" 2>/dev/null
	eq "exit" "$rc" 0
	lacks "masked .env" "$out" "dev-secret"
	lacks "sibling project" "$out" "sibling-secret"
	[ -e "$app/.git/hooks/pre-commit" ] && failed "hook planted"
	contains "hooks read-only" "$err" "pre-commit: Read-only file system"
	contains "commondir read-only" "$err" "commondir: Read-only file system"
	contains ".mcp.json read-only" "$err" ".mcp.json: Read-only file system"
	contains "the project is writable" "$out" "wrote"
	eq "git sees only the new file" "$(printf '%s\n' "$out" | sed -n '/^wrote$/,/^end$/p')" "wrote
?? file
end"
	eq "nothing left on the host but the project's own files" "$left" ".env
.git
f
file"
}

# ---- placeholders: concurrency, SIGKILL, git ----

PH_GUARDS='mask = .env
protect = .vscode/
protect = .mcp.json
protect = .claude/settings.json'

# await FILE: shell text for inside a sandbox that waits for FILE, at most
# 60 s (a test that failed must not leave a sandbox polling forever).
await() {
	echo "i=0; while [ ! -e $1 ] && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i + 1)); done"
}

# Every sandbox a test started in the background ends with the test,
# passed or failed.
BG_PIDS=()
stop_background() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
}

# start_bg POLICY DIR NAME SCRIPT: a sandbox in the background, its output
# in $WORK/NAME.out and .err; BG_PID is the launcher's pid.
start_bg() {
	local pol=$1 dir=$2 name=$3 script=$4
	(cd "$dir" && exec "$CORDON" run --policy "$pol" -- /bin/sh -c "$script") \
		>"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

wait_for() { # FILE [TRIES [LOG]]
	local i
	for i in $(seq "${2:-100}"); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	failed "timed out waiting for $1${3:+: $(cat "$3")}"
}

placeholders_on_host() {
	local d=$1
	for f in .vscode .mcp.json .claude; do
		[ -e "$d/$f" ] && echo "$f"
	done
	ls -a "$d" | grep -c '^\.cordon-placeholder' | grep -v '^0$'
}

# The last run to leave cleans up; a helper may still be finishing.
wait_no_placeholders() {
	local i
	for i in $(seq 50); do
		[ -z "$(placeholders_on_host "$1")" ] && return 0
		sleep 0.1
	done
	failed "placeholders left on the host: $(placeholders_on_host "$1")"
}

# N sandboxes on one project, started one after the other; each waits until
# told to write. The first to start made the placeholders; once it has
# exited, every other must still be unable to create the guarded paths.
concurrent_guards() {
	local n=$1 i p pids=()
	mkrepo "$SRC/app"
	p=$(ppolicy conc <<<"$PH_GUARDS")
	mkdir -p "$SRC/app/signals"
	for i in $(seq "$n"); do
		start_bg "$p" "$SRC/app" "s$i" "touch signals/ready$i; $(await signals/go$i); echo tasks >.vscode/tasks.json 2>/dev/null && echo WROTE-tasks; echo '{}' >.mcp.json 2>/dev/null && echo WROTE-mcp; mkdir -p .claude && echo x >.claude/settings.json 2>/dev/null && echo WROTE-claude; echo finished"
		pids+=("$BG_PID")
		wait_for "$SRC/app/signals/ready$i"
	done
	[ -d "$SRC/app/.vscode" ] || failed "no placeholder while sandboxes run"
	# The first one leaves; the others go on.
	touch "$SRC/app/signals/go1"
	wait "${pids[0]}"
	for i in $(seq 2 "$n"); do
		touch "$SRC/app/signals/go$i"
		wait "${pids[$((i - 1))]}"
		eq "sandbox $i exit" "$?" 0
		contains "sandbox $i finished" "$(cat "$WORK/s$i.out")" "finished"
		lacks "sandbox $i: guard lost" "$(cat "$WORK/s$i.out")" "WROTE"
	done
	[ -e "$SRC/app/.vscode/tasks.json" ] && failed "tasks.json planted on the host"
	[ -e "$SRC/app/.claude/settings.json" ] && failed ".claude/settings.json planted on the host"
	rm -rf "$SRC/app/signals"
	wait_no_placeholders "$SRC/app"
}

t_two_sandboxes_on_one_project_keep_their_guards() {
	concurrent_guards 2
}

t_ten_sandboxes_on_one_project_keep_their_guards() {
	concurrent_guards 10
}

t_root_mixed_root_and_user_sandboxes_share_placeholders() {
	local u=cordon-test
	id "$u" >/dev/null 2>&1 || failed "test user $u missing"
	mkdir -p "$SRC"
	mkrepo "$SRC/app"
	# The root sandbox's project is idmapped (the owner's files are
	# root's inside): a directory of another owner is not writable there.
	mkdir -p "$SRC/app/signals" && chmod 0777 "$SRC/app/signals"
	chown -R "$u" "$SRC"
	chmod 0755 "$WORK"
	local p pu root_pid user_pid
	p=$(ppolicy mixed <<<"$PH_GUARDS")
	chmod 0644 "$p"
	start_bg "$p" "$SRC/app" root "touch signals/ready-root; $(await signals/go-root); echo x >.mcp.json 2>/dev/null && echo WROTE; echo finished"
	root_pid=$BG_PID
	wait_for "$SRC/app/signals/ready-root"
	(cd "$SRC/app" && exec setpriv --reuid="$u" --regid="$u" --init-groups -- env HOME="$(getent passwd $u | cut -d: -f6)" \
		"$CORDON" run --policy "$p" -- /bin/sh -c "touch signals/ready-user; $(await signals/go-user); echo x >.mcp.json 2>/dev/null && echo WROTE; mkdir .vscode/x 2>/dev/null && echo WROTE; echo finished") \
		>"$WORK/user.out" 2>"$WORK/user.err" </dev/null &
	user_pid=$!
	BG_PIDS+=("$user_pid")
	wait_for "$SRC/app/signals/ready-user" 100 "$WORK/user.err"
	touch "$SRC/app/signals/go-root"
	wait "$root_pid"
	touch "$SRC/app/signals/go-user"
	wait "$user_pid"
	eq "user sandbox exit" "$?" 0
	contains "user sandbox ran" "$(cat "$WORK/user.out")" "finished"
	lacks "user sandbox kept its guards after the root one left" "$(cat "$WORK/user.out")" "WROTE"
	rm -rf "$SRC/app/signals"
	wait_no_placeholders "$SRC/app"
}

t_sigkill_of_the_launcher_leaves_nothing_after_the_next_run() {
	mkrepo "$SRC/app"
	local p pid
	p=$(ppolicy killed <<<"$PH_GUARDS")
	start_bg "$p" "$SRC/app" k "touch ready; sleep 60"
	pid=$BG_PID
	wait_for "$SRC/app/ready"
	[ -e "$SRC/app/.mcp.json" ] || failed "no placeholder while the sandbox runs"
	mkrepo "$SRC/next"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$SRC/app/ready"
	# Any next run (here: in another project), started at once while the
	# killed sandbox may still be going down, removes what it left.
	SB_CWD=$SRC/next sb "$p" -- /bin/true
	eq "next run" "$SB_RC" 0
	wait_no_placeholders "$SRC/app"
	eq "the repository is as it was" "$(cd "$SRC/app" && gitq status --porcelain)" ""
}

t_sigkill_during_setup_leaves_nothing() {
	mkrepo "$SRC/app"
	local p i pid
	p=$(ppolicy setupkill <<<"$PH_GUARDS")
	for i in $(seq 20); do
		(cd "$SRC/app" && exec "$CORDON" run --policy "$p" -- /bin/true) >>"$WORK/setupkill.out" 2>&1 &
		pid=$!
		sleep "0.00$((i % 10))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	SB_CWD=$SRC/app sb "$p" -- /bin/true
	eq "a clean run after the killed ones" "$SB_RC" 0
	wait_no_placeholders "$SRC/app"
	eq "nothing else left" "$(cd "$SRC/app" && gitq status --porcelain --ignored)" ""
}

# A launcher that fails after it made a placeholder removes it before it
# exits (not the next run's sweep): here the first placeholder is made and
# the second cannot be (its directory is read-only: a read-only bind as
# root, whom permissions do not stop, mode 0555 otherwise).
t_placeholders_made_before_a_setup_failure_are_removed() {
	mkdir -p "$SRC/app/a" "$SRC/app/locked"
	local p rc err
	p=$(ppolicy diesetup <<<"mask = a/first
mask = locked/second")
	if [ $IS_ROOT -eq 1 ]; then
		mount --bind "$SRC/app/locked" "$SRC/app/locked" && mount -o remount,bind,ro "$SRC/app/locked" ||
			failed "read-only bind of $SRC/app/locked"
	else
		chmod 0555 "$SRC/app/locked"
	fi
	SB_CWD=$SRC/app sb "$p" -- /bin/sh -c "touch $SRC/app/ran"
	rc=$SB_RC err=$SB_ERR
	if [ $IS_ROOT -eq 1 ]; then
		umount "$SRC/app/locked" || failed "umount $SRC/app/locked"
	else
		chmod 0755 "$SRC/app/locked"
	fi
	eq "exit" "$rc" 125
	contains "names the step" "$err" "locked/second: create placeholder"
	not "the command ran" test -e "$SRC/app/ran"
	not "the first placeholder is left on the host" test -e "$SRC/app/a/first"
	eq "no temporary placeholder left" "$(ls -A "$SRC/app/a" "$SRC/app/locked" | grep -c cordon-placeholder)" 0
	# Control: with the directory writable the same run makes both, and
	# removes both when it ends.
	SB_CWD=$SRC/app sb "$p" -- /bin/sh -c "test -e a/first && test -e locked/second && echo both"
	eq "control: exit ($(show))" "$SB_RC" 0
	eq "control: both placeholders while it ran" "$SB_OUT" "both"
	not "control: removed at the end" test -e "$SRC/app/a/first"
}

t_cleanup_removes_only_what_cordon_made() {
	mkrepo "$SRC/app"
	local p pid
	p=$(ppolicy onlyours <<<"$PH_GUARDS")
	start_bg "$p" "$SRC/app" o "touch ready; $(await go)"
	pid=$BG_PID
	wait_for "$SRC/app/ready"
	# The host (not the sandbox) replaces a placeholder with its own file,
	# and puts something in a placeholder directory.
	rm -f "$SRC/app/.mcp.json" && echo '{"mine":1}' >"$SRC/app/.mcp.json"
	echo keep >"$SRC/app/.vscode/mine.json"
	touch "$SRC/app/go"
	wait "$pid"
	sleep 0.3
	eq "the user's own file stays" "$(cat "$SRC/app/.mcp.json")" '{"mine":1}'
	eq "a directory with the user's file stays" "$(cat "$SRC/app/.vscode/mine.json")" "keep"
	[ -e "$SRC/app/.claude" ] && failed "an untouched placeholder was left"
	true
}

t_git_inside_does_not_see_placeholders() {
	mkrepo "$SRC/app"
	local before p
	before=$(cat "$SRC/app/.git/info/exclude")
	p=$(ppolicy gitclean <<<"$PH_GUARDS
$GIT_GUARDS")
	in_project "$SRC/app" "$p" "ls -a; echo ==; $GITIN status --porcelain --untracked-files=all; echo ==; $GITIN add -A && $GITIN diff --cached --name-only; echo end"
	eq "exit" "$SB_RC" 0
	contains "placeholders exist inside" "$SB_OUT" ".mcp.json"
	eq "git status and git add -A see nothing" "$(printf '%s\n' "$SB_OUT" | sed -n '/^==$/,$p')" "==
==
end"
	eq "the host's exclude file is unchanged" "$(cat "$SRC/app/.git/info/exclude")" "$before"
	eq "the host's repository is clean" "$(cd "$SRC/app" && gitq status --porcelain)" ""
}

t_masked_file_that_git_tracks_is_announced() {
	mkrepo "$SRC/app"
	(cd "$SRC/app" && echo TOKEN=1 >.env && gitq add -f .env && gitq commit -qm env) || failed "commit .env"
	local p
	p=$(ppolicy tracked <<<"mask = .env")
	in_project "$SRC/app" "$p" "cat .env; echo ran"
	eq "exit" "$SB_RC" 0
	contains "stderr says so" "$SB_ERR" "mask .env: git tracks it"
	cordon_explain "$p" "$SRC/app"
	contains "explain says so" "$EXPLAIN" "git tracks it"
	# An untracked masked file is not announced.
	(cd "$SRC/app" && gitq rm -q --cached .env && gitq commit -qm untrack) || failed "untrack"
	in_project "$SRC/app" "$p" "true"
	lacks "untracked: no note" "$SB_ERR" "git tracks it"
}

# ---- git's other doors ----
#
# Each door: the agent writes a file git reads from its directory, and git
# on the host then runs the agent's program (a hook that leaves a marker)
# at the user's next commit. Inside a sandbox with the guard, the write
# fails and the host's commit runs nothing; the control is the same attack
# in a sandbox whose policy lacks that one guard, where the hook runs.

# A hooks directory the agent controls, and a fake common directory whose
# config points git at it.
EVIL_SETUP='mkdir -p evilhooks && printf "#!/bin/sh\ntouch %s\n" >evilhooks/pre-commit && chmod +x evilhooks/pre-commit'

host_commit_runs_hook() { # DIR: commits on the host; true if the marker appeared
	rm -f "$WORK/pwned"
	(cd "$1" && gitq commit -q --allow-empty -m host) >/dev/null 2>&1
	[ -e "$WORK/pwned" ]
}

door_attack() { # DOOR: the shell attack inside the sandbox for that door
	local hooks=$SRC/app/evilhooks
	local setup
	setup=$(printf "$EVIL_SETUP" "$WORK/pwned")
	case "$1" in
	commondir)
		echo "$setup; cp -r .git evilcommon && printf '[core]\n\thooksPath = $hooks\n' >>evilcommon/config && echo ../evilcommon >.git/commondir"
		;;
	config.worktree)
		echo "$setup; printf '[core]\n\thooksPath = $hooks\n' >.git/config.worktree"
		;;
	hooks)
		echo "$setup; cp evilhooks/pre-commit .git/hooks/pre-commit"
		;;
	config)
		echo "$setup; printf '[core]\n\thooksPath = $hooks\n' >>.git/config"
		;;
	esac
}

door_case() { # DOOR GUARD_LINE
	local door=$1 guard=$2 p q
	mkrepo "$SRC/app"
	# config.worktree is read only where the repository enables it (the
	# user's own config, which the sandbox cannot change).
	[ "$door" = config.worktree ] && (cd "$SRC/app" && gitq config extensions.worktreeConfig true)
	p=$(ppolicy "door-$door" <<<"$GIT_GUARDS")
	in_project "$SRC/app" "$p" "$(door_attack "$door") 2>&1; echo attempted"
	eq "$door: sandbox exit" "$SB_RC" 0
	contains "$door: attempted" "$SB_OUT" "attempted"
	host_commit_runs_hook "$SRC/app" && failed "$door: the agent's hook ran on the host"
	# Control: the same attack with only this guard removed.
	rm -rf "$SRC/app"
	mkrepo "$SRC/app"
	[ "$door" = config.worktree ] && (cd "$SRC/app" && gitq config extensions.worktreeConfig true)
	q=$(ppolicy "door-$door-off" <<<"$(printf '%s\n' "$GIT_GUARDS" | grep -vxF "$guard")")
	in_project "$SRC/app" "$q" "$(door_attack "$door") && echo attacked"
	eq "$door control: exit" "$SB_RC" 0
	contains "$door control: the write worked" "$SB_OUT" "attacked"
	host_commit_runs_hook "$SRC/app" || failed "$door control: the hook did not run on the host without the guard"
	echo "control: without '$guard' the agent's hook ran on the host"
}

t_git_door_commondir() {
	door_case commondir "protect = .git/commondir"
}

t_git_door_config_worktree() {
	door_case config.worktree "protect = .git/config.worktree"
}

t_git_door_hooks() {
	door_case hooks "protect = .git/hooks/"
}

t_git_door_config() {
	door_case config "protect = .git/config"
}

t_git_door_worktree_commondir() {
	mkrepo "$SRC/main"
	(cd "$SRC/main" && gitq worktree add -q "$SRC/wt" -b feature) >/dev/null 2>&1 || failed "worktree add"
	local p q attack
	attack="$(printf "$EVIL_SETUP" "$WORK/pwned"); cp -r .git evilcommon && printf '[core]\n\thooksPath = $SRC/main/evilhooks\n' >>evilcommon/config && echo $SRC/main/evilcommon >.git/worktrees/wt/commondir"
	p=$(ppolicy wtdoor <<<"$GIT_GUARDS")
	in_project "$SRC/main" "$p" "$attack 2>&1; echo attempted"
	eq "exit" "$SB_RC" 0
	host_commit_runs_hook "$SRC/wt" && failed "the agent's hook ran in the linked worktree on the host"
	q=$(ppolicy wtdoor-off <<<"$(printf '%s\n' "$GIT_GUARDS" | grep -vxF 'protect = .git/commondir')")
	in_project "$SRC/main" "$q" "$attack && echo attacked"
	contains "control: the write worked" "$SB_OUT" "attacked"
	host_commit_runs_hook "$SRC/wt" || failed "control: the hook did not run without the guard"
}

t_git_door_submodule_config() {
	mkrepo "$SRC/lib"
	mkrepo "$SRC/app"
	(cd "$SRC/app" && gitq submodule -q add "$SRC/lib" lib && gitq commit -qm sub) >/dev/null 2>&1 ||
		failed "submodule add"
	local p q attack
	attack="$(printf "$EVIL_SETUP" "$WORK/pwned"); printf '[core]\n\thooksPath = $SRC/app/evilhooks\n' >>.git/modules/lib/config"
	p=$(ppolicy subdoor <<<"$GIT_GUARDS")
	in_project "$SRC/app" "$p" "$attack 2>&1; echo attempted"
	eq "exit" "$SB_RC" 0
	host_commit_runs_hook "$SRC/app/lib" && failed "the agent's hook ran in the submodule on the host"
	q=$(ppolicy subdoor-off <<<"$(printf '%s\n' "$GIT_GUARDS" | grep -vxF 'protect = .git/config')")
	in_project "$SRC/app" "$q" "$attack && echo attacked"
	contains "control: the write worked" "$SB_OUT" "attacked"
	host_commit_runs_hook "$SRC/app/lib" || failed "control: the hook did not run without the guard"
}

t_git_door_alternates_and_attributes() {
	mkrepo "$SRC/app"
	local p
	p=$(ppolicy altattr <<<"$GIT_GUARDS")
	in_project "$SRC/app" "$p" "echo /tmp >.git/objects/info/alternates 2>/dev/null || echo alternates-refused; echo '* filter=x' >.git/info/attributes 2>/dev/null || echo attributes-refused"
	eq "exit" "$SB_RC" 0
	contains "alternates" "$SB_OUT" "alternates-refused"
	contains "attributes" "$SB_OUT" "attributes-refused"
	[ -s "$SRC/app/.git/info/attributes" ] && failed "attributes written on the host"
	# Control: without the guards both are ordinary files git reads.
	local q
	q=$(ppolicy altattr-off </dev/null)
	in_project "$SRC/app" "$q" "echo '* filter=x' >.git/info/attributes && echo wrote"
	contains "control" "$SB_OUT" "wrote"
	eq "control: git on the host reads it" "$(cd "$SRC/app" && gitq check-attr filter f)" "f: filter: x"
}

t_ordinary_git_work_inside() {
	mkrepo "$SRC/app"
	local p
	p=$(ppolicy gitwork <<<"$PH_GUARDS
$GIT_GUARDS")
	in_project "$SRC/app" "$p" "set -e; echo a >>f; $GITIN diff --stat >/dev/null; $GITIN add f; $GITIN commit -qm one; $GITIN branch topic; $GITIN checkout -q topic; echo b >>f; $GITIN stash -q; $GITIN stash pop -q; $GITIN commit -qam two; $GITIN checkout -q main; $GITIN log --oneline | wc -l; echo all-ok"
	eq "exit" "$SB_RC" 0
	contains "status, diff, add, commit, branch, stash, checkout" "$SB_OUT" "all-ok"
	eq "commits on the host" "$(cd "$SRC/app" && gitq log --oneline topic | wc -l)" "3"
}

t_cordon_state_is_hidden_from_a_project_that_holds_it() {
	# cordon's own records, which a later run trusts to tell its
	# placeholders apart, inside a writable mount: as root /var/lib/cordon
	# under `rw = /var/lib`; unprivileged ~/.local/state/cordon in a project
	# started in ~/.local with `project_root = ~`.
	local p state cwd
	if [ $IS_ROOT -eq 1 ]; then
		state=/var/lib/cordon
		cwd=$SRC
		p=$(ppolicy state <<<"rw = /var/lib")
	else
		state=$MYHOME/.local/state/cordon
		cwd=$MYHOME/.local
		p=$(ppolicy state <<<"project_root = ~")
	fi
	SB_CWD=$cwd sb "$p" -- /bin/sh -c "ls -A $state; mkdir $state/placeholders/x 2>&1 || echo refused; touch $state/forged 2>&1 || echo refused2"
	[ "$SB_RC" = 0 ] || failed "exit: $(show)"
	contains "cannot write there" "$SB_OUT" "refused"
	contains "cannot add there" "$SB_OUT" "refused2"
	lacks "nothing of it shows" "$SB_OUT" "placeholders
"
	[ -e "$state/forged" ] && failed "a file was planted in cordon's state"
	true
}

# ---- symlinks a sandbox could have planted ----

t_root_symlink_made_by_a_root_sandbox_is_not_followed() {
	mkdir -p "$SRC/app" "$WORK/data/home" "$WORK/rootonly"
	echo root-secret >"$WORK/rootonly/secret"
	chmod 0700 "$WORK/rootonly"
	local p q
	# A run as uid 0 (no user =) with a read-write bind replaces a directory
	# in it with a (root-owned) symlink to a root-only directory.
	p=$(ppolicy plant <<<"rw = $WORK/data")
	SB_CWD=$SRC/app sb "$p" -- /bin/sh -c "rmdir $WORK/data/home && ln -s $WORK/rootonly $WORK/data/home && echo planted"
	contains "planted" "$SB_OUT" "planted"
	[ "$(stat -c %u "$WORK/data/home")" = 0 ] || failed "the symlink is not root's"
	# The next run's policy binds that directory as the agent's home.
	q=$(ppolicy follow <<<"rw = $WORK/data
[sandbox]
home = $WORK/data/home")
	SB_CWD=$SRC/app sb "$q" -- /bin/sh -c 'cat $HOME/secret'
	eq "refused" "$SB_RC" 125
	contains "says why" "$SB_ERR" "a symlink in a directory a sandbox can write"
	lacks "secret not read" "$SB_OUT" "root-secret"
	# Control: a root-owned system symlink elsewhere is still followed.
	local r
	r=$(ppolicy system <<<"ro_try = /etc/alternatives
rw = $WORK/data")
	SB_CWD=$SRC/app sb "$r" -- /bin/true
	eq "control" "$SB_RC" 0
}

# ---- idmapped projects (root with user =) ----

# idmap_project DIR: DIR as a checkout of the test user's (cordon-test): a
# file it may write (0644), a private one (0600), and a root-only file.
# Sets OWNER_UID, OWNER_GID, AGENT_UID, AGENT_GID.
idmap_project() {
	local u=cordon-test
	id "$u" >/dev/null 2>&1 || failed "test user $u missing"
	OWNER_UID=$(id -u "$u")
	OWNER_GID=$(id -g "$u")
	AGENT_UID=$(id -u "${CORDON_AGENT_USER:?}")
	AGENT_GID=$(id -g "$CORDON_AGENT_USER")
	mkdir -p "$1/sub"
	echo shared >"$1/open" && chmod 0644 "$1/open"
	echo private >"$1/private" && chmod 0600 "$1/private"
	chown -R "$u:$u" "$1"
	echo root-secret >"$1/rootonly" && chmod 0600 "$1/rootonly"
}

t_root_idmapped_project_is_the_accounts_and_its_files_the_owners() {
	idmap_project "$SRC/app"
	# Control without an idmapping: a directory of the owner's bound with
	# rw = is not the project, and the agent cannot write it.
	mkdir -p "$WORK/data" && chown cordon-test: "$WORK/data" && chmod 0755 "$WORK/data"
	local p out
	p=$(ppolicy idmap <<<"rw = $WORK/data
[sandbox]
user = $CORDON_AGENT_USER")
	in_project "$SRC/app" "$p" 'id -u; id -g; stat -c "stat %u:%g" . open private
echo edited >>open && echo edited >>private && echo made >new && mkdir dir && echo wrote
cat rootonly || echo rootonly-denied; stat -c "root file %u" rootonly
echo x >'"$WORK"'/data/new 2>&1 || echo control-denied; stat -c "control %u" '"$WORK"'/data'
	eq "the sandbox ran ($(show))" "$SB_RC" 0
	out=$SB_OUT
	eq "the command runs as the agent" "$(sed -n 1p <<<"$out")" "$AGENT_UID"
	eq "with the agent's group" "$(sed -n 2p <<<"$out")" "$AGENT_GID"
	eq "the owner's files are the agent's inside" "$(grep -c "^stat $AGENT_UID:$AGENT_GID$" <<<"$out")" 3
	contains "the agent edits and creates files" "$out" "wrote"
	contains "edited 0644" "$(cat "$SRC/app/open")" "edited"
	contains "edited 0600" "$(cat "$SRC/app/private")" "edited"
	eq "what it created is the owner's on the host" "$(stat -c %u:%g "$SRC/app/new" "$SRC/app/dir")" \
		"$OWNER_UID:$OWNER_GID"$'\n'"$OWNER_UID:$OWNER_GID"
	eq "the edited files stay the owner's" "$(stat -c %u:%g "$SRC/app/private")" "$OWNER_UID:$OWNER_GID"
	contains "another uid's file is not readable" "$out" "rootonly-denied"
	lacks "another uid's file is not read" "$out" "root-secret"
	contains "another uid's file is nobody's inside" "$out" "root file 65534"
	contains "control: the owner's directory outside the project is not writable" "$out" "control-denied"
	contains "control: it shows the owner's uid there" "$out" "control $OWNER_UID"
	[ ! -e "$WORK/data/new" ] || failed "control: the agent wrote the owner's directory outside the project"
}

t_root_idmapped_project_keeps_its_mapping_under_guards_and_git() {
	mkrepo "$SRC/app"
	idmap_project "$SRC/app"
	echo TOKEN=1 >"$SRC/app/.env" && chown cordon-test: "$SRC/app/.env"
	local p out
	p=$(ppolicy idmapguards <<<"$GIT_GUARDS
mask = .env
protect = sub
[sandbox]
user = $CORDON_AGENT_USER")
	# git checks that the repository is the caller's: without safe.directory.
	in_project "$SRC/app" "$p" 'stat -c "stat %u %n" sub .git .git/config; echo x >sub/x 2>/dev/null || echo sub-read-only
cat .env; echo more >>f && git status --porcelain; git -c user.name=a -c user.email=a@example.org commit -qam agent && echo committed'
	eq "the sandbox ran ($(show))" "$SB_RC" 0
	out=$SB_OUT
	eq "a protected directory and git's files keep the mapping" "$(grep -c "^stat $AGENT_UID " <<<"$out")" 3
	contains "protect still makes it read-only" "$out" "sub-read-only"
	lacks "mask still hides" "$out" "TOKEN"
	contains "git works as the repository's owner" "$out" " M f"
	contains "the agent commits" "$out" "committed"
	eq "git's new objects are the owner's on the host" \
		"$(find "$SRC/app/.git" -newer "$SRC/app/.env" -type f ! -user cordon-test | head -3)" ""
	eq "the commit is there" "$(cd "$SRC/app" && gitq log -1 --format=%s)" "agent"
}

# host_fs_name DIR: the name cordon gives DIR's file system (stat names
# ext4 as "ext2/ext3": the three share a magic number).
host_fs_name() {
	local t
	t=$(stat -f -c %T "$1")
	[ "$t" = ext2/ext3 ] && t=ext4
	echo "$t"
}

# idmap_on_mount FSTYPE WHERE: runs the sandbox in $SRC/app with a FSTYPE
# file system mounted at WHERE (in a mount namespace of the test's own).
idmap_on_mount() {
	local p
	p=$(ppolicy idmapfs <<<"[sandbox]
user = $CORDON_AGENT_USER")
	cat >"$WORK/idmapfs.sh" <<EOF
mount -t $1 cordon-idmap-test "$2" || exit 99
chown cordon-test: "$2" || exit 99
cd "$SRC/app" && exec "$CORDON" run --policy "$p" -- /bin/sh -c 'echo made >"$2/by-agent" && echo ran'
EOF
	local out err
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	unshare -m --propagation private sh "$WORK/idmapfs.sh" >"$out" 2>"$err" </dev/null
	SB_RC=$?
	SB_OUT=$(cat "$out")
	SB_ERR=$(cat "$err")
	no_sanitizer_report "$SB_ERR"
	[ "$SB_RC" -ne 99 ] || failed "cannot mount $1 for the test: $SB_ERR"
}

t_root_project_on_a_file_system_without_idmapping_is_refused() {
	idmap_project "$SRC/app"
	# ramfs cannot be idmapped: the run is refused, not mounted unmapped.
	idmap_on_mount ramfs "$SRC/app"
	eq "refused ($(show))" "$SB_RC" 125
	eq "one line" "$(wc -l <<<"$SB_ERR")" 1
	contains "names the project and its file system" "$SB_ERR" \
		"idmap: project $SRC/app is on ramfs, which does not support idmapped mounts"
	lacks "nothing ran" "$SB_OUT" "ran"
	# The same below the project: a ramfs mounted in it.
	idmap_on_mount ramfs "$SRC/app/sub"
	eq "refused below ($(show))" "$SB_RC" 125
	contains "says it is a file system below it" "$SB_ERR" \
		"idmap: project $SRC/app is on $(host_fs_name "$SRC"), but a file system mounted below it does not support idmapped mounts"
	lacks "nothing ran below" "$SB_OUT" "ran"
	# Control: a tmpfs, which can be idmapped, in the same place.
	idmap_on_mount tmpfs "$SRC/app/sub"
	eq "control: tmpfs below the project ($(show))" "$SB_RC" 0
	contains "control: the agent writes it" "$SB_OUT" "ran"
}

# ---- symlink =, die_with_parent, pid 1's descriptors ----

t_symlink_in_a_read_write_bind_is_idempotent() {
	mkdir -p "$SRC/app" "$WORK/data"
	local p
	p=$(ppolicy idem <<<"rw = $WORK/data
symlink = target:$WORK/data/link")
	SB_CWD=$SRC/app sb "$p" -- /bin/true
	eq "first run" "$SB_RC" 0
	SB_CWD=$SRC/app sb "$p" -- /bin/true
	eq "second run" "$SB_RC" 0
	rm "$WORK/data/link" && ln -s elsewhere "$WORK/data/link"
	SB_CWD=$SRC/app sb "$p" -- /bin/true
	eq "a conflicting link is refused" "$SB_RC" 125
	contains "names what is there" "$SB_ERR" "a symlink to elsewhere"
}

t_die_with_parent_ends_the_sandbox_when_the_launchers_parent_dies() {
	mkdir -p "$SRC/app"
	local p wrapper pids q t1=888.${$}1 t2=888.${$}2
	p=$(ppolicy dwp <<<"[sandbox]
die_with_parent = true")
	(cd "$SRC/app" && exec /bin/sh -c "\"$CORDON\" run --policy \"$p\" -- sleep $t1 & wait") >"$WORK/dwp.out" 2>&1 &
	wrapper=$!
	for _ in $(seq 50); do pgrep -f "sleep $t1" >/dev/null && break; sleep 0.1; done
	pids=$(pgrep -f "sleep $t1")
	[ -n "$pids" ] || failed "the sandboxed sleep did not start"
	kill -KILL "$wrapper"
	for _ in $(seq 50); do pgrep -f "sleep $t1" >/dev/null || break; sleep 0.1; done
	if pgrep -f "sleep $t1" >/dev/null; then
		pkill -KILL -f "sleep $t1"
		failed "the sandbox outlived the launcher's parent"
	fi
	# Control: without die_with_parent it goes on.
	q=$(ppolicy nodwp <<<"[sandbox]
die_with_parent = false")
	(cd "$SRC/app" && exec /bin/sh -c "\"$CORDON\" run --policy \"$q\" -- sleep $t2 & wait") >"$WORK/nodwp.out" 2>&1 &
	wrapper=$!
	for _ in $(seq 50); do pgrep -f "sleep $t2" >/dev/null && break; sleep 0.1; done
	kill -KILL "$wrapper"
	sleep 0.5
	pgrep -f "sleep $t2" >/dev/null || failed "control: the sandbox without die_with_parent ended too"
	pkill -KILL -f 'cordon run --policy '"$q" 2>/dev/null
	pkill -KILL -f "sleep $t2"
	true
}

t_pid1_does_not_keep_the_invokers_descriptors() {
	mkdir -p "$SRC/app"
	local p fifo pid start
	p=$(ppolicy fds <<<"[sandbox]
die_with_parent = false")
	fifo=$WORK/fifo
	mkfifo "$fifo"
	# The reader sees end-of-file once every writer is gone: the launcher
	# (killed below) and, if it kept its copy, the sandbox's pid 1.
	(cat "$fifo" >/dev/null; touch "$WORK/eof") &
	(cd "$SRC/app" && exec "$CORDON" run --policy "$p" -- /bin/sh -c "touch started; exec sleep 31.$$") 9>"$fifo" \
		>"$WORK/fds.out" 2>&1 </dev/null &
	pid=$!
	wait_for "$SRC/app/started"
	kill -KILL "$pid"
	for _ in $(seq 30); do [ -e "$WORK/eof" ] && break; sleep 0.1; done
	local held=0
	[ -e "$WORK/eof" ] || held=1
	pkill -KILL -f "sleep 31\\.$$" 2>/dev/null
	[ $held -eq 0 ] || failed "the sandbox kept the invoker's descriptor 9 open"
}

t_proxy_end_is_not_reported_at_a_normal_exit() {
	mkdir -p "$SRC/app"
	local p i
	p=$(ppolicy proxyend <<<"[network]
mode = proxy")
	for i in $(seq 15); do
		SB_CWD=$SRC/app sb "$p" -- /bin/true
		eq "run $i" "$SB_RC" 0
		lacks "run $i: no proxy message" "$SB_ERR" "the proxy exited"
	done
}

run_tests "$@"
