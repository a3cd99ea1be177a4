#!/usr/bin/env bash
# The agent's home: `home = persist` (a directory kept per invoking user and
# policy name) and `home_copy` (files of the invoker's home copied one way
# into the agent's at every start). Each refusal and each boundary has a
# control.
. "$(dirname "$0")/lib.sh"

# Where this run keeps persistent homes (docs/policy.md), and the prefix of
# every policy name this suite uses, so what it leaves is removed at the end.
if [ $IS_ROOT -eq 1 ]; then
	STATE=/var/lib/cordon/home/$ME
else
	STATE=$MYHOME/.local/state/cordon/home
fi
TAG=it-$$
# What home_copy copies from: a directory of the invoker's home.
SRC_REL=.cordon-$TAG
SRC=$MYHOME/$SRC_REL
cleanup_home() {
	rm -rf "$STATE"/"$TAG"-* "$MYHOME"/.cordon-"$TAG"*
	cleanup_work
}
trap cleanup_home EXIT

per_test_setup() {
	rm -rf "$SRC" "$MYHOME"/.cordon-"$TAG"-*
	mkdir -p "$SRC"
}

# home_policy NAME [LINES]: a policy named $TAG-NAME (lib.sh's base names it) with home = persist
# (unless LINES set home) and LINES in [sandbox].
home_policy() {
	local name=$TAG-$1
	printf '[sandbox]\n%s\n' "${2:-home = persist}" | policy "$name"
}

# ---- home = persist ----

t_persist_keeps_home_between_runs() {
	local p t
	p=$(home_policy keep)
	sh_in "$p" 'echo one > "$HOME/kept"; echo written'
	eq "run 1" "$SB_OUT" "written"
	sh_in "$p" 'cat "$HOME/kept"'
	eq "run 2 sees what run 1 wrote" "$SB_OUT" "one"
	eq "on the host, in the state directory" "$(cat "$STATE/$TAG-keep/kept")" "one"
	# Control: with home = tmpfs the same two runs start empty.
	t=$(home_policy tmp "home = tmpfs")
	sh_in "$t" 'echo one > "$HOME/kept"; echo written'
	sh_in "$t" 'cat "$HOME/kept" 2>&1; true'
	contains "tmpfs: gone" "$SB_OUT" "No such file"
}

t_persist_dir_mode_and_owner() {
	local p
	p=$(home_policy mode)
	sh_in "$p" 'stat -c "%a %u" "$HOME"'
	eq "inside" "$SB_OUT" "700 $MYUID"
	eq "on the host" "$(stat -c '%a %u' "$STATE/$TAG-mode")" "700 $MYUID"
	# Every directory between the trusted root (/var/lib, or the
	# invoker's home) and the home: the invoker's (root's as root), and
	# writable by nobody else.
	local d=$STATE stop=$MYHOME
	[ $IS_ROOT -eq 1 ] && stop=/var/lib
	while [ "$d" != "$stop" ] && [ "$d" != / ]; do
		eq "$d owner" "$(stat -c %u "$d")" "$MYUID"
		case "$(stat -c %A "$d")" in
		?????w???? | ????????w?) failed "$d is writable by group or others: $(stat -c %A "$d")" ;;
		esac
		d=$(dirname "$d")
	done
}

t_root_persist_belongs_to_the_policy_user() {
	local agent=${CORDON_AGENT_USER:?} auid p
	auid=$(id -u "$agent")
	p=$(home_policy agent "home = persist
user = $agent")
	sh_in "$p" 'id -u; stat -c "%a %u" "$HOME"; echo x > "$HOME/f" && echo wrote'
	eq "inside" "$SB_OUT" "$auid
700 $auid
wrote"
	eq "on the host" "$(stat -c '%a %u' "$STATE/$TAG-agent")" "700 $auid"
	eq "parent root-owned" "$(stat -c %u "$STATE")" 0
	case "$(stat -c %A "$STATE")" in
	?????w???? | ????????w?) failed "$STATE is writable by group or others" ;;
	esac
}

t_persist_is_per_policy_name() {
	local a b
	a=$(home_policy one)
	b=$(home_policy two)
	sh_in "$a" 'echo from-one > "$HOME/mark"; echo ok'
	sh_in "$b" 'cat "$HOME/mark" 2>&1; true'
	contains "policy two does not see policy one's home" "$SB_OUT" "No such file"
	# Control: policy one does.
	sh_in "$a" 'cat "$HOME/mark"'
	eq "policy one" "$SB_OUT" "from-one"
}

