#!/usr/bin/env bash
# Boundary tests: the boundaries docs/threat-model.md names that the other
# suites do not reach. Each is an attempt that must fail, paired with a
# control showing the same attempt succeeds (or would be seen) without the
# boundary: a bind source swapped for a symlink while sandboxes start, a
# symlink planted at a mount point, nosuid on every mount, and each
# namespace flag of unshare and clone. Runs as root and as an unprivileged
# user (run-as.sh).
. "$(dirname "$0")/lib.sh"

TRY=$HELPERS/try
MOUNTCHECK=$HELPERS/mountcheck
if [ ! -x "$TRY" ] || [ ! -x "$MOUNTCHECK" ]; then
	echo "Bail out! try or mountcheck helper missing"
	exit 1
fi

# ---- a bind source swapped between check and mount ----

# race KIND: sandboxes binding $WORK/KIND-src (`KIND = ...`) start while a
# loop exchanges it with a symlink to $SECRET; each must print the real
# source's token or refuse (125), never $TOKEN, the symlink target's. The
# runs go on until RACE_MIN have completed and RACE_MIN were refused at the
# mount (the policy check saw the directory, the mount the symlink: the
# boundary under test held), at most RACE_MAX. The control: outside a
# sandbox the same path leads to the secret now and then.
RACE_MIN=4
RACE_MAX=100
race() {
	local kind=$1 src=$WORK/$1-src p i ok=0 held=0 checked=0 seen=0 loop
	mkdir "$src"
	echo "$kind source" >"$src/token"
	ln -s "$SECRET" "$WORK/$kind-decoy"
	# Root follows root-owned symlinks when it resolves a policy path; the
	# invoker's are never followed.
	[ $IS_ROOT -eq 0 ] || chown -h nobody "$WORK/$kind-decoy" || failed "chown the symlink"
	p=$(policy "race-$kind" <<<"[filesystem]
$kind = $src")
	# A short pause after each exchange leaves the launches a CPU.
	"$TRY" swap "$src" "$WORK/$kind-decoy" 50 >"$WORK/$kind-swap.out" 2>&1 &
	loop=$!
	# shellcheck disable=SC2064 # the loop as it is now
	trap "kill $loop 2>/dev/null" EXIT
	for _ in $(seq 50); do grep -q swapping "$WORK/$kind-swap.out" && break; sleep 0.05; done
	grep -q swapping "$WORK/$kind-swap.out" || failed "the $kind swap loop did not start"
	for i in $(seq $RACE_MAX); do
		sb "$p" -- /bin/sh -c "cat $src/token; true"
		case "$SB_OUT $SB_ERR" in *"$TOKEN"*) failed "$kind run $i bound the symlink's target: $(show)" ;; esac
		case "$SB_RC:$SB_ERR" in
		0:*)
			eq "$kind run $i: the real source" "$SB_OUT" "$kind source"
			ok=$((ok + 1))
			;;
		"125:"*"open source $src: Too many levels of symbolic links"*) held=$((held + 1)) ;;
		125:*) checked=$((checked + 1)) ;; # by the policy check, or verify_attached
		*) failed "$kind run $i: $(show)" ;;
		esac
		[ $ok -ge $RACE_MIN ] && [ $held -ge $RACE_MIN ] && break
	done
	local line
	for _ in $(seq 1000); do
		{ read -r line <"$src/token"; } 2>/dev/null && [ "$line" = "$TOKEN" ] && seen=$((seen + 1))
	done
	kill $loop
	wait $loop 2>/dev/null
	echo "$kind: $i runs: $ok bound the real source, $held refused at the mount, $checked before or after it;" \
		"outside, the secret showed $seen of 1000 times"
	[ $ok -ge $RACE_MIN ] || failed "$kind: only $ok runs completed"
	[ $held -ge $RACE_MIN ] || failed "$kind: only $held runs met the symlink at the mount"
	[ $seen -gt 0 ] || failed "$kind control: the race never showed the secret outside"
}

t_bind_source_swapped_for_a_symlink_during_launch() {
	# Whoever can write next to an `ro` or `rw` source (the invoker under
	# sudo, a sandbox that binds the parent directory) exchanges it with a
	# symlink to a directory the policy does not bind, in a loop, while
	# sandboxes start. cordon opens each source once without following
	# symlinks and clones the tree from that descriptor: each run binds
	# the real directory or refuses, never the symlink's target.
	SECRET=$WORK/secret
	TOKEN="SECRET-$$-$RANDOM"
	mkdir -m 0700 "$SECRET"
	echo "$TOKEN" >"$SECRET/token"
	race ro
	race rw
}

# ---- a symlink planted at a mount point ----

