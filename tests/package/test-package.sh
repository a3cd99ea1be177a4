#!/usr/bin/env bash
# The package as a new user gets it (issue 19): scripts/package builds the
# .deb (lintian clean), then this installs it, uses it from its installed
# files only (not the build tree), compares it with `cmake --install`, and
# purges it, checking that nothing is left. Run by scripts/test after the
# suites, as root, alone: it installs into /usr and /etc. Usage:
#   tests/package/test-package.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: test-package.sh BUILD_DIR}
user=cordon-test
fails=0
pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1" >&2
	fails=$((fails + 1))
}
check() { # NAME COMMAND...: COMMAND must succeed
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name: $out"; fi
}
contains() { # NAME TEXT NEEDLE
	if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: no '$3' in: $2"; fi
}
as_user() { # the test user's login-like environment, in DIR
	local dir=$1
	shift
	setpriv --reuid="$user" --regid="$user" --init-groups -- env -i HOME="$home" USER="$user" TERM=dumb \
		PATH=/usr/local/bin:/usr/bin:/bin sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"
}

[ "$(id -u)" -eq 0 ] || {
	echo "test-package.sh: must run as root (it installs and purges the package)" >&2
	exit 1
}
# Never purge a cordon someone installed for real.
if dpkg-query -W -f='${Status}' cordon 2>/dev/null | grep -q "installed"; then
	echo "test-package.sh: a cordon package is already installed here; the test would purge it" >&2
	exit 1
fi
for f in /usr/bin/cordon /etc/cordon/policies/dev.ini /usr/lib/cordon/bin/pi; do
	[ ! -e "$f" ] || {
		echo "test-package.sh: $f exists outside any package (a cmake --install?); remove it first" >&2
		exit 1
	}
done
id "$user" >/dev/null 2>&1 || useradd --create-home "$user" || exit 1
home=$(getent passwd "$user" | cut -d: -f6)

echo "== scripts/package (dpkg-buildpackage, lintian)"
deb=$(scripts/package | tail -1) || {
	echo "test-package.sh: scripts/package failed" >&2
	exit 1
}
pass "scripts/package built $deb, lintian clean"

echo "== the same files as cmake --install"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage/cmake cmake --install "$build" >/dev/null || fail "cmake --install with DESTDIR"
dpkg-deb -x "$deb" "$stage/deb"
listing() { (cd "$1" && find . ! -type d -o -type d -empty | sed 's|^\.||' | grep -v '^/usr/share/doc/' | sort); }
# Man pages: dh_installman compresses them.
if diff <(listing "$stage/cmake" | sed 's/\(\.[0-9]\)$/\1.gz/') <(listing "$stage/deb"); then
	pass "cmake --install (DESTDIR) and the .deb install the same paths"
else
	fail "cmake --install and the .deb differ (above)"
fi

echo "== another prefix, chosen when configuring"
cmake -S . -B "$stage/prefix-build" -DCMAKE_INSTALL_PREFIX=/usr/local -DCORDON_TESTS=OFF -DCORDON_MAN=OFF \
	>/dev/null && cmake --build "$stage/prefix-build" -j"$(nproc)" --target cordon >/dev/null &&
	DESTDIR=$stage/prefix cmake --install "$stage/prefix-build" >/dev/null || fail "build and install with /usr/local"
[ -x "$stage/prefix/usr/local/bin/cordon" ] && pass "prefix: /usr/local/bin/cordon" || fail "prefix: no binary"
contains "prefix: the binary reads profiles from its own share/" "$("$stage/prefix/usr/local/bin/cordon" --version)" \
	"/usr/local/share/cordon/seccomp/NAME.profile"
[ -f "$stage/prefix/usr/local/share/cordon/seccomp/default.profile" ] && pass "prefix: profiles installed there" ||
	fail "prefix: no profiles in /usr/local/share/cordon/seccomp"
contains "prefix: the wrappers run that binary" "$(cat "$stage/prefix/usr/local/lib/cordon/bin/pi")" \
	'cordon=${CORDON_BIN:-/usr/local/bin/cordon}'
contains "prefix: policies in its sysconfdir" "$(ls "$stage/prefix/usr/local/etc/cordon/policies")" "dev.ini"
contains "prefix: the binary reads policies there" "$("$stage/prefix/usr/local/bin/cordon" --version)" \
	"/usr/local/etc/cordon/policies/NAME.ini"
[ ! -e "$stage/prefix/etc/cordon" ] && pass "prefix: nothing in /etc/cordon" || fail "prefix: /etc/cordon written"

echo "== install"
check "dpkg -i" dpkg -i "$deb"
for f in /usr/bin/cordon /etc/cordon/policies/{dev,ci,pi,claude,codex}.ini \
	/usr/share/cordon/seccomp/{default,strict,ci}.profile /usr/lib/cordon/bin/{pi,claude,codex} \
	/etc/sudoers.d/cordon /etc/apparmor.d/cordon /usr/share/bash-completion/completions/cordon \
	/usr/share/man/man1/cordon.1.gz /usr/share/man/man5/cordon-policy.5.gz; do
	[ -e "$f" ] && pass "installed $f" || fail "not installed: $f"
done
[ -d /var/log/cordon ] && pass "/var/log/cordon" || fail "no /var/log/cordon"
conffiles=$(dpkg-query -W -f='${Conffiles}' cordon)
for f in /etc/cordon/policies/dev.ini /etc/sudoers.d/cordon /etc/apparmor.d/cordon; do
	contains "conffile $f" "$conffiles" "$f"
done
contains "sudoers snippet is 0440" "$(stat -c %a /etc/sudoers.d/cordon)" 440
check "visudo accepts the whole sudoers set" visudo -c
grep -q '^[^#]' /etc/sudoers.d/cordon && fail "the sudoers snippet grants something" ||
	pass "the sudoers snippet is all comments"

