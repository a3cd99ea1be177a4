#!/usr/bin/env bash
# run-as.sh WHO SCRIPT [ARG]...
# Runs an integration script as root (WHO=root) or as an unprivileged test
# user created here (WHO=user). The binaries are staged in a fresh
# world-readable directory so the test user can run them wherever the
# build tree lives. A variant that cannot run here (the root one when not
# root, the user one without user namespaces) fails, unless tests/skips
# allows it with a `SUITE *` line: a host that cannot run a suite must say
# so in the repository, not pass quietly.
set -u
who=$1
script=$2
shift 2
TEST_USER=cordon-test
AGENT_USER=cordon-agent
# CTest's name for the suite (CMake sets CORDON_SUITE); by hand, the script's.
suite=${CORDON_SUITE:-$(basename "$script" .sh)}_$who
. "$(dirname "$0")/skiplist.sh"

fail() {
	echo "FAIL: $*"
	exit 1
}
skip() {
	skip_allowed "${CORDON_SRC:-}/tests/skips" "$suite" "*" "$*" || fail "$suite cannot run: $* (tests/skips does not allow it)"
	echo "1..0 # SKIP $*, as tests/skips allows"
	exit 0
}

# Suites run in parallel (ctest -j): only one may add a user at a time.
make_user() {
	local name=$1
	shift
	id "$name" >/dev/null 2>&1 && return 0
	flock /tmp/cordon-test-useradd.lock useradd "$@" "$name" >/dev/null 2>&1 || id "$name" >/dev/null 2>&1 ||
		fail "useradd $name"
}

[ -x "${CORDON:-}" ] || fail "CORDON=${CORDON:-} is not an executable (build first)"
[ -d "${CORDON_TEST_BIN:-}" ] || fail "CORDON_TEST_BIN=${CORDON_TEST_BIN:-} is missing"
stage=$(mktemp -d /tmp/cordon-it.XXXXXX) || fail "mktemp"
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
cp "$CORDON" "$stage/cordon" || fail "stage cordon"
cp -r "$CORDON_TEST_BIN" "$stage/bin" || fail "stage helpers"
mkdir -p "$stage/scripts"
for f in "$(dirname "$0")"/*.sh "$(dirname "$script")"/*.sh; do
	cp -f "$f" "$stage/scripts/" || fail "stage $f"
done
# And the suites' helper programs (limits.sh's systemd-stub.py).
for f in "$(dirname "$script")"/*.py; do
	[ -e "$f" ] || continue
	cp -f "$f" "$stage/scripts/" || fail "stage $f"
done
mkdir -p "$stage/examples" "$stage/profiles"
cp "${CORDON_SRC:?}/tests/skips" "$stage/skips" || fail "stage tests/skips"
cp "${CORDON_SRC:?}"/policy/examples/*.ini "$stage/examples/" 2>/dev/null
# As root a policy must name its account; the shipped ones leave that to
# the administrator (runner.sh checks they are refused as they are). The
# root variants run them keeping uid 0, as `user = root` says.
if [ "$who" = root ]; then
	for f in "$stage"/examples/*.ini; do
		grep -q '^user *=' "$f" && continue
		sed -i '0,/^\[sandbox\]$/s//[sandbox]\nuser = root/' "$f" || fail "stage $f for root"
	done
fi
cp "$CORDON_SRC"/seccomp-profiles/* "$stage/profiles/" 2>/dev/null
chmod -R a+rX "$stage"
name=$(basename "$script")
vars=(CORDON="$stage/cordon" CORDON_TEST_BIN="$stage/bin" CORDON_EXAMPLES="$stage/examples"
	CORDON_PROFILES="$stage/profiles" CORDON_SRC="$CORDON_SRC" CORDON_SKIPS="$stage/skips"
	CORDON_SUITE="${suite%_"$who"}")
# A sanitizer build's settings reach cordon (and the init and proxy it forks).
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
	[ -n "${!v:-}" ] && vars+=("$v=${!v}")
done

# A setuid-root copy of the escape helper, for the test that a setuid
# program gains nothing inside. Only root can make one.
if [ "$(id -u)" -eq 0 ] && [ -x "$stage/bin/try" ]; then
	cp "$stage/bin/try" "$stage/bin/try-suid" && chown root:root "$stage/bin/try-suid" &&
		chmod 4755 "$stage/bin/try-suid" || fail "setuid helper"
fi

# `sudo scripts/test` leaves SUDO_UID in the environment, which would turn
# every root run into the sudo runner (runner.sh sets it where it tests
# that mode).
unset SUDO_UID SUDO_GID SUDO_USER SUDO_COMMAND

case "$who" in
root)
	[ "$(id -u)" -eq 0 ] || skip "the root variant needs root; run the suite as root"
	make_user "$AGENT_USER" --system --create-home --shell /usr/sbin/nologin
	env "${vars[@]}" CORDON_AGENT_USER="$AGENT_USER" bash "$stage/scripts/$name" "$@"
	;;
user)
	if [ "$(id -u)" -ne 0 ]; then
		env "${vars[@]}" bash "$stage/scripts/$name" "$@"
		exit $?
	fi
	make_user "$TEST_USER" --create-home --shell /bin/bash
	home=$(getent passwd "$TEST_USER" | cut -d: -f6)
	as_user=(setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --)
	if ! "${as_user[@]}" unshare --user true 2>/dev/null; then
		skip "unprivileged user namespaces are disabled on this host (see cordon doctor)"
	fi
	"${as_user[@]}" env -i HOME="$home" USER="$TEST_USER" LOGNAME="$TEST_USER" \
		PATH=/usr/local/bin:/usr/bin:/bin TERM="${TERM:-dumb}" "${vars[@]}" bash "$stage/scripts/$name" "$@"
	;;
*)
	fail "WHO must be root or user"
	;;
esac
