#!/usr/bin/env bash
# Real coding agents inside cordon, with the shipped example policies
# (policy/examples/pi.ini, claude.ini, codex.ini) adapted to the test: the
# real `pi` driven by a scripted model server (an OpenAI-compatible
# chat-completions endpoint on the host's loopback, below) through tool
# calls that edit the project and try to get out; `claude --version` and
# `codex --version` inside their policies. The agents come from
# scripts/setup (pinned, from the npm registry, in /opt/cordon-test-agents);
# without them every agent test fails, naming the reason. Every allow line
# of the examples is dropped: nothing leaves this machine, the only host a
# sandbox may reach is the model server the test starts.
# Runs as root and as an unprivileged user.
. "$(dirname "$0")/lib.sh"

AGENTS=${CORDON_TEST_AGENTS:-/opt/cordon-test-agents}

command -v python3 >/dev/null || {
	echo "Bail out! python3 is not installed (scripts/setup installs it)"
	exit 1
}
command -v curl >/dev/null || {
	echo "Bail out! curl is not installed (scripts/setup installs it)"
	exit 1
}

# Persistent homes of this run's policies (docs/policy.md), and the prefix
# of their names, so what the suite leaves is removed at the end.
if [ $IS_ROOT -eq 1 ]; then
	STATE=/var/lib/cordon/home/$ME
else
	STATE=$MYHOME/.local/state/cordon/home
fi
TAG=agents-it-$$
# The agent's configuration, in the invoker's home, copied in by home_copy.
CONF_REL=.cordon-$TAG
# What the agent must not read: a file in the invoker's ~/.ssh.
SSH_DIR=$MYHOME/.ssh
SSH_MADE=0
[ -d "$SSH_DIR" ] || SSH_MADE=1
SECRET=$SSH_DIR/cordon-$TAG
cleanup_agents() {
	rm -rf "$STATE"/"$TAG"-* "${MYHOME:?}/$CONF_REL" "$SECRET" /usr/cordon-"$TAG"
	[ $SSH_MADE -eq 0 ] || rmdir "$SSH_DIR" 2>/dev/null
	cleanup_work
}
trap cleanup_agents EXIT

# need_agents NAME...: the test agents are installed, or the test ends
# with the reason (a skip that tests/skips does not allow: it fails).
need_agents() {
	local a why
	for a in node "$@"; do
		[ -x "$AGENTS/bin/$a" ] && continue
		why="not installed (scripts/setup installs them from the npm registry)"
		[ -s "$AGENTS/setup-failed" ] && why=$(cat "$AGENTS/setup-failed")
		skip "the test agent $AGENTS/bin/$a is missing: $why"
	done
}

# agent_policy EXAMPLE NAME: the shipped example EXAMPLE.ini adapted to the
# test (printed path): named $TAG-NAME, this run's project root, the agents'
# prefix first in PATH (their node, whatever the host's), no allow line of
# the example (nothing may leave the machine), a timeout; plus stdin.
agent_policy() {
	local ex=$CORDON_EXAMPLES/$1.ini f=$WORK/$2.ini
	[ -f "$ex" ] || failed "no example policy $ex"
	sed -e "s/^name = .*/name = $TAG-$2/" -e '/^allow = /d' "$ex" >"$f"
	cat >>"$f" <<EOF

[filesystem]
project_root = $WORK/proj
[env]
set = PATH=$AGENTS/bin:/usr/local/bin:/usr/bin:/bin
[limits]
timeout = 180s
EOF
	cat >>"$f"
	echo "$f"
}

# ---- the scripted model server ----

