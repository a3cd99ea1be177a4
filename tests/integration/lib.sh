# Helpers for integration tests: each test is a function t_NAME that runs
# in its own subshell inside a fresh project directory and ends with exit
# status 0 (pass), 77 (skip, after printing "SKIP: reason") or anything
# else (fail). Output is TAP. Tests named t_root_* apply only to a run with
# privilege (they need to create host mounts or use `user =`); the
# unprivileged run does not list them.
set -u
: "${CORDON:?CORDON must point at the cordon binary}"

WORK=$(mktemp -d /tmp/cordon-work.XXXXXX)
chmod 0755 "$WORK"
ME=$(id -un)
MYUID=$(id -u)
MYGID=$(id -g)
MYHOME=$(getent passwd "$MYUID" | cut -d: -f6)
IS_ROOT=0
[ "$MYUID" -eq 0 ] && IS_ROOT=1
HELPERS=${CORDON_TEST_BIN:-}

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
base_policy() {
	cat <<EOF
[sandbox]
name = ${1:-test}
hostname = cordon-test

[filesystem]
ro = /usr
ro = /etc
tmpfs = /tmp
project_root = $WORK/proj
EOF
	[ -n "$HELPERS" ] && echo "ro = $HELPERS"
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -L "/$d" ]; then
			echo "symlink = $(readlink "/$d"):/$d"
		elif [ -d "/$d" ]; then
			echo "ro = /$d"
		fi
	done
	echo
}

# policy NAME: writes $WORK/NAME.ini from the base plus stdin, prints path.
policy() {
	local f="$WORK/$1.ini"
	{
		base_policy "$1"
		cat
	} >"$f"
	echo "$f"
}

# sb POLICY [cordon run options] [--] CMD...: runs cordon from the project
# directory; sets SB_OUT, SB_ERR, SB_RC.
sb() {
	local pol=$1
	shift
	local out err
	out=$(mktemp "$WORK/out.XXXXXX")
	err=$(mktemp "$WORK/err.XXXXXX")
	(cd "${SB_CWD:-$WORK/proj}" && "$CORDON" run --policy "$pol" "$@") >"$out" 2>"$err" </dev/null
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

# sh_in POLICY SCRIPT: runs a shell script inside the sandbox.
sh_in() {
	sb "$1" -- /bin/sh -c "$2"
}

show() {
	echo "rc=$SB_RC"
	echo "stdout: $SB_OUT"
	echo "stderr: $SB_ERR"
}

# ---- runner ----

run_tests() {
	local n=0 failed_n=0 skipped_n=0 t out rc
	local only=${1:-}
	for t in $(declare -F | awk '$3 ~ /^t_/ {print $3}'); do
		[ -n "$only" ] && [ "$t" != "$only" ] && continue
		[ $IS_ROOT -eq 0 ] && [ "${t#t_root_}" != "$t" ] && continue
		n=$((n + 1))
		rm -rf "$WORK/proj"
		mkdir -p "$WORK/proj"
		out=$( (cd "$WORK/proj" && if declare -F per_test_setup >/dev/null; then per_test_setup; fi && "$t") 2>&1)
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok $n - $t"
		elif [ $rc -eq 77 ]; then
			echo "ok $n - $t # SKIP ${out##*SKIP: }"
			skipped_n=$((skipped_n + 1))
		else
			echo "not ok $n - $t"
			printf '%s\n' "$out" | sed 's/^/#   /'
			failed_n=$((failed_n + 1))
		fi
	done
	echo "1..$n"
	echo "# $(id -un): $n tests, $failed_n failed, $skipped_n skipped"
	# A skipped test is not a pass: CTest sees a skip (77) for the whole
	# script when nothing failed but something could not run.
	[ $failed_n -eq 0 ] || return 1
	[ $skipped_n -eq 0 ] || return 77
	return 0
}