t_persist_symlink_is_refused() {
	local p
	p=$(home_policy link)
	mkdir -p "$STATE" "$WORK/elsewhere"
	chmod 0700 "$WORK/elsewhere"
	ln -s "$WORK/elsewhere" "$STATE/$TAG-link"
	sb "$p" -- /bin/sh -c 'echo planted > "$HOME/x"'
	eq "refused ($(show))" "$SB_RC" 125
	contains "names it" "$SB_ERR" "$STATE/$TAG-link is a symlink"
	[ ! -e "$WORK/elsewhere/x" ] || failed "the run wrote through the symlink"
	# Control: without the symlink the same run works.
	rm "$STATE/$TAG-link"
	sh_in "$p" 'echo fine > "$HOME/x"; cat "$HOME/x"'
	eq "control" "$SB_OUT" "fine"
}

# A symlink in place of a directory above the home (the per-user or
# state directory) refuses the run too.
t_persist_symlink_above_is_refused() {
	local p saved=$STATE.saved-$TAG
	p=$(home_policy above)
	mkdir -p "$STATE" "$WORK/fake"
	chmod 0700 "$WORK/fake"
	mv "$STATE" "$saved"
	ln -s "$WORK/fake" "$STATE"
	sb "$p" -- /bin/true
	rm "$STATE"
	mv "$saved" "$STATE"
	eq "refused ($(show))" "$SB_RC" 125
	contains "names it" "$SB_ERR" "$STATE is a symlink"
	[ -z "$(ls -A "$WORK/fake")" ] || failed "something was made through the symlink: $(ls -A "$WORK/fake")"
	sb "$p" -- /bin/true
	eq "control: the real directory ($(show))" "$SB_RC" 0
}

# ---- home_copy ----