# model_server SCRIPT ADDR: starts an OpenAI-compatible chat-completions
# server on ADDR (a loopback address of the host) that answers request N
# with the Nth entry of the JSON list in SCRIPT ({"tool": NAME, "args":
# {...}} for a tool call, {"text": ...} for a final message; past the end,
# a final message), streamed or not as asked, and logs every request body
# as a line of $WORK/model.log. Sets MODEL_PORT; the server ends with the test.
model_server() {
	cat >"$WORK/model.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

script = json.load(open(sys.argv[1]))
log = open(sys.argv[3], "a")

class Model(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        log.write(json.dumps(body) + "\n")
        log.flush()
        # The step is how many tool results the conversation holds.
        n = sum(1 for m in body.get("messages", []) if m.get("role") == "tool")
        step = script[n] if n < len(script) else {"text": "all done"}
        if "tool" in step:
            call = {"index": 0, "id": "call_%d" % n, "type": "function",
                    "function": {"name": step["tool"], "arguments": json.dumps(step["args"])}}
            delta, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        else:
            delta, finish = {"role": "assistant", "content": step["text"]}, "stop"
        usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
        base = {"id": "chatcmpl-%d" % n, "created": 0, "model": body.get("model", "scripted")}
        if body.get("stream"):
            chunks = [dict(base, object="chat.completion.chunk",
                           choices=[{"index": 0, "delta": delta, "finish_reason": None}]),
                      dict(base, object="chat.completion.chunk",
                           choices=[{"index": 0, "delta": {}, "finish_reason": finish}]),
                      dict(base, object="chat.completion.chunk", choices=[], usage=usage)]
            out = "".join("data: %s\n\n" % json.dumps(c) for c in chunks) + "data: [DONE]\n\n"
            ctype = "text/event-stream"
        else:
            msg = dict(delta)
            if "tool_calls" in msg:
                for c in msg["tool_calls"]:
                    del c["index"]
            out = json.dumps(dict(base, object="chat.completion", usage=usage,
                                  choices=[{"index": 0, "message": msg, "finish_reason": finish}]))
            ctype = "application/json"
        data = out.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

srv = HTTPServer((sys.argv[2], 0), Model)
with open(sys.argv[4] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[4] + ".tmp", sys.argv[4])
srv.serve_forever()
EOF
	rm -f "$WORK/model.port" "$WORK/model.log"
	python3 "$WORK/model.py" "$1" "$2" "$WORK/model.log" "$WORK/model.port" >"$WORK/model.err" 2>&1 &
	# shellcheck disable=SC2064 # this server's pid, now
	trap "kill $! 2>/dev/null" EXIT
	local _
	for _ in $(seq 100); do [ -s "$WORK/model.port" ] && break; sleep 0.05; done
	MODEL_PORT=$(cat "$WORK/model.port" 2>/dev/null)
	[ -n "$MODEL_PORT" ] || failed "the model server did not start: $(cat "$WORK/model.err")"
}

# tool_results N: what the agent sent back as the result of tool call N
# (0-based), from the last request the model server logged.
tool_results() {
	python3 - "$WORK/model.log" "$1" <<'EOF'
import json, sys
last = json.loads(open(sys.argv[1]).read().splitlines()[-1])
tools = [m for m in last["messages"] if m.get("role") == "tool"]
c = tools[int(sys.argv[2])]["content"]
print(c if isinstance(c, str) else " ".join(p.get("text", "") for p in c))
EOF
}

# pi_policy NAME: pi.ini adapted, with the model server allowed and pi's
# configuration (a provider for the model server) copied in by home_copy.
pi_policy() {
	local addr=$1 name=$2 conf=$MYHOME/$CONF_REL/agent
	mkdir -p "$conf"
	cat >"$conf/models.json" <<EOF
{"providers": {"cordon-test": {"baseUrl": "http://$addr:$MODEL_PORT/v1", "api": "openai-completions",
  "apiKey": "not-a-key", "compat": {"supportsDeveloperRole": false, "supportsReasoningEffort": false},
  "models": [{"id": "scripted"}]}}}
EOF
	# The model server on the host's loopback: an address in allow is an
	# explicit grant (no allow_private), and NO_PROXY= sends loopback
	# through the proxy too, as a user reaching a local model server does.
	agent_policy pi "$name" <<EOF
[sandbox]
home_copy = $CONF_REL/agent
[network]
allow = $addr:$MODEL_PORT
[env]
set = PI_CODING_AGENT_DIR=$MYHOME/$CONF_REL/agent
set = NO_PROXY=
EOF
}

model_addr() {
	echo 127.0.0.1
}

# ---- the shipped policies ----

t_agent_example_policies_pass_check() {
	local a rc
	for a in pi claude codex; do
		[ -f "$CORDON_EXAMPLES/$a.ini" ] || failed "policy/examples/$a.ini is missing"
		"$CORDON" check "$CORDON_EXAMPLES/$a.ini" >"$WORK/o" 2>&1
		rc=$?
		eq "check $a.ini ($(cat "$WORK/o"))" "$rc" 0
		no_sanitizer_report "$(cat "$WORK/o")"
	done
	# Control: check does refuse a broken copy.
	sed 's/^mode = proxy/mode = proxyy/' "$CORDON_EXAMPLES/pi.ini" >"$WORK/bad.ini"
	"$CORDON" check "$WORK/bad.ini" >"$WORK/o" 2>&1
	rc=$?
	eq "check of a broken copy ($(cat "$WORK/o"))" "$rc" 2
}

t_agent_example_policies_reach_their_model_hosts_only_through_the_proxy() {
	local a plan
	for a in pi claude codex; do
		SB_CWD=$WORK/proj cli explain "$CORDON_EXAMPLES/$a.ini"
		plan=$SB_OUT
		contains "$a: proxy mode" "$plan" "mode proxy"
		contains "$a: persistent home" "$plan" "persist"
		contains "$a: .git/hooks guarded" "$(cat "$CORDON_EXAMPLES/$a.ini")" "protect = .git/hooks/"
		contains "$a: .env masked" "$(cat "$CORDON_EXAMPLES/$a.ini")" "mask = .env"
	done
	contains "pi: Anthropic" "$(cat "$CORDON_EXAMPLES/pi.ini")" "allow = api.anthropic.com:443"
	contains "pi: Google, its default" "$(cat "$CORDON_EXAMPLES/pi.ini")" "allow = generativelanguage.googleapis.com:443"
	contains "claude: its API" "$(cat "$CORDON_EXAMPLES/claude.ini")" "allow = api.anthropic.com:443"
	contains "codex: its API" "$(cat "$CORDON_EXAMPLES/codex.ini")" "allow = api.openai.com:443"
	contains "codex: its own sandbox off" "$(cat "$CORDON_EXAMPLES/codex.ini")" "command = codex --sandbox danger-full-access"
	contains "claude: its own sandbox off" "$(cat "$CORDON_EXAMPLES/claude.ini")" '"sandbox":{"enabled":false}'
}

# Each shipped agent policy, used exactly as its comments say: from inside
# ~/src/..., `cordon run --policy NAME -- CMD`. A shell stands in for the
# agent (no network is used): the project is writable, its .env empty, git's
# hooks read-only, a sibling project and the invoker's ~/.ssh invisible.
t_shipped_agent_policies_protect_the_project_they_are_started_in() {
	local src=$MYHOME/src made_src=0 app other a out rc made_home
	[ -d "$src" ] || made_src=1
	app=$src/cordon-$TAG-app
	other=$src/cordon-$TAG-other
	mkdir -p "$app/.git/hooks" "$other" || failed "mkdir under $src"
	echo sibling-secret >"$other/notes"
	echo TOKEN=agent-secret >"$app/.env"
	for a in pi claude codex; do
		# The policy's own persistent home, removed after only if this test made it.
		made_home=0
		[ -e "$STATE/$a" ] || made_home=1
		out=$(cd "$app" && CORDON_POLICY_PATH=$CORDON_EXAMPLES "$CORDON" run --policy "$a" -- /bin/sh -c \
			"cat .env; cat $other/notes 2>&1; ls $SSH_DIR 2>&1; echo hook >.git/hooks/pre-commit 2>&1; echo work >file && echo wrote" \
			2>&1 </dev/null)
		rc=$?
		[ $made_home -eq 0 ] || rm -rf "${STATE:?}/$a"
		no_sanitizer_report "$out"
		eq "$a: exit ($out)" "$rc" 0
		lacks "$a: masked .env" "$out" "agent-secret"
		lacks "$a: sibling project" "$out" "sibling-secret"
		contains "$a: sibling project absent" "$out" "$other/notes: No such file"
		contains "$a: hooks read-only" "$out" "pre-commit: Read-only file system"
		contains "$a: the project is writable" "$out" "wrote"
		eq "$a: the write landed" "$(cat "$app/file")" "work"
		[ ! -e "$app/.git/hooks/pre-commit" ] || failed "$a: hook planted"
		rm -f "$app/file"
	done
	rm -rf "$app" "$other"
	[ $made_src -eq 0 ] || rmdir "$src" 2>/dev/null
	true
}

# ---- pi, driven by the scripted model ----

t_pi_edits_the_project_and_cannot_get_out() {
	need_agents pi
	local addr p
	addr=$(model_addr)
	if [ ! -d "$SSH_DIR" ]; then
		mkdir -m 0700 "$SSH_DIR" || failed "mkdir $SSH_DIR"
	fi
	echo "the invoker's key" >"$SECRET" || failed "write $SECRET"
	# Control: outside, the invoker reads it.
	eq "control: the invoker reads its own key" "$(cat "$SECRET")" "the invoker's key"
	cat >"$WORK/script.json" <<EOF
[{"tool": "write", "args": {"path": "hello.txt", "content": "hello from pi\\n"}},
 {"tool": "bash", "args": {"command": "cat $SECRET 2>&1; ls $SSH_DIR 2>&1; true"}},
 {"tool": "bash", "args": {"command": "touch /usr/cordon-$TAG 2>&1; echo rc=\$?"}},
 {"tool": "bash", "args": {"command": "curl -sS -o /dev/null -w 'status=%{http_code}\\\\n' http://blocked.test/ 2>&1; true"}},
 {"text": "all done"}]
EOF
	model_server "$WORK/script.json" "$addr"
	p=$(pi_policy "$addr" pi)
	sb "$p" -- pi -p --provider cordon-test --model scripted "Say hello in hello.txt, then look around."
	eq "pi's exit status ($(show))" "$SB_RC" 0
	contains "pi printed the model's final message ($(show))" "$SB_OUT" "all done"
	# The edit landed in the project on the host.
	eq "hello.txt in the project" "$(cat "$WORK/proj/hello.txt" 2>&1)" "hello from pi"
	# What the agent's tools saw, as they reported it to the model.
	local r
	r=$(tool_results 0)
	contains "the write tool succeeded" "$r" "hello.txt"
	r=$(tool_results 1)
	contains "the invoker's key is not there" "$r" "No such file or directory"
	lacks "the key was not read" "$r" "the invoker's key"
	r=$(tool_results 2)
	contains "/usr is read-only" "$r" "Read-only file system"
	contains "touch failed" "$r" "rc=1"
	[ ! -e "/usr/cordon-$TAG" ] || failed "the agent wrote /usr on the host"
	r=$(tool_results 3)
	contains "the denied host got 403 from the proxy" "$r" "status=403"
	# pi's own state went to its persistent home, not the invoker's.
	[ -n "$(find "$STATE/$TAG-pi" -name '*.jsonl' 2>/dev/null)" ] ||
		failed "no pi session in the persistent home $STATE/$TAG-pi"
	[ ! -e "$MYHOME/$CONF_REL/agent/sessions" ] || failed "pi wrote its session into the invoker's home"
	# The launcher names the denied host, and the line to add.
	contains "denied host on stderr" "$SB_ERR" "cordon: egress denied blocked.test:80"
	contains "the fix on stderr" "$SB_ERR" "allow = blocked.test:80"
}

# Without the model server allowed, pi cannot reach it: the grant above is
# what lets it through (the control of the previous test's network).
t_pi_without_the_grant_does_not_reach_the_model() {
	need_agents pi
	local addr p
	addr=$(model_addr)
	echo '[{"text": "unreachable"}]' >"$WORK/script.json"
	model_server "$WORK/script.json" "$addr"
	p=$(pi_policy "$addr" nogrant)
	sed -i "/^allow = $addr:$MODEL_PORT\$/d" "$p"
	sb "$p" -- pi -p --provider cordon-test --model scripted "hello"
	lacks "no answer from the model ($(show))" "$SB_OUT" "unreachable"
	[ ! -s "$WORK/model.log" ] || failed "the model server got $(wc -l <"$WORK/model.log") requests"
	contains "denied model host on stderr" "$SB_ERR" "cordon: egress denied $addr:$MODEL_PORT"
}

# pi's settings are copied in one way: what the agent changes in its copy
# never reaches the invoker's file, and the next start restores it.
t_pi_config_is_copied_one_way() {
	need_agents pi
	local addr p
	addr=$(model_addr)
	cat >"$WORK/script.json" <<EOF
[{"tool": "bash", "args": {"command": "echo planted >> $MYHOME/$CONF_REL/agent/models.json; echo edited"}},
 {"text": "all done"}]
EOF
	model_server "$WORK/script.json" "$addr"
	p=$(pi_policy "$addr" oneway)
	cp "$MYHOME/$CONF_REL/agent/models.json" "$WORK/models.orig"
	sb "$p" -- pi -p --provider cordon-test --model scripted "edit your config"
	eq "pi's exit status ($(show))" "$SB_RC" 0
	contains "the agent edited its copy" "$(tool_results 0)" "edited"
	eq "the invoker's models.json is unchanged" "$(cat "$MYHOME/$CONF_REL/agent/models.json")" "$(cat "$WORK/models.orig")"
	# Control: the agent's copy, in its persistent home, did change.
	contains "the agent's copy changed" "$(cat "$STATE/$TAG-oneway/$CONF_REL/agent/models.json")" "planted"
}

# ---- claude and codex ----

t_claude_runs_inside_its_policy() {
	need_agents claude
	local p
	p=$(agent_policy claude claude </dev/null)
	sb "$p" -- claude --version
	eq "exit status ($(show))" "$SB_RC" 0
	contains "version" "$SB_OUT" "(Claude Code)"
	# Control: the same binary is refused when the policy hides /opt.
	sed -i '/^ro_try = \/opt$/d' "$p"
	sb "$p" -- "$AGENTS/bin/claude" --version
	eq "without /opt ($(show))" "$SB_RC" 127
}

t_codex_runs_inside_its_policy() {
	need_agents codex
	local p
	p=$(agent_policy codex codex </dev/null)
	sb "$p" -- codex --version
	eq "exit status ($(show))" "$SB_RC" 0
	contains "version" "$SB_OUT" "codex-cli"
	sed -i '/^ro_try = \/opt$/d' "$p"
	sb "$p" -- "$AGENTS/bin/codex" --version
	eq "without /opt ($(show))" "$SB_RC" 127
}

run_tests "$@"
