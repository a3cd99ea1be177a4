#!/usr/bin/env bash
# [secrets] and the audit trail a CI system trusts (issue 18): secrets
# are files in /run/secrets and nowhere else (environment, argv, explain,
# audit); the audit log cannot be put where the job could write it, and
# every record parses as JSON with the fields docs/audit.md lists. Each
# refusal has a control that runs. As root and as an unprivileged user.
. "$(dirname "$0")/lib.sh"

# A value no test output contains unless a secret leaked.
VALUE=cordon-secret-$$-$RANDOM
FVALUE=cordon-filesecret-$$-$RANDOM

per_test_setup() {
	mkdir -p "$WORK/sec"
	printf '%s' "$FVALUE" >"$WORK/sec/key"
	chmod 0600 "$WORK/sec/key"
}

# secret_policy NAME [INI]: the base, one env: and one file: secret, an
# audit log in $WORK (outside everything the sandbox writes).
secret_policy() {
	policy "$1" <<EOF
${2:-}
[secrets]
TOKEN = env:CORDON_TEST_TOKEN
deploy.key = file:$WORK/sec/key
[audit]
log = $WORK/$1.audit
EOF
}

# ssb POLICY ARG...: sb with the secret's variable set.
ssb() {
	CORDON_TEST_TOKEN=$VALUE sb "$@"
}

# ---- secrets ----

t_secrets_are_files_with_their_content_mode_and_owner() {
	local p
	p=$(secret_policy files)
	ssb "$p" -- /bin/sh -c 'cat /run/secrets/TOKEN; echo; cat /run/secrets/deploy.key; echo
stat -c "%a %u %g %F" /run/secrets /run/secrets/TOKEN /run/secrets/deploy.key
grep " /run/secrets " /proc/self/mountinfo
echo x >/run/secrets/new 2>/dev/null && echo WROTE; chmod 0644 /run/secrets/TOKEN 2>/dev/null && echo CHMOD; true'
	eq "exit ($(show))" "$SB_RC" 0
	eq "env secret's content" "$(sed -n 1p <<<"$SB_OUT")" "$VALUE"
	eq "file secret's content" "$(sed -n 2p <<<"$SB_OUT")" "$FVALUE"
	eq "directory" "$(sed -n 3p <<<"$SB_OUT")" "500 $MYUID $MYGID directory"
	eq "files" "$(sed -n 4,5p <<<"$SB_OUT")" "400 $MYUID $MYGID regular file
400 $MYUID $MYGID regular file"
	contains "a read-only tmpfs of its own" "$SB_OUT" " ro,nosuid,nodev,noexec"
	contains "tmpfs" "$SB_OUT" "- tmpfs "
	lacks "cannot be written" "$SB_OUT" "WROTE"
	lacks "cannot be changed" "$SB_OUT" "CHMOD"
}