echo "== AppArmor profile"
profile=$(cat /etc/apparmor.d/cordon)
contains "profile names abi 4.0" "$profile" "abi <abi/4.0>,"
contains "profile grants userns" "$profile" "  userns,"
contains "profile attaches to /usr/bin/cordon" "$profile" "profile cordon /usr/bin/cordon "
# Debian 12's parser (3.0) knows neither line: the rest must parse.
sed -e '/^abi <abi\/4.0>,$/d' -e '/^ *userns,$/d' /etc/apparmor.d/cordon >"$stage/aa"
check "apparmor_parser -QT accepts the rest" apparmor_parser -QT "$stage/aa"
if [ -e /etc/apparmor.d/abi/4.0 ]; then
	[ ! -e /etc/apparmor.d/disable/cordon ] && pass "AppArmor 4: the profile is enabled" ||
		fail "AppArmor 4 parser, yet the profile is disabled"
else
	[ "$(readlink /etc/apparmor.d/disable/cordon)" = /etc/apparmor.d/cordon ] &&
		pass "older AppArmor: the profile is disabled for the boot-time loader" ||
		fail "older AppArmor parser, yet /etc/apparmor.d/disable/cordon is missing"
fi

echo "== from the installed files"
v=$(/usr/bin/cordon --version)
contains "--version: the policy directory" "$v" "/etc/cordon/policies/NAME.ini"
contains "--version: the profile directory" "$v" "/usr/share/cordon/seccomp/NAME.profile"
check "cordon doctor (root)" /usr/bin/cordon doctor
check "cordon doctor ($user)" as_user / /usr/bin/cordon doctor
proj=$home/src/cordon-package-test-$$
as_user / sh -c "mkdir -p '$proj' && cd '$proj' && git init -q . && echo hi >file" || fail "make $proj"
as_user / sh -c "echo secret >'$home/cordon-package-secret-$$'"
out=$(as_user "$proj" cordon explain dev 2>&1)
contains "explain dev: the project" "$out" "project      $proj"
contains "explain dev: the installed profile" "$out" "file       /usr/share/cordon/seccomp/default.profile"
check "run --policy dev -- true" as_user "$proj" cordon run --policy dev -- true
out=$(as_user "$proj" cordon run --policy dev -- cat file 2>&1)
contains "the project is there" "$out" "hi"
check "control: the secret is readable outside" as_user / cat "$home/cordon-package-secret-$$"
if as_user "$proj" cordon run --policy dev -- cat "$home/cordon-package-secret-$$" >/dev/null 2>&1; then
	fail "the sandbox read a file of the home outside the project"
else
	pass "the sandbox cannot read the home outside the project"
fi
# The wrapper: the real agent further on PATH (a stub where npm would put
# one, under /opt, which pi.ini binds), its arguments untouched, inside
# the agent's policy.
agent=/opt/cordon-package-test-$$
mkdir -p "$agent/bin"
printf '#!/bin/sh\necho "uid=$(id -u) pid1=$(cat /proc/1/comm)"\nfor a in "$@"; do echo "[$a]"; done\n' \
	>"$agent/bin/pi"
chmod -R a+rX "$agent" && chmod 0755 "$agent/bin/pi"
out=$(setpriv --reuid="$user" --regid="$user" --init-groups -- env -i HOME="$home" USER="$user" TERM=dumb \
	PATH="/usr/lib/cordon/bin:$agent/bin:/usr/bin:/bin" sh -c 'cd "$1" && pi "a b" "\$c"' sh "$proj" 2>&1)
rm -rf "$agent"
contains "wrapper: ran the stub" "$out" "uid=$(id -u "$user")"
contains "wrapper: inside the sandbox (its own pid 1)" "$out" "pid1="
contains "wrapper: arguments untouched" "$out" "[a b]
[\$c]"
contains "wrapper: not the host's pid 1" "$(grep -c "pid1=$(cat /proc/1/comm)\$" <<<"$out")" 0
echo "== man pages and completion"
check "man -w cordon" man -w cordon
check "man -w 5 cordon-policy" man -w 5 cordon-policy
contains "man cordon renders" "$(MANWIDTH=80 man cordon 2>&1)" "cordon"
contains "complete -p cordon" "$(bash -c '. /usr/share/bash-completion/completions/cordon && complete -p cordon')" \
	"cordon"
out=$(bash -c '. /usr/share/bash-completion/completions/cordon
f=$(complete -p cordon | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
COMP_WORDS=(cordon run --policy ""); COMP_CWORD=3; COMP_LINE="cordon run --policy "; COMP_POINT=${#COMP_LINE}
"$f" cordon "" --policy; printf "%s\n" "${COMPREPLY[@]}"')
contains "completion: installed policy names" "$out" "dev"
contains "completion: installed policy names" "$out" "codex"

echo "== purge"
files=$(dpkg -L cordon)
check "dpkg --purge" dpkg --purge cordon
left=
while IFS= read -r f; do
	# Directories other packages share stay: /usr, /etc, /usr/share/man/man1, ...
	[ "$f" = /. ] && continue
	[ -d "$f" ] && [ -n "$(dpkg -S "$f" 2>/dev/null)" ] && continue
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <<<"$files"
for f in /etc/cordon /var/log/cordon /var/lib/cordon /etc/apparmor.d/disable/cordon /usr/lib/cordon \
	/usr/share/cordon; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
[ -z "$left" ] && pass "purge left nothing" || fail "purge left:$left"
rm -rf "$proj" "$home/cordon-package-secret-$$"

[ $fails -eq 0 ] || {
	echo "test-package.sh: $fails check(s) failed" >&2
	exit 1
}
echo "test-package.sh: all checks passed"