t_symlink_planted_at_a_mount_point_is_not_followed() {
	# `tmpfs = DIR/sub/in` inside `rw = DIR`: the mount point lies in a
	# directory a sandbox writes, so an earlier run may have replaced
	# DIR/sub/in, or its parent DIR/sub, with a symlink: to a directory
	# beneath the new root (the tmpfs would cover DIR/victim) or outside
	# it. Mount points are opened beneath the new root without following
	# symlinks: the run refuses, or the tmpfs is at DIR/sub/in; never at
	# the symlink's target.
	local dir=$WORK/rw p link target
	mkdir -p "$dir/victim/in" "$WORK/outside/in"
	echo victim >"$dir/victim/marker"
	echo victim-in >"$dir/victim/in/marker"
	echo outside >"$WORK/outside/marker"
	echo outside-in >"$WORK/outside/in/marker"
	p=$(policy mountpoint <<<"[filesystem]
rw = $dir
tmpfs = $dir/sub/in")
	local look="cat $dir/victim/marker $dir/victim/in/marker; $MOUNTCHECK list | grep -c '^$dir/sub/in '"
	local want=$'victim\nvictim-in\n1'
	# Control: nothing planted, the tmpfs is at sub/in, the victim visible.
	mkdir -p "$dir/sub/in"
	sh_in "$p" "$look"
	eq "control: a plain run ($SB_ERR)" "$SB_RC" 0
	eq "control: the tmpfs is at sub/in" "$SB_OUT" "$want"
	for link in "sub/in ../victim" "sub/in $WORK/outside" "sub victim" "sub $WORK/outside"; do
		target=${link#* }
		link=${link%% *}
		rm -rf "${dir:?}/sub"
		mkdir -p "$(dirname "$dir/$link")"
		ln -s "$target" "$dir/$link"
		# Control: on the host, the path leads to the target's files.
		[ -e "$dir/sub/in/marker" ] || failed "control: $dir/sub/in does not lead into $target"
		sb "$p" -- /bin/sh -c "$look"
		case "$SB_RC" in
		125) contains "$link -> $target: refused naming the path" "$SB_ERR" "$dir/$link" ;;
		0) eq "$link -> $target: the tmpfs at sub/in, not at the target" "$SB_OUT" "$want" ;;
		*) failed "$link -> $target: $(show)" ;;
		esac
		echo "$link -> $target: status $SB_RC ${SB_ERR##*: }"
		eq "$link -> $target: the victim untouched on the host" "$(cat "$dir/victim/marker" "$dir/victim/in/marker")" \
			$'victim\nvictim-in'
		eq "$link -> $target: outside untouched" "$(cat "$WORK/outside/marker" "$WORK/outside/in/marker")" \
			$'outside\noutside-in'
	done
}

# ---- nosuid (and nodev) on every mount ----

# nosuid_lacking: the mounts in `mountcheck list` on stdin without nosuid,
# and those without nodev other than /dev's own (its tmpfs, devpts, the
# device nodes and the terminal bound from the host).
nosuid_lacking() {
	awk '{ o = "," $2 "," }
		o !~ /,nosuid,/ { print "no nosuid: " $0 }
		o !~ /,nodev,/ && $1 !~ /^\/dev(\/(pts|null|zero|full|random|urandom|tty|console))?$/ { print "no nodev: " $0 }'
}