t_root_secrets_belong_to_the_policys_account() {
	local p agent=${CORDON_AGENT_USER:-nobody}
	chmod 0600 "$WORK/sec/key"
	p=$(secret_policy acct "[sandbox]
user = $agent")
	ssb "$p" -- /bin/sh -c 'id -u; stat -c "%a %u %g" /run/secrets /run/secrets/TOKEN; cat /run/secrets/deploy.key'
	eq "exit ($(show))" "$SB_RC" 0
	eq "the account's" "$SB_OUT" "$(id -u "$agent")
500 $(id -u "$agent") $(id -g "$agent")
400 $(id -u "$agent") $(id -g "$agent")
$FVALUE"
}

t_secret_values_are_nowhere_but_their_files() {
	local p audit
	p=$(secret_policy nowhere "[env]
keep = CORDON_TEST_*")
	ssb "$p" -- /bin/sh -c 'tr "\0" "\n" </proc/self/environ; tr "\0" " " </proc/1/cmdline; echo
tr "\0" "\n" </proc/1/environ 2>&1; cat /proc/self/cmdline; ls /run/secrets; true'
	eq "exit ($(show))" "$SB_RC" 0
	lacks "not in the environment, pid 1's or the command's" "$SB_OUT" "$VALUE"
	lacks "the file's neither" "$SB_OUT" "$FVALUE"
	contains "control: pid 1 is cordon" "$SB_OUT" "cordon"
	contains "control: the files are there" "$SB_OUT" "TOKEN"
	lacks "the variable is not passed on, even with keep" "$SB_OUT" "CORDON_TEST_TOKEN="
	lacks "nor on stderr" "$SB_ERR" "$VALUE"
	audit=$(cat "$WORK/nowhere.audit")
	lacks "not in the audit log" "$audit" "$VALUE"
	lacks "not in the audit log (file)" "$audit" "$FVALUE"
	contains "control: the audit names the secret" "$audit" '{"name":"TOKEN","source":"env","from":"CORDON_TEST_TOKEN"}'
	CORDON_TEST_TOKEN=$VALUE cli explain "$p"
	eq "explain ($(show))" "$SB_RC" 0
	lacks "explain: no value" "$SB_OUT" "$VALUE"
	lacks "explain: no file value" "$SB_OUT" "$FVALUE"
	contains "explain names it" "$SB_OUT" "TOKEN"
	contains "explain names its source" "$SB_OUT" "CORDON_TEST_TOKEN"
	contains "explain says keep does not pass it" "$SB_OUT" "is the source of secret TOKEN and is not passed on"
	lacks "explain: not in the environment" "$SB_OUT" "CORDON_TEST_TOKEN="
	CORDON_TEST_TOKEN=$VALUE cli explain "$p" --json
	eq "explain --json ($(show))" "$SB_RC" 0
	lacks "json: no value" "$SB_OUT" "$VALUE"
	lacks "json: no file value" "$SB_OUT" "$FVALUE"
	python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
s = {x["name"]: x for x in doc["secrets"]}
assert s["TOKEN"]["source"] == "env" and s["TOKEN"]["from"] == "CORDON_TEST_TOKEN", s
assert s["deploy.key"]["source"] == "file" and s["deploy.key"]["path"] == "/run/secrets/deploy.key", s
assert not any(e.startswith("CORDON_TEST_TOKEN=") for e in doc["environment"]), doc["environment"]
' <<<"$SB_OUT" || failed "explain --json secrets: $SB_OUT"
}

t_secret_variable_is_removed_even_when_keep_names_it() {
	local p
	p=$(policy keepit <<EOF
[env]
keep = CORDON_TEST_TOKEN
keep = CORDON_TEST_OTHER
[secrets]
TOKEN = env:CORDON_TEST_TOKEN
EOF
)
	CORDON_TEST_TOKEN=$VALUE CORDON_TEST_OTHER=kept sb "$p" -- /usr/bin/env
	eq "exit ($(show))" "$SB_RC" 0
	lacks "the secret's variable" "$SB_OUT" "CORDON_TEST_TOKEN"
	lacks "its value" "$SB_OUT" "$VALUE"
	contains "control: another kept variable" "$SB_OUT" "CORDON_TEST_OTHER=kept"
}

t_missing_secret_fails_closed_naming_it() {
	local p
	p=$(secret_policy missing)
	sb "$p" -- /bin/echo ran
	eq "no variable ($(show))" "$SB_RC" 125
	contains "names the secret and the variable" "$SB_ERR" "secrets: TOKEN: the variable CORDON_TEST_TOKEN is not set"
	lacks "the command did not run" "$SB_OUT" "ran"
	CORDON_TEST_TOKEN= sb "$p" -- /bin/echo ran
	eq "empty variable ($(show))" "$SB_RC" 125
	contains "empty: named" "$SB_ERR" "secrets: TOKEN: the variable CORDON_TEST_TOKEN is empty"
	rm "$WORK/sec/key"
	ssb "$p" -- /bin/echo ran
	eq "no file ($(show))" "$SB_RC" 125
	contains "names the secret and the file" "$SB_ERR" "secrets: deploy.key: file $WORK/sec/key"
	head -c $((1024 * 1024 + 1)) /dev/zero >"$WORK/sec/key"
	ssb "$p" -- /bin/echo ran
	eq "too big ($(show))" "$SB_RC" 125
	contains "too big: why" "$SB_ERR" "not a regular file of at most 1 MiB"
	printf '%s' "$FVALUE" >"$WORK/sec/key"
	ssb "$p" -- /bin/echo ran
	eq "control: both there ($(show))" "$SB_RC" 0
	eq "control: it ran" "$SB_OUT" "ran"
}

# Outside runner mode the launcher reads as the invoker: a file the
# invoker cannot read is refused; root (not under sudo) reads any.
t_secret_file_is_read_with_the_invokers_rights() {
	local p
	p=$(secret_policy rights)
	chmod 0000 "$WORK/sec/key"
	ssb "$p" -- /bin/cat /run/secrets/deploy.key
	if [ $IS_ROOT -eq 1 ]; then
		eq "root reads a mode 0000 file ($(show))" "$SB_RC" 0
		eq "its content" "$SB_OUT" "$FVALUE"
		return
	fi
	eq "unreadable by the invoker ($(show))" "$SB_RC" 125
	contains "why" "$SB_ERR" "Permission denied"
	chmod 0400 "$WORK/sec/key"
	ssb "$p" -- /bin/true
	eq "control: readable ($(show))" "$SB_RC" 0
}

t_secret_file_behind_a_symlink_is_refused() {
	local p
	mkdir -p "$WORK/real"
	printf '%s' "$FVALUE" >"$WORK/real/key"
	ln -s "$WORK/real" "$WORK/link"
	p=$(policy symsec <<EOF
[secrets]
K = file:$WORK/link/key
EOF
)
	sb "$p" -- /bin/cat /run/secrets/K
	eq "through a symlink ($(show))" "$SB_RC" 125
	contains "why" "$SB_ERR" "symlink"
	p=$(policy symsec2 <<EOF
[secrets]
K = file:$WORK/real/key
EOF
)
	sb "$p" -- /bin/cat /run/secrets/K
	eq "control: the real path ($(show))" "$SB_RC" 0
	eq "control: content" "$SB_OUT" "$FVALUE"
}

t_check_rejects_bad_secret_names_and_sources() {
	local p bad
	for bad in 'a/b = env:X' '.. = env:X' '. = env:X' 'sp ace = env:X' "$(printf 'n%.0s' {1..65}) = env:X" \
		'A = env:1X' 'A = env:' 'A = file:relative/key' 'A = file:~/key' 'A = file:/' 'A = vault:x' \
		'A = X'; do
		p=$(policy badsec <<<"[secrets]
$bad")
		cli check "$p"
		eq "check refuses '$bad' ($SB_OUT$SB_ERR)" "$SB_RC" 2
		contains "'$bad': the line" "$SB_OUT$SB_ERR" "badsec.ini:"
		contains "'$bad': names secrets" "$SB_OUT$SB_ERR" "secrets:"
	done
	p=$(policy dupsec <<<"[secrets]
A = env:X
A = env:Y")
	cli check "$p"
	eq "duplicate ($SB_OUT)" "$SB_RC" 2
	contains "duplicate: why" "$SB_OUT" "A is already defined at line"
	p=$(policy goodsec <<<"[secrets]
NPM_TOKEN = env:NPM_TOKEN
deploy.key-2 = file:/etc/cordon//deploy.key
$(printf 'n%.0s' {1..64}) = env:X")
	cli check "$p"
	eq "control: valid names and sources ($SB_OUT)" "$SB_RC" 0
}

t_secrets_mount_needs_a_place_of_its_own() {
	local p
	mkdir -p "$WORK/hostrun"
	p=$(policy underbind <<EOF
[filesystem]
ro = /run
[secrets]
TOKEN = env:CORDON_TEST_TOKEN
EOF
)
	cli check "$p"
	eq "a bind above /run/secrets ($SB_OUT)" "$SB_RC" 2
	contains "why" "$SB_OUT" "secrets: /run/secrets is below /run"
	p=$(policy overit <<EOF
[filesystem]
tmpfs = /run/secrets/sub
[secrets]
TOKEN = env:CORDON_TEST_TOKEN
EOF
)
	cli check "$p"
	eq "a mount below it ($SB_OUT)" "$SB_RC" 2
	p=$(policy runtmpfs <<EOF
[filesystem]
tmpfs = /run
[secrets]
TOKEN = env:CORDON_TEST_TOKEN
EOF
)
	ssb "$p" -- /bin/sh -c 'cat /run/secrets/TOKEN; echo; touch /run/other && echo run-writable'
	eq "control: under a tmpfs /run ($(show))" "$SB_RC" 0
	eq "control: content" "$SB_OUT" "$VALUE
run-writable"
}

# ---- the audit log ----

t_audit_log_inside_what_the_sandbox_writes_is_refused() {
	local p rc
	mkdir -p "$WORK/rwdir" "$WORK/proj/logs" "$WORK/other"
	for spec in "proj:$WORK/proj/logs/a.jsonl:" "rw:$WORK/rwdir/sub/a.jsonl:rw = $WORK/rwdir" \
		"root:$WORK/other/a.jsonl:project_root = $WORK/other"; do
		local name=${spec%%:*} rest=${spec#*:}
		local log=${rest%%:*} extra=${rest#*:}
		p=$(policy "forge$name" <<EOF
[filesystem]
$extra
[audit]
log = $log
EOF
)
		sb "$p" -- /bin/echo ran
		eq "$name: refused ($(show))" "$SB_RC" 125
		contains "$name: why" "$SB_ERR" "could forge its own audit trail"
		lacks "$name: nothing ran" "$SB_OUT" "ran"
		[ -e "$log" ] && failed "$name: the log was created"
		cli explain "$p"
		contains "$name: explain says so" "$SB_OUT" "REFUSED"
	done
	p=$(policy forgectl <<EOF
[filesystem]
rw = $WORK/rwdir
[audit]
log = $WORK/logs/a.jsonl
EOF
)
	sb "$p" -- /bin/echo ran
	eq "control: outside ($(show))" "$SB_RC" 0
	contains "control: written" "$(cat "$WORK/logs/a.jsonl")" '"event":"sandbox_start"'
}

t_audit_log_directory_is_made_without_following_symlinks() {
	local p
	mkdir -p "$WORK/realdir"
	ln -s "$WORK/realdir" "$WORK/linkdir"
	p=$(policy auditlink <<<"[audit]
log = $WORK/linkdir/new/a.jsonl")
	sb "$p" -- /bin/echo ran
	eq "through a symlink ($(show))" "$SB_RC" 125
	contains "why" "$SB_ERR" "symlink"
	[ -e "$WORK/realdir/new" ] && failed "made a directory through the symlink"
	p=$(policy auditnew <<<"[audit]
log = $WORK/made/deeper/a.jsonl")
	sb "$p" -- /bin/echo ran
	eq "control: a new directory ($(show))" "$SB_RC" 0
	eq "made 0750, the invoker's" "$(stat -c '%a %u' "$WORK/made" "$WORK/made/deeper")" "750 $MYUID
750 $MYUID"
	eq "the log 0600" "$(stat -c '%a' "$WORK/made/deeper/a.jsonl")" "600"
}

t_audit_start_and_exit_records_have_the_documented_fields() {
	local p log=$WORK/fields.audit
	p=$(policy fields <<EOF
[limits]
timeout = 30s
nofile = 256
[secrets]
TOKEN = env:CORDON_TEST_TOKEN
[audit]
log = $log
EOF
)
	ssb "$p" -- /bin/sh -c 'exit 3'
	eq "exit ($(show))" "$SB_RC" 3
	sb "$p" -- /bin/true
	eq "a missing secret: refused before any record ($(show))" "$SB_RC" 125
	python3 - "$log" "$p" "$MYUID" "$(sha256sum <"$p" | cut -d' ' -f1)" "$WORK/proj" "$VALUE" <<'EOF' || failed "records: $(cat "$log")"
import json, sys
log, pol, uid, sha, proj, value = sys.argv[1:]
text = open(log).read()
assert value not in text
recs = [json.loads(l) for l in text.splitlines()]
common = {"time", "event", "policy", "sandbox_id", "uid"}
for r in recs:
    assert common <= set(r), r
    assert r["policy"] == "fields" and r["uid"] == int(uid), r
start = [r for r in recs if r["event"] == "sandbox_start"]
exits = [r for r in recs if r["event"] == "sandbox_exit"]
assert len(start) == 1 and len(exits) == 1, recs
s, e = start[0], exits[0]
want = {"policy_file", "policy_sha256", "user", "gid", "run_uid", "run_gid", "run_user", "runner", "root_kept",
        "idmap", "cwd", "argv", "projects", "project_roots", "namespaces", "network", "seccomp", "landlock",
        "limits", "secrets"}
assert want <= set(s), want - set(s)
assert s["policy_sha256"] == sha, (s["policy_sha256"], sha)
assert s["cwd"] == proj and s["projects"] == [proj] and s["argv"] == ["/bin/sh", "-c", "exit 3"], s
assert {"mount", "pid", "net", "ipc", "uts", "cgroup"} <= set(s["namespaces"]), s["namespaces"]
assert s["seccomp"] == "default" and set(s["landlock"]) == {"mode", "abi", "applied"}, s
assert s["limits"] == {"timeout_ms": 30000, "memory_bytes": None, "pids": None, "cpu_milli": None, "nofile": 256, "cgroup": None}, s["limits"]
assert s["secrets"] == [{"name": "TOKEN", "source": "env", "from": "CORDON_TEST_TOKEN"}], s["secrets"]
assert e["sandbox_id"] == s["sandbox_id"] and e["status"] == 3 and e["reason"] == "exit", e
assert isinstance(e["duration_ms"], int), e
EOF
}

run_tests "${1:-}"
