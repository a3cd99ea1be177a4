# Helpers for integration tests: each test is a function t_NAME that runs
# in its own subshell inside a fresh project directory and ends with exit
# status 0 (pass), 77 (skip, after printing "SKIP: reason") or anything
# else (fail). Output is TAP. A skip fails the suite unless tests/skips
# allows it (skiplist.sh); so does a run in which no test ran. Tests named
# t_root_* apply only to a run with privilege (they need to create host
# mounts, other users' processes or `user =`); the unprivileged run does
# not list them.
set -u
: "${CORDON:?CORDON must point at the cordon binary}"
. "$(dirname "${BASH_SOURCE[0]}")/skiplist.sh"

WORK=$(mktemp -d /tmp/cordon-work.XXXXXX)
chmod 0755 "$WORK"
ME=$(id -un)
MYUID=$(id -u)
MYGID=$(id -g)
MYHOME=$(getent passwd "$MYUID" | cut -d: -f6)
IS_ROOT=0
[ "$MYUID" -eq 0 ] && IS_ROOT=1
HELPERS=${CORDON_TEST_BIN:-}
# The CTest name of this run (integration_root), as tests/skips names it;
# run by hand, the script's name stands for the suite's.
SUITE=${CORDON_SUITE:-$(basename "$0" .sh)}_user
[ $IS_ROOT -eq 1 ] && SUITE=${SUITE%_user}_root
SKIPS=${CORDON_SKIPS:-${CORDON_SRC:-}/tests/skips}

cleanup_work() {
	rm -rf "$WORK"
}
trap cleanup_work EXIT

# ---- assertions (they exit the test's subshell on failure) ----
failed() {
	echo "FAILED: $*"
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}
eq() { # eq WHAT GOT WANT
	[ "$2" == "$3" ] || failed "$1: expected [$3], got [$2]"
}
contains() { # contains WHAT TEXT NEEDLE
	case "$2" in
	*"$3"*) ;;
	*) failed "$1: [$2] does not contain [$3]" ;;
	esac
}
lacks() { # lacks WHAT TEXT NEEDLE
	case "$2" in
	*"$3"*) failed "$1: [$2] contains [$3]" ;;
	esac
}
ok() { # ok WHAT COMMAND...
	"${@:2}" || failed "$1"
}
not() { # not WHAT COMMAND...
	! "${@:2}" || failed "$1"
}

# ---- policies ----

# The system part every test policy starts from: the host's /usr and /etc
# read-only, the usr-merge symlinks mirrored, /tmp a tmpfs, one project.
# The usr-merge directories as the host has them: a symlink mirrored, a
# directory bound read-only ([filesystem] lines).
system_links() {
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -L "/$d" ]; then
			echo "symlink = $(readlink "/$d"):/$d"
		elif [ -d "/$d" ]; then
			echo "ro = /$d"
		fi
	done
}

# As root a policy must name its account (issue 17): the base keeps uid 0
# with `user = root` unless the test names one (NO_BASE_USER=1).
base_policy() {
	cat <<EOF
[sandbox]
name = ${1:-test}
hostname = cordon-test
EOF
	[ "$(id -u)" -eq 0 ] && [ -z "${NO_BASE_USER:-}" ] && echo "user = root"
	cat <<EOF

[filesystem]
ro = /usr
ro = /etc
tmpfs = /tmp
project_root = $WORK/proj
EOF
	[ -n "$HELPERS" ] && echo "ro = $HELPERS"
	system_links
	echo
}

# policy NAME: writes $WORK/NAME.ini from the base plus stdin, prints path.
policy() {
	local f="$WORK/$1.ini" rest
	rest=$(cat)
	{
		if grep -q '^user *=' <<<"$rest"; then
			NO_BASE_USER=1 base_policy "$1"
		else
			base_policy "$1"
		fi
		printf '%s\n' "$rest"
	} >"$f"
	echo "$f"
}

# sb POLICY [cordon run options] [--] CMD...: runs cordon from the project
# directory; sets SB_OUT, SB_ERR, SB_RC.
sb() {
	local pol=$1
	shift
	cli run --policy "$pol" "$@"
}