t_every_mount_inside_is_nosuid_and_nodev() {
	# Every kind of mount cordon makes: binds (ro, rw, the project),
	# tmpfs, /proc and its read-only parts, /dev, a mask, a protect, a
	# placeholder for a missing guarded path, the git exclude copy.
	local p list
	mkdir -p "$WORK/rwdir" "$WORK/proj/guarded"
	echo secret >"$WORK/proj/.env"
	git -c init.defaultBranch=main init -q "$WORK/proj" || failed "git init"
	p=$(policy nosuid <<<"[filesystem]
rw = $WORK/rwdir
tmpfs = /var/tmp
mask = .env
protect = guarded
protect = missing
protect = .git/hooks/")
	sb "$p" -- "$MOUNTCHECK" list
	eq "mountcheck inside ($SB_ERR)" "$SB_RC" 0
	list=$SB_OUT
	for m in / /usr "$WORK/rwdir" "$WORK/proj" /var/tmp /proc /proc/sys /dev /dev/pts /dev/shm \
		"$WORK/proj/.env" "$WORK/proj/guarded" "$WORK/proj/missing" "$WORK/proj/.git/info/exclude"; do
		contains "a mount at $m" "$list" $'\n'"$m "
	done
	eq "mounts without nosuid or nodev" "$(printf '%s\n' "$list" | nosuid_lacking)" ""
	# On a terminal, the terminal is bound at /dev/console too.
	list=$(cd "$WORK/proj" && "$HELPERS/ptyrun" -t 20 -- "$CORDON" run --policy "$p" -- "$MOUNTCHECK" list </dev/null |
		tr -d '\r')
	no_sanitizer_report "$list"
	contains "on a terminal, a mount at /dev/console" "$list" $'\n'"/dev/console "
	eq "on a terminal, mounts without nosuid or nodev" "$(printf '%s\n' "$list" | nosuid_lacking)" ""
	# Control: the check finds such mounts where they are.
	local outside
	outside=$("$MOUNTCHECK" list | nosuid_lacking | head -n 1)
	[ -n "$outside" ] || failed "control: outside, every mount is nosuid and nodev"
	echo "control: outside, $outside"
}

t_root_host_mounts_without_nosuid_are_nosuid_inside() {
	# Mounts the host made without nosuid, in a mount namespace of the
	# test's own: a tmpfs below the project holding a setuid-root program,
	# /dev (whose device nodes cordon binds) and /dev/pts (the terminal's,
	# bound at /dev/console). Outside, the program makes an unprivileged
	# user root; inside the sandbox every one of them is nosuid (cordon
	# sets it on the whole cloned tree, and on each node it binds) and the
	# program runs with the user's own uid.
	local p agent_uid out
	[ -n "${CORDON_AGENT_USER:-}" ] || failed "CORDON_AGENT_USER is not set (run-as.sh sets it)"
	agent_uid=$(id -u "$CORDON_AGENT_USER")
	mkdir -p "$WORK/proj/sub"
	p=$(policy suidhost <<<"[sandbox]
user = $CORDON_AGENT_USER")
	cat >"$WORK/suidhost.sh" <<EOF
mount -t tmpfs -o mode=0755 cordon-suid-test "$WORK/proj/sub" || exit 1
cp "$TRY" "$WORK/proj/sub/try-suid" && chmod 4755 "$WORK/proj/sub/try-suid" || exit 1
mount -o remount,bind,suid /dev && mount -o remount,bind,suid /dev/pts || exit 1
echo "outside: \$(setpriv --reuid="$CORDON_AGENT_USER" --regid="$CORDON_AGENT_USER" --clear-groups "$WORK/proj/sub/try-suid" euid)"
"$MOUNTCHECK" list | grep -E '^/dev(/pts)? ' | sed 's/^/outside: /'
cd "$WORK/proj" && "$HELPERS/ptyrun" -t 20 -- "$CORDON" run --policy "$p" -- \
	/bin/sh -c '$MOUNTCHECK list | grep -E "^($WORK/proj/sub|/dev/null|/dev/console) "; ./sub/try-suid euid' </dev/null
echo "rc=\$?"
EOF
	out=$(unshare -m --propagation private sh "$WORK/suidhost.sh" 2>&1 | tr -d '\r')
	no_sanitizer_report "$out"
	contains "control: outside, the setuid program makes the user root" "$out" "outside: 0"
	local o
	for m in /dev /dev/pts; do
		o=$(opts_of "outside: $m" <<<"$out")
		[ "$o" != none ] || failed "control: no mount at $m outside: $out"
		lacks "control: outside, $m allows setuid" ",$o," ",nosuid,"
	done
	contains "the sandbox ran" "$out" "rc=0"
	for m in "$WORK/proj/sub" /dev/null /dev/console; do
		contains "inside, $m is nosuid" ",$(opts_of "$m" <<<"$out")," ",nosuid,"
	done
	contains "inside, the program keeps the user's uid" "$out" $'\n'"$agent_uid"$'\n'
}

# opts_of TARGET: the options of TARGET's mount in `mountcheck list` lines on
# stdin (the last one: the one on top); "none" if there is none.
opts_of() {
	awk -v t="$1" 'substr($0, 1, length(t) + 1) == t " " { o = substr($0, length(t) + 2) } END { print (o == "" ? "none" : o) }'
}

# ---- unshare and clone with each namespace flag ----

# default_without_newuser: RULES becomes the built-in default profile's
# rules, as `cordon explain` prints what the binary compiled in, without
# those for CLONE_NEWUSER: a profile where a new user namespace is allowed,
# so the capabilities it brings cannot explain a refusal, and what refuses
# CLONE_NEWUSER|FLAG is FLAG's own rule.
default_without_newuser() {
	local p out
	p=$(policy explain-default <<<$'[seccomp]\nprofile = default')
	out=$("$CORDON" explain "$p" --verbose 2>&1)
	no_sanitizer_report "$out"
	RULES="default allow
$(awk '$NF ~ /^seccomp-profiles\/default\.profile:/ && !/CLONE_NEWUSER/ {
		sub(/^[ \t]+/, ""); sub(/[ \t]+[^ \t]+$/, ""); print }' <<<"$out")"
	has_line "the default profile's rules, from explain" "$RULES" "mount deny"
}

# ns_attempts POLICY FLAGS...: inside a sandbox, try unshare and clone
# with each of FLAGS ("net", "user+net"); SB_OUT has one line for each,
# "HOW FLAGS RESULT".
ns_attempts() {
	local p=$1
	shift
	sb "$p" -- /bin/sh -c 'try=$1; shift; for how in unshare clone; do for f; do echo "$how $f $($try ns $how $f)"; done; done' \
		sh "$TRY" "$@"
	[ "$SB_RC" -eq 0 ] || failed "sandbox run failed: $(show)"
}

t_seccomp_denies_every_namespace_flag() {
	# The default profile refuses unshare and clone with each CLONE_NEW*
	# flag. Control: no profile, and a user namespace with it works. Alone,
	# the flags other than CLONE_NEWUSER need a capability the command
	# never has, so the EPERM could come from the kernel: the same flag
	# with CLONE_NEWUSER, under the default profile less its CLONE_NEWUSER
	# rules, is refused by that flag's rule alone.
	local flags=(user ns pid net ipc uts cgroup time) f both=() p default none nouser
	for f in "${flags[@]:1}"; do both+=("user+$f"); done
	p=$(policy ns-default <<<$'[seccomp]\nprofile = default')
	ns_attempts "$p" "${flags[@]}"
	default=$SB_OUT
	p=$(policy ns-none <<<$'[seccomp]\nprofile = none')
	ns_attempts "$p" user "${both[@]}"
	none=$SB_OUT
	default_without_newuser
	p=$(profile_policy ns-nouser <<<"$RULES")
	ns_attempts "$p" user "${both[@]}"
	nouser=$SB_OUT
	for how in unshare clone; do
		has_line "control: that profile allows $how(user)" "$nouser" "$how user ok"
		for f in "${flags[@]}"; do
			# clone cannot carry CLONE_NEWTIME (its bit is the exit
			# signal's): only unshare and clone3 (ENOSYS, escape.sh) take it.
			[ "$how:$f" = clone:time ] && continue
			has_line "default profile: $how($f)" "$default" "$how $f EPERM"
			if [ "$f" = user ]; then
				has_line "control: $how(user) without a profile" "$none" "$how user ok"
				continue
			fi
			has_line "control: $how(user+$f) without a profile" "$none" "$how user+$f ok"
			has_line "$how(user+$f), the default profile's $f rule alone" "$nouser" "$how user+$f EPERM"
		done
	done
}

# has_line WHAT TEXT LINE: TEXT has LINE as one of its lines.
has_line() {
	contains "$1" $'\n'"$2"$'\n' $'\n'"$3"$'\n'
}

# profile_policy NAME: writes $WORK/NAME.profile from stdin and a policy
# using it; prints the policy's path.
profile_policy() {
	cat >"$WORK/$1.profile"
	policy "$1" <<<"[seccomp]
profile = $WORK/$1.profile
"
}

# ---- the host's root, detached ----

# After pivot_root the host's root is stacked under the new one; cordon
# detaches it. Left attached it is not reachable by path, but it stays in
# the sandbox's mount table (a handle to the host's whole tree for anything
# that can get a descriptor on it). Exactly one mount sits at / inside.
# Control: the same count without a sandbox is read the same way.
t_host_root_is_detached_after_pivot() {
	local p roots
	p=$(policy detached <<<"[landlock]
mode = off
[seccomp]
profile = none")
	sb "$p" -- /bin/sh -c 'while read -r _ _ _ _ mp _; do [ "$mp" = / ] && echo ROOT; done </proc/self/mountinfo; true'
	eq "exit" "$SB_RC" 0
	eq "mounts at / inside" "$(printf '%s\n' "$SB_OUT" | grep -c ROOT)" "1"
	roots=$(while read -r _ _ _ _ mp _; do [ "$mp" = / ] && echo ROOT; done </proc/self/mountinfo | grep -c ROOT)
	[ "$roots" -ge 1 ] || failed "control: the host's mount table shows no root"
	# The sandbox's one root is its own tmpfs, not the host's.
	sb "$p" -- /bin/sh -c "sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \\/ .* - \\([^ ]*\\) .*/\\1/p' /proc/self/mountinfo"
	eq "the root inside is a tmpfs" "$SB_OUT" "tmpfs"
}

run_tests "${1:-}"