t_home_copy_copies_one_way_at_every_start() {
	local p
	echo '{"model":"x"}' >"$SRC/settings.json"
	mkdir -p "$SRC/agent/sub"
	echo hook >"$SRC/agent/sub/hook.sh"
	p=$(home_policy copy "home = persist
home_copy = $SRC_REL/settings.json
home_copy = $SRC_REL/agent")
	sh_in "$p" "cd \"\$HOME/$SRC_REL\" && cat settings.json agent/sub/hook.sh && echo changed > settings.json && echo evil > agent/sub/hook.sh && echo new > agent/added && echo done"
	eq "copied" "$SB_OUT" '{"model":"x"}
hook
done'
	eq "the original file is unchanged" "$(cat "$SRC/settings.json")" '{"model":"x"}'
	eq "the original tree is unchanged" "$(cat "$SRC/agent/sub/hook.sh")" "hook"
	[ ! -e "$SRC/agent/added" ] || failed "a file the agent added reached the original"
	# The next start restores the invoker's version; what the agent
	# added beside it stays (its home persists).
	sh_in "$p" "cd \"\$HOME/$SRC_REL\" && cat settings.json agent/sub/hook.sh agent/added"
	eq "restored" "$SB_OUT" '{"model":"x"}
hook
new'
	# With home = tmpfs the copy is made into the fresh tmpfs.
	p=$(home_policy copytmp "home = tmpfs
home_copy = $SRC_REL/agent")
	sh_in "$p" "cat \"\$HOME/$SRC_REL/agent/sub/hook.sh\""
	eq "tmpfs" "$SB_OUT" "hook"
	cli explain "$p"
	contains "explain names the copy" "$SB_OUT" "home_copy  $SRC/agent -> $MYHOME/$SRC_REL/agent"
}

t_home_copy_does_not_follow_source_symlinks() {
	local p secret=$MYHOME/.cordon-$TAG-id_rsa
	echo "PRIVATE KEY" >"$secret"
	chmod 0600 "$secret"
	mkdir -p "$SRC/cfg"
	echo fine >"$SRC/cfg/plain"
	ln -s "$secret" "$SRC/cfg/key"
	ln -s "$secret" "$SRC/toplink"
	# Control: outside cordon, following the links reads the secret.
	eq "control" "$(cat "$SRC/cfg/key")" "PRIVATE KEY"
	p=$(home_policy srclink "home = persist
home_copy = $SRC_REL/cfg
home_copy = $SRC_REL/toplink")
	sh_in "$p" "cat \"\$HOME/$SRC_REL/cfg/plain\"; ls -A \"\$HOME/$SRC_REL\" \"\$HOME/$SRC_REL/cfg\"; cat \"\$HOME/$SRC_REL/cfg/key\" \"\$HOME/$SRC_REL/toplink\" 2>&1; true"
	contains "the plain file is copied" "$SB_OUT" "fine"
	lacks "the secret is not" "$SB_OUT" "PRIVATE KEY"
	contains "warned (link in a tree)" "$SB_ERR" "~/$SRC_REL/cfg/key is a symlink; not copied"
	contains "warned (link named)" "$SB_ERR" "~/$SRC_REL/toplink is a symlink; not copied"
}

t_home_copy_does_not_write_through_planted_symlink() {
	local p victim=$MYHOME/.cordon-$TAG-victim vdir=$MYHOME/.cordon-$TAG-vdir
	echo "the invoker's" >"$victim"
	mkdir -p "$vdir" "$SRC/dir"
	echo original >"$SRC/settings.json"
	echo inner >"$SRC/dir/inner"
	p=$(home_policy plant "home = persist
home_copy = $SRC_REL/settings.json
home_copy = $SRC_REL/dir")
	# Run 1: the agent replaces its copies with symlinks to the
	# invoker's files outside the sandbox (absolute host paths).
	sh_in "$p" "cd \"\$HOME/$SRC_REL\" && rm -rf settings.json dir && ln -s $victim settings.json && ln -s $vdir dir && echo planted"
	eq "planted" "$SB_OUT" "planted"
	# Control: on the host, following what was planted reaches the victims.
	eq "control: the planted link leads to the victim" "$(cat "$STATE/$TAG-plant/$SRC_REL/settings.json")" "the invoker's"
	[ "$(readlink -f "$STATE/$TAG-plant/$SRC_REL/dir")" = "$(readlink -f "$vdir")" ] || failed "control: dir link"
	# Run 2: the copy replaces the links, never writes through them.
	sh_in "$p" "cat \"\$HOME/$SRC_REL/settings.json\" \"\$HOME/$SRC_REL/dir/inner\"; test -L \"\$HOME/$SRC_REL/settings.json\" && echo still-a-link; true"
	eq "the copies are back ($(show))" "$SB_OUT" "original
inner"
	eq "the victim is untouched" "$(cat "$victim")" "the invoker's"
	eq "nothing was written into the victim directory" "$(ls -A "$vdir")" ""
}

t_home_copy_cap_refuses() {
	local p
	truncate -s 65M "$SRC/big"
	p=$(home_policy cap "home = tmpfs
home_copy = $SRC_REL/big")
	sb "$p" -- /bin/true
	eq "refused ($(show))" "$SB_RC" 125
	contains "message" "$SB_ERR" "home_copy ~/$SRC_REL/big: more than 64 MiB or 10000 files"
	# Control: under the cap it is copied.
	truncate -s 1M "$SRC/big"
	sh_in "$p" "stat -c %s \"\$HOME/$SRC_REL/big\""
	eq "1 MiB copied" "$SB_OUT" "1048576"
	# The file count too.
	mkdir -p "$SRC/many"
	(cd "$SRC/many" && seq 1 10001 | xargs touch)
	p=$(home_policy capn "home = tmpfs
home_copy = $SRC_REL/many")
	sb "$p" -- /bin/true
	eq "refused: files ($(show))" "$SB_RC" 125
	contains "message" "$SB_ERR" "10000 files"
	rm "$SRC/many/1" "$SRC/many/2"
	sb "$p" -- /bin/true
	eq "control: 9999 files and their directory ($(show))" "$SB_RC" 0
}

# The copy reads with the invoker's rights, not pid 1's: a file the
# invoker cannot read is not copied, and the run says so.
t_home_copy_reads_as_the_invoker() {
	[ $IS_ROOT -eq 0 ] || skip "the invoker is root, who reads every file"
	local p
	echo "not for you" >"$SRC/locked"
	chmod 0000 "$SRC/locked"
	p=$(home_policy locked "home = tmpfs
home_copy = $SRC_REL/locked")
	sb "$p" -- /bin/cat "$MYHOME/$SRC_REL/locked"
	eq "refused ($(show))" "$SB_RC" 125
	contains "message" "$SB_ERR" "home_copy: read ~/$SRC_REL/locked as uid $MYUID: Permission denied"
	chmod 0600 "$SRC/locked"
	sb "$p" -- /bin/cat "$MYHOME/$SRC_REL/locked"
	eq "control: readable, copied ($(show))" "$SB_OUT" "not for you"
}

t_check_refuses_bad_home_copy() {
	local f=$WORK/bad.ini
	printf '[sandbox]\nhome = persist\nhome_copy = /etc/passwd\nhome_copy = ../x\nhome_copy = ~/.x\nhome_copy = a/../../b\n' >"$f"
	cli check "$f"
	eq "refused" "$SB_RC" 2
	contains "absolute" "$SB_OUT" "bad.ini:3: home_copy: '/etc/passwd' must be a path relative"
	contains "dotdot" "$SB_OUT" "bad.ini:4: home_copy: ../x"
	contains "tilde" "$SB_OUT" "bad.ini:5: home_copy: '~/.x'"
	contains "inner dotdot" "$SB_OUT" "bad.ini:6: home_copy: a/../../b"
	printf '[sandbox]\nhome = persist\nhome_copy = .pi/agent\n' >"$f"
	cli check "$f"
	eq "control: a relative path ($SB_OUT)" "$SB_RC" 0
}

run_tests "${1:-}"