# cli ARG...: runs cordon with exactly these arguments from the project
# directory (or $SB_CWD); sets SB_OUT, SB_ERR, SB_RC.
cli() {
	local out err
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	(cd "${SB_CWD:-$WORK/proj}" && "$CORDON" "$@") >"$out" 2>"$err" </dev/null
	SB_RC=$?
	SB_OUT=$(cat "$out")
	SB_ERR=$(cat "$err")
	rm -f "$out" "$err"
	no_sanitizer_report "$SB_ERR"
}

# In a sanitizer build a report from cordon, its init or its proxy goes to
# the launcher's stderr; any report fails the test, whatever it asserts.
no_sanitizer_report() {
	case "$1" in
	*"ERROR: AddressSanitizer"* | *"ERROR: LeakSanitizer"* | *"runtime error:"*)
		failed "sanitizer report: $1"
		;;
	esac
}

# sh_in POLICY SCRIPT: runs a shell script inside the sandbox, which must
# exit 0 (a script whose commands are meant to fail ends with `; true`): the
# output a test then asserts on is the sandbox's, not a refusal's.
sh_in() {
	sb "$1" -- /bin/sh -c "$2"
	eq "the sandboxed script's exit status ($(show))" "$SB_RC" 0
}

show() {
	echo "rc=$SB_RC"
	echo "stdout: $SB_OUT"
	echo "stderr: $SB_ERR"
}

# ---- runner ----

# What a sanitizer report says (a build with CORDON_SANITIZE), as grep -E.
SANITIZER_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'

# unchecked_reports OUTPUT MARK: sanitizer reports a test left where no
# assertion looked: in its own output (cordon's stderr that the test did
# not redirect) and in the files of $WORK written since MARK (the stderr
# of background and pty runs, of `check`, `explain` and `proxy`).
unchecked_reports() {
	printf '%s\n' "$1" | grep -E -m 5 "$SANITIZER_RE"
	find "$WORK" -maxdepth 1 -type f -newer "$2" -exec grep -l -E "$SANITIZER_RE" {} + 2>/dev/null |
		sed 's/^/a report in /'
}

run_tests() {
	local n=0 ran=0 failed_n=0 skipped_n=0 privileged=0 t out rc reason report problems
	local only=${1:-} mark=$WORK/.test-start
	problems=$(skiplist_problems "$SKIPS")
	if [ -n "$problems" ]; then
		echo "Bail out! $problems"
		return 1
	fi
	for t in $(declare -F | awk '$3 ~ /^t_/ {print $3}'); do
		[ -n "$only" ] && [ "$t" != "$only" ] && continue
		if [ $IS_ROOT -eq 0 ] && [ "${t#t_root_}" != "$t" ]; then
			privileged=$((privileged + 1))
			continue
		fi
		n=$((n + 1))
		rm -rf "$WORK/proj"
		mkdir -p "$WORK/proj"
		touch "$mark"
		out=$( (cd "$WORK/proj" && if declare -F per_test_setup >/dev/null; then per_test_setup; fi && "$t") 2>&1)
		rc=$?
		report=$(unchecked_reports "$out" "$mark")
		[ $rc -eq 77 ] || ran=$((ran + 1))
		if [ -n "$report" ]; then
			echo "not ok $n - $t"
			printf '%s\n' "$out" "sanitizer report:" "$report" | sed 's/^/#   /'
			failed_n=$((failed_n + 1))
		elif [ $rc -eq 0 ]; then
			echo "ok $n - $t"
		elif [ $rc -eq 77 ]; then
			reason=${out##*SKIP: }
			if skip_allowed "$SKIPS" "$SUITE" "$t" "$reason"; then
				echo "ok $n - $t # SKIP $reason"
				skipped_n=$((skipped_n + 1))
			else
				echo "not ok $n - $t"
				echo "#   skipped, and no line of tests/skips allows it in $SUITE: $reason"
				failed_n=$((failed_n + 1))
			fi
		else
			echo "not ok $n - $t"
			printf '%s\n' "$out" | sed 's/^/#   /'
			failed_n=$((failed_n + 1))
		fi
	done
	echo "1..$n"
	echo "# $SUITE as $(id -un): $n tests, $failed_n failed, $skipped_n skipped as tests/skips allows"
	[ $privileged -eq 0 ] || echo "# and $privileged t_root_* tests, which only the root run has"
	# A suite in which nothing ran proves nothing: a wrong test name, or
	# every test skipped.
	if [ $ran -eq 0 ]; then
		echo "# no test ran"
		return 1
	fi
	[ $failed_n -eq 0 ]
}
