#!/usr/bin/env bash
# Egress tests: a sandbox with [network] mode = proxy reaching servers that
# the tests start on the host's loopback, allowed explicitly. No traffic
# leaves this machine. Runs as root and as an unprivileged user.
. "$(dirname "$0")/lib.sh"

HTTPD=$HELPERS/httpd
[ -x "$HTTPD" ] || {
	echo "Bail out! httpd helper missing"
	exit 1
}
command -v curl >/dev/null || {
	echo "Bail out! curl is not installed (scripts/setup installs it)"
	exit 1
}

BG=()
# kill_on_exit PID: in a test's subshell, the process ends with the test,
# whether the test passes or fails.
TEST_BG=()
kill_on_exit() {
	TEST_BG+=("$1")
	# shellcheck disable=SC2064 # the list as it is now
	trap "kill ${TEST_BG[*]} 2>/dev/null" EXIT
}
stop_background() {
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	cleanup_work
}
trap stop_background EXIT

"$HTTPD" -p 0 -f "$WORK/httpd.port" >/dev/null 2>&1 &
BG+=($!)
for _ in $(seq 100); do [ -s "$WORK/httpd.port" ] && break; sleep 0.05; done
PORT=$(cat "$WORK/httpd.port")
[ -n "$PORT" ] || {
	echo "Bail out! httpd did not start"
	exit 1
}
PROXY=http://127.0.0.1:3128
# curl honours NO_PROXY=localhost inside; the tests name the proxy
# explicitly and turn NO_PROXY off so every request goes through it.
CURL="curl -sS --max-time 20 --noproxy ''"

# egress_policy NAME [extra INI]: proxy mode, the test server allowed by
# name, private addresses allowed (the server is on loopback), an audit log.
egress_policy() {
	local name=$1 extra=${2:-}
	policy "$name" <<EOF
[network]
mode = proxy
allow = localhost:$PORT
allow_private = true
$extra
[audit]
log = $WORK/$name.audit
EOF
}

# ---- environment and isolation ----

t_proxy_variables_are_set() {
	local p
	p=$(egress_policy env)
	sb "$p" -- /usr/bin/env
	eq "exit" "$SB_RC" 0
	contains "HTTP_PROXY" "$SB_OUT" "HTTP_PROXY=$PROXY"
	contains "HTTPS_PROXY" "$SB_OUT" "HTTPS_PROXY=$PROXY"
	contains "http_proxy" "$SB_OUT" "http_proxy=$PROXY"
	contains "https_proxy" "$SB_OUT" "https_proxy=$PROXY"
	contains "ALL_PROXY" "$SB_OUT" "ALL_PROXY=socks5h://127.0.0.1:3128"
	contains "NO_PROXY" "$SB_OUT" "NO_PROXY=localhost,127.0.0.1,::1"
}

t_no_resolver_inside() {
	local p
	p=$(egress_policy dns)
	sh_in "$p" 'echo "[$(cat /etc/resolv.conf 2>/dev/null)]"; getent hosts example.com || echo no-resolution; getent hosts localhost'
	contains "resolv.conf empty or absent" "$SB_OUT" "[]"
	contains "names do not resolve" "$SB_OUT" "no-resolution"
	contains "control: /etc/hosts still answers" "$SB_OUT" "localhost"
}

t_direct_connection_to_the_server_fails() {
	local p
	# Landlock would refuse the connect by port; allow any port so the
	# network namespace alone is what stops it.
	p=$(egress_policy direct $'[landlock]\ntcp_connect = any')
	sh_in "$p" "curl -sS --max-time 10 --noproxy '*' http://127.0.0.1:$PORT/ 2>&1; echo rc=\$?; $CURL -x $PROXY http://localhost:$PORT/"
	contains "nothing listens on the sandbox's own loopback (curl: couldn't connect)" "$SB_OUT" "rc=7"
	eq "control: through the proxy the same run reaches it" "$(printf '%s\n' "$SB_OUT" | tail -n 1)" "hello from httpd"
	# Control: from the host it answers.
	contains "control" "$(curl -sS --noproxy '*' "http://127.0.0.1:$PORT/")" "hello from httpd"
}

# ---- the three ways out ----

t_connect_tunnel_reaches_allowed_host() {
	local p
	p=$(egress_policy tunnel)
	sh_in "$p" "$CURL --proxytunnel -x $PROXY http://localhost:$PORT/"
	eq "through CONNECT" "$SB_OUT" "hello from httpd"
	contains "audit allow" "$(cat "$WORK/tunnel.audit")" '"event":"egress_allow"'
	contains "audit protocol" "$(cat "$WORK/tunnel.audit")" '"protocol":"connect"'
}

t_plain_http_forwarding_rewrites_the_request() {
	local p
	p=$(egress_policy plain)
	sh_in "$p" "$CURL -x $PROXY -H 'Proxy-Connection: keep-alive' http://localhost:$PORT/echo"
	contains "origin-form request line" "$SB_OUT" "GET /echo HTTP/1.1"
	contains "Host from the URI" "$SB_OUT" "Host: localhost:$PORT"
	contains "Connection: close" "$SB_OUT" "Connection: close"
	lacks "Proxy-Connection removed" "$SB_OUT" "Proxy-Connection"
}

t_socks5_reaches_allowed_host() {
	local p
	p=$(egress_policy socks)
	sh_in "$p" "$CURL --socks5-hostname 127.0.0.1:3128 http://localhost:$PORT/"
	eq "through SOCKS5" "$SB_OUT" "hello from httpd"
	contains "audit" "$(cat "$WORK/socks.audit")" '"protocol":"socks5"'
}

t_environment_alone_sends_clients_through_the_proxy() {
	local p
	# A name other than localhost, so NO_PROXY does not apply: the
	# proxy answers 403 for it, which shows the request went there.
	p=$(egress_policy envonly)
	sh_in "$p" "curl -sS --max-time 20 http://notallowed.example:$PORT/ 2>&1"
	contains "the proxy answered" "$SB_OUT" "egress denied notallowed.example:$PORT"
}

# ---- denials ----

t_host_not_allowed_gets_403_naming_policy_and_host() {
	local p
	p=$(egress_policy deny)
	sh_in "$p" "$CURL -i -x $PROXY http://localhost:1/ ; $CURL -i -x $PROXY http://other.test:$PORT/; $CURL -x $PROXY http://localhost:$PORT/"
	contains "status" "$SB_OUT" "403"
	eq "control: the allowed host, in the same run" "$(printf '%s\n' "$SB_OUT" | tail -n 1)" "hello from httpd"
	contains "names the policy" "$SB_OUT" "policy 'deny'"
	contains "names the host" "$SB_OUT" "localhost:1"
	contains "names the other host" "$SB_OUT" "other.test:$PORT"
	local a
	a=$(cat "$WORK/deny.audit")
	contains "audit deny" "$a" '"event":"egress_deny"'
	contains "audit host" "$a" '"host":"other.test"'
	contains "audit reason" "$a" "\"reason\":\"not in the allow list of policy 'deny'; add: allow = other.test:$PORT\""
	contains "audit sandbox start" "$a" '"event":"sandbox_start"'
}

t_socks5_denial_is_reply_2() {
	local p
	p=$(egress_policy socksdeny)
	sh_in "$p" "$CURL --socks5-hostname 127.0.0.1:3128 http://other.test:$PORT/ 2>&1; echo rc=\$?; $CURL --socks5-hostname 127.0.0.1:3128 http://localhost:$PORT/"
	contains "SOCKS5 reply 2 (not allowed by ruleset)" "$SB_OUT" "(2)"
	contains "curl failed" "$SB_OUT" "rc=97"
	eq "control: the allowed host, in the same run" "$(printf '%s\n' "$SB_OUT" | tail -n 1)" "hello from httpd"
}

t_deny_wins_over_allow() {
	local p
	p=$(egress_policy denywins "deny = localhost")
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/"
	contains "denied, naming the deny line" "$SB_OUT" "egress denied localhost:$PORT (denied by deny = localhost (line $(grep -n '^deny = localhost$' "$p" | cut -d: -f1)) of policy 'denywins')"
	p=$(egress_policy denyother "deny = other.test")
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/"
	eq "control: with a deny pattern that does not match, allowed" "$SB_OUT" "hello from httpd"
}

# json_list JSON KEY: the strings of the array "KEY":[...] of the
# "network" object, one a line (a rule holds no quote or comma).
json_list() {
	printf '%s\n' "$1" | grep -o '"network":{.*' | grep -o "\"$2\":\[\(\"[^\"]*\",\?\)*\]" | head -n 1 |
		grep -o '"[^"]*"' | sed 1d | tr -d '"'
}

t_explain_json_allow_list_is_what_the_proxy_enforces() {
	# explain --json prints the net plan and the proxy enforces that same
	# plan: every allow entry explain prints is reached, every deny entry
	# is refused by the deny rule; a spelling the policy uses (upper
	# case) is printed as it is matched.
	local p p2 js allow deny e host port script=""
	"$HTTPD" -p 0 -f "$WORK/httpd2.port" >/dev/null 2>&1 &
	kill_on_exit $!
	for _ in $(seq 100); do [ -s "$WORK/httpd2.port" ] && break; sleep 0.05; done
	p2=$(cat "$WORK/httpd2.port")
	eq "control: the second server answers directly" "$($CURL "http://127.0.0.1:$p2/")" "hello from httpd"
	p=$(policy explained <<EOF
[network]
mode = proxy
allow = LocalHost:$PORT
allow = 127.0.0.1
deny = 127.0.0.1:$p2
allow_private = true
EOF
)
	js=$(cd "$WORK/proj" && "$CORDON" explain "$p" --json)
	allow=$(json_list "$js" allow)
	deny=$(json_list "$js" deny)
	eq "explain's allow list, resolved" "$allow" "localhost:$PORT"$'\n'"127.0.0.1"
	eq "explain's deny list" "$deny" "127.0.0.1:$p2"
	for e in $allow; do
		host=${e%%:*}
		port=${e#*:}
		[ "$port" = "$e" ] && port=$PORT
		script+="echo \"allow $e: \$($CURL -x $PROXY http://$host:$port/)\"; "
	done
	for e in $deny; do
		script+="echo \"deny $e: \$($CURL -x $PROXY http://$e/)\"; "
	done
	sh_in "$p" "$script"
	for e in $allow; do
		contains "allow entry $e is reached" "$SB_OUT" "allow $e: hello from httpd"
	done
	for e in $deny; do
		contains "deny entry $e is refused by the deny rule" "$SB_OUT" \
			"deny $e: cordon: egress denied $e (denied by deny = $e (line $(grep -n "^deny = " "$p" | cut -d: -f1)) of policy 'explained')"
	done
}

t_private_addresses_refused_without_allow_private() {
	# A name resolving to loopback, and cloud metadata even under an
	# allow range around it: refused before any connect (nothing leaves
	# this machine), each with the policy line that would allow it.
	local p
	p=$(policy private <<EOF
[network]
mode = proxy
allow = localhost:$PORT
allow = 169.254.0.0/16:80
[audit]
log = $WORK/private.audit
EOF
)
	# Each answer on a line with its status. The proxy's own refusal is
	# matched, not the host alone: a 502 or 504 page names it too.
	sh_in "$p" "for u in http://169.254.169.254/latest/meta-data/ http://localhost:$PORT/; do $CURL -x $PROXY -w '[%{http_code}]\n' \$u; done"
	lacks "server not reached" "$SB_OUT" "hello from httpd"
	contains "metadata refused under a range" "$SB_OUT" "cordon: egress denied 169.254.169.254:80 (169.254.169.254 (cloud metadata address), which policy 'private' opens only to an allow rule naming exactly that address; add: allow = 169.254.169.254:80)"$'\n'"[403]"
	contains "name resolving to loopback refused" "$SB_OUT" "cordon: egress denied localhost:$PORT (resolves to 127.0.0.1 in 127.0.0.0/8 (loopback, private), which policy 'private' does not allow; add: allow_private = 127.0.0.0/8)"$'\n'"[403]"
	eq "two refusals" "$(grep -c '^\[403\]$' <<<"$SB_OUT")" 2
	contains "audit" "$(cat "$WORK/private.audit")" '"event":"egress_deny"'
	# Control: allow_private = true reaches the server by its name, and
	# still does not open the metadata address.
	sed -i 's/^mode = proxy$/mode = proxy\nallow_private = true/' "$p"
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/; $CURL -x $PROXY -w '[%{http_code}]' http://169.254.169.254/"
	contains "control: with allow_private" "$SB_OUT" "hello from httpd"
	contains "metadata still refused" "$SB_OUT" "(cloud metadata address)"
	contains "with a 403" "$SB_OUT" "[403]"
}

t_address_allow_reaches_the_hosts_loopback() {
	# allow = 127.0.0.1:PORT is an explicit grant, without allow_private:
	# the proxy, in the host's network namespace, reaches the server on
	# the host's loopback. With [env] set = NO_PROXY= clients send
	# 127.0.0.1 to the proxy on their own (cordon's default NO_PROXY
	# would send it to the sandbox's own loopback, where nothing listens).
	local p q
	p=$(policy hostlo <<EOF
[network]
mode = proxy
allow = 127.0.0.1:$PORT
[env]
set = NO_PROXY=
EOF
)
	sh_in "$p" "curl -sS --max-time 20 http://127.0.0.1:$PORT/; echo; env | grep -i '^no_proxy='"
	contains "reached through the environment's proxy" "$SB_OUT" "hello from httpd"
	eq "NO_PROXY replaced" "$(grep -cx 'NO_PROXY=' <<<"$SB_OUT")" 1
	eq "no_proxy follows it" "$(grep -cx 'no_proxy=' <<<"$SB_OUT")" 1
	lacks "cordon's default gone" "$SB_OUT" "localhost,127.0.0.1"
	# Control: another port of the same address is not granted.
	sh_in "$p" "$CURL -x $PROXY -w '[%{http_code}]' http://127.0.0.1:1/"
	contains "another port refused" "$SB_OUT" "egress denied 127.0.0.1:1 (not in the allow list of policy 'hostlo'; add: allow = 127.0.0.1:1)"
	# Control: without the rule (and with cordon's NO_PROXY), refused.
	q=$(policy nohostlo <<EOF
[network]
mode = proxy
allow = localhost:1
EOF
)
	sh_in "$q" "$CURL -x $PROXY -w '[%{http_code}]' http://127.0.0.1:$PORT/; env | grep '^NO_PROXY='"
	contains "without the rule, a 403" "$SB_OUT" "[403]"
	contains "naming the rule to add" "$SB_OUT" "add: allow = 127.0.0.1:$PORT)"
	contains "cordon's default NO_PROXY" "$SB_OUT" "NO_PROXY=localhost,127.0.0.1,::1"
	lacks "not reached" "$SB_OUT" "hello from httpd"
}

t_address_range_allow_and_deny() {
	# A range in allow grants what it holds (on its port); a range in
	# deny refuses names that resolve into it too.
	local p
	p=$(policy ranges <<EOF
[network]
mode = proxy
allow = 127.0.0.0/8:$PORT
EOF
)
	sh_in "$p" "$CURL -x $PROXY http://127.0.0.1:$PORT/; echo; $CURL -x $PROXY -w '[%{http_code}]' http://127.0.0.1:1/"
	contains "the range grants an address in it" "$SB_OUT" "hello from httpd"
	contains "not another port" "$SB_OUT" "egress denied 127.0.0.1:1 (not in the allow list"
	p=$(policy denyrange <<EOF
[network]
mode = proxy
allow = localhost:$PORT
allow_private = true
deny = 127.0.0.0/8
deny = [::1]
EOF
)
	sh_in "$p" "$CURL -x $PROXY -w '[%{http_code}]' http://localhost:$PORT/"
	contains "a name resolving into a denied range is refused" "$SB_OUT" "egress denied localhost:$PORT (denied by deny = "
	lacks "not reached" "$SB_OUT" "hello from httpd"
	sed -i -e '/^deny = 127.0.0.0\/8$/d' -e '/^deny = \[::1\]$/d' "$p"
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/"
	eq "control: without the deny ranges" "$SB_OUT" "hello from httpd"
}

t_allow_private_range_lets_names_resolve_into_it() {
	local p
	p=$(policy privrange <<EOF
[network]
mode = proxy
allow = localhost:$PORT
allow_private = 127.0.0.0/8
allow_private = fd00::/8
EOF
)
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/"
	eq "a name resolving into the range" "$SB_OUT" "hello from httpd"
	sed -i 's|^allow_private = 127.0.0.0/8$|allow_private = 10.0.0.0/8|' "$p"
	sh_in "$p" "$CURL -x $PROXY -w '[%{http_code}]' http://localhost:$PORT/"
	contains "control: another range does not open it" "$SB_OUT" "resolves to 127.0.0.1 in 127.0.0.0/8 (loopback, private), which policy 'privrange' does not allow; add: allow_private = 127.0.0.0/8)"
	contains "a 403" "$SB_OUT" "[403]"
}

t_notify_tells_each_denied_host_once_on_stderr() {
	local p n
	p=$(egress_policy notify)
	sh_in "$p" "for h in other.test other.test second.test other.test; do $CURL -x $PROXY http://\$h:$PORT/ >/dev/null; done; $CURL -x $PROXY http://localhost:$PORT/"
	eq "control: the allowed host answers" "$SB_OUT" "hello from httpd"
	eq "one line for other.test" "$(grep -cxF "cordon: egress denied other.test:$PORT (not in the allow list of policy 'notify'; add: allow = other.test:$PORT)" <<<"$SB_ERR")" 1
	eq "one line for second.test" "$(grep -c "^cordon: egress denied second.test:$PORT " <<<"$SB_ERR")" 1
	lacks "nothing about the allowed host" "$SB_ERR" "localhost:$PORT"
	# Rate: at most 5 lines a second, whatever the number of hosts.
	sh_in "$p" "for i in \$(seq 30); do echo url = http://h\$i.test:$PORT/; done >/tmp/urls; $CURL -K /tmp/urls -x $PROXY >/dev/null 2>&1; true"
	n=$(grep -c "^cordon: egress denied h[0-9]*.test:" <<<"$SB_ERR")
	[ "$n" -ge 5 ] && [ "$n" -lt 30 ] || failed "rate-limited lines: $n of 30 ($SB_ERR)"
	# Control: notify = off says nothing.
	p=$(egress_policy quiet "notify = off")
	sh_in "$p" "$CURL -x $PROXY http://other.test:$PORT/"
	contains "the 403 page still says it" "$SB_OUT" "egress denied other.test:$PORT"
	lacks "nothing on stderr" "$SB_ERR" "egress denied"
}

t_audit_log_stderr() {
	local p
	p=$(policy auditerr <<EOF
[network]
mode = proxy
allow = localhost:$PORT
allow_private = true
notify = off
[audit]
log = stderr
EOF
)
	sh_in "$p" "$CURL -x $PROXY http://other.test:$PORT/ >/dev/null; $CURL -x $PROXY http://localhost:$PORT/"
	eq "control: allowed" "$SB_OUT" "hello from httpd"
	contains "the launcher's start record" "$SB_ERR" '"event":"sandbox_start"'
	contains "the proxy's deny record" "$SB_ERR" '"event":"egress_deny"'
	contains "the proxy's allow record" "$SB_ERR" '"event":"egress_allow"'
	contains "the exit record" "$SB_ERR" '"event":"sandbox_exit"'
	lacks "not on stdout" "$SB_OUT" '"event"'
}

t_explain_and_check_show_ranges_and_notify() {
	local p out rc
	p=$(policy explranges <<EOF
[network]
mode = proxy
allow = 10.0.0.0/8:443
allow = [FD00::]/8
allow_private = 192.168.0.0/16
allow_private = fd00::/8
notify = off
EOF
)
	out=$(cd "$WORK/proj" && "$CORDON" explain "$p")
	contains "v4 range" "$out" "allow      10.0.0.0/8:443"
	contains "v6 range" "$out" "allow      [fd00::]/8"
	contains "allow_private ranges" "$out" "private addresses refused, except 192.168.0.0/16, [fd00::]/8"
	contains "notify" "$out" "notify     off"
	out=$(cd "$WORK/proj" && "$CORDON" explain "$p" --json)
	contains "json ranges" "$out" '"allow_private_ranges":["192.168.0.0/16","[fd00::]/8"],"notify":"off"'
	p=$(policy badranges <<EOF
[network]
mode = proxy
allow = 10.1.0.0/8
allow = fd00::/8
allow = example.com/8
allow_private = true
allow_private = 10.0.0.0/8
allow_private = 10.0.0.0/8:443
notify = loud
EOF
)
	out=$("$CORDON" check "$p" 2>&1)
	rc=$?
	eq "check exits 2" "$rc" 2
	contains "host bits" "$out" "allow: 10.1.0.0/8: the address has bits set past its prefix"
	contains "brackets" "$out" "allow: fd00::/8: an IPv6 address must be written in brackets"
	contains "names" "$out" "allow: example.com/8: a /PREFIX applies to IP addresses"
	contains "true with ranges" "$out" "allow_private: true cannot be combined"
	contains "no port" "$out" "allow_private: 10.0.0.0/8:443: a range of allow_private has no port"
	contains "notify" "$out" "notify: expected stderr or off"
}

t_ip_literal_needs_a_literal_allow() {
	local p
	p=$(egress_policy literal)
	sh_in "$p" "$CURL -x $PROXY http://127.0.0.1:$PORT/; $CURL -x $PROXY http://localhost:$PORT/"
	contains "refused, naming the rule to add" "$SB_OUT" "egress denied 127.0.0.1:$PORT (not in the allow list of policy 'literal'; add: allow = 127.0.0.1:$PORT)"
	eq "control: by its name, in the same run" "$(printf '%s\n' "$SB_OUT" | tail -n 1)" "hello from httpd"
}

t_malformed_names_are_refused() {
	local p
	p=$(egress_policy names)
	# Raw requests through bash's /dev/tcp: a NUL inside the name, an
	# octal loopback, a name with an underscore. bash writes line by line:
	# a write after the proxy refused and closed gets EPIPE, not SIGPIPE.
	sb "$p" -- /bin/bash -c '
trap "" PIPE
for target in "evil\x00.localhost:'"$PORT"'" "0177.0.0.1:'"$PORT"'" "bad_name.localhost:'"$PORT"'" "localhost:'"$PORT"'"; do
	exec 3<>/dev/tcp/127.0.0.1/3128
	printf "CONNECT $target HTTP/1.1\r\n\r\n" >&3
	head -n 1 <&3
	exec 3<&-
done'
	eq "exit" "$SB_RC" 0
	[ "$(printf '%s\n' "$SB_OUT" | head -n 3 | grep -c ' 40[03]')" -eq 3 ] || failed "expected three refusals: $SB_OUT"
	eq "control: the well-formed name, last, is tunnelled" "$(printf '%s\n' "$SB_OUT" | sed -n '4p' | tr -d '\r')" \
		"HTTP/1.1 200 Connection established"
}

t_smuggling_and_odd_targets_are_refused() {
	# Raw requests, one connection each: Content-Length with
	# Transfer-Encoding, two Content-Lengths, an allowed name on a port the
	# policy does not list, hex and decimal IPv4 forms, an IPv6 zone.
	local p
	p=$(egress_policy odd)
	sb "$p" -- /bin/bash -c '
trap "" PIPE
ask() {
	exec 3<>/dev/tcp/127.0.0.1/3128
	printf "%b" "$1" >&3
	echo "$2: $(head -n 1 <&3)"
	exec 3<&-
}
P='"$PORT"'
ask "POST http://localhost:$P/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" cl-te
ask "POST http://localhost:$P/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" cl-cl
ask "CONNECT localhost:22 HTTP/1.1\r\n\r\n" other-port
ask "CONNECT 0x7f.1:$P HTTP/1.1\r\n\r\n" hex
ask "CONNECT 2130706433:$P HTTP/1.1\r\n\r\n" decimal
ask "CONNECT [fe80::1%lo]:$P HTTP/1.1\r\n\r\n" zone
ask "CONNECT [fe80::1%25lo]:$P HTTP/1.1\r\n\r\n" zone-uri
ask "CONNECT localhost:$P HTTP/1.1\r\n\r\n" control'
	eq "exit" "$SB_RC" 0
	contains "CL and TE" "$SB_OUT" "cl-te: HTTP/1.1 400"
	contains "two CLs" "$SB_OUT" "cl-cl: HTTP/1.1 400"
	contains "port not allowed" "$SB_OUT" "other-port: HTTP/1.1 403"
	contains "hex IPv4" "$SB_OUT" "hex: HTTP/1.1 400"
	contains "decimal IPv4" "$SB_OUT" "decimal: HTTP/1.1 400"
	contains "IPv6 zone" "$SB_OUT" "zone: HTTP/1.1 400"
	contains "IPv6 zone, URI form" "$SB_OUT" "zone-uri: HTTP/1.1 400"
	contains "control: the allowed target is tunnelled" "$SB_OUT" "control: HTTP/1.1 200"
}

# start_recording_httpd: a second test server that appends every byte each
# connection brought to $RECORD, one line per connection (httpd -r); sets
# RPORT.
start_recording_httpd() {
	RECORD=$WORK/record.txt
	: >"$RECORD"
	rm -f "$WORK/rhttpd.port" # an earlier test's
	"$HTTPD" -p 0 -f "$WORK/rhttpd.port" -r "$RECORD" >/dev/null 2>&1 &
	kill_on_exit $!
	for _ in $(seq 100); do [ -s "$WORK/rhttpd.port" ] && break; sleep 0.05; done
	RPORT=$(cat "$WORK/rhttpd.port")
	[ -n "$RPORT" ] || failed "the recording httpd did not start"
}

# wait_records N: until the recording server has written N lines (one per
# connection, when it closes).
wait_records() {
	for _ in $(seq 100); do
		[ "$(wc -l <"$RECORD")" -ge "$1" ] && return 0
		sleep 0.05
	done
	failed "expected $1 connections recorded: $(cat "$RECORD")"
}

t_plain_http_forwards_one_request_per_connection() {
	# Whatever a client sends after its first request (pipelined, or after
	# the answer) must not reach the upstream: it was never checked against
	# the policy. Each raw connection below carries a second request, to a
	# denied host, with bare-LF line ends, with Content-Length and
	# Transfer-Encoding, or with another Host; only the first may arrive.
	local p
	start_recording_httpd
	p=$(policy onereq <<EOF
[network]
mode = proxy
allow = localhost:$RPORT
allow_private = true
[audit]
log = $WORK/onereq.audit
EOF
)
	sb "$p" -- /bin/bash -c '
trap "" PIPE
P='"$RPORT"'
ask() { # ask NAME REQUEST: one connection, the request in one write; the answers, until the proxy closes it
	exec 3<>/dev/tcp/127.0.0.1/3128
	printf "%b" "$2" >/tmp/request
	cat /tmp/request >&3
	local out
	out=$(timeout 10 cat <&3)
	echo "$1: $(printf "%s\n" "$out" | grep -c "^HTTP/1") answer(s), $(printf "%s\n" "$out" | head -n 1 | tr -d "\r") $(printf "%s\n" "$out" | tail -n 1)"
	exec 3<&-
}
first() { printf "%s" "GET http://localhost:$P/first-$1 HTTP/1.1\r\nHost: localhost:$P\r\n\r\n"; }
ask denied "$(first denied)GET http://denied.test:$P/smuggled-denied HTTP/1.1\r\nHost: denied.test\r\n\r\n"
ask lf "$(first lf)GET /smuggled-lf HTTP/1.1\nHost: denied.test\n\n"
ask clte "$(first clte)POST /smuggled-clte HTTP/1.1\r\nHost: localhost:$P\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-clte-inner HTTP/1.1\r\nHost: denied.test\r\n\r\n"
ask host "$(first host)GET /smuggled-host HTTP/1.1\r\nHost: denied.test\r\n\r\n"
ask length "POST http://localhost:$P/first-length HTTP/1.1\r\nHost: localhost:$P\r\nContent-Length: 5\r\n\r\nhelloGET /smuggled-after-length HTTP/1.1\r\nHost: denied.test\r\n\r\n"
ask chunked "POST http://localhost:$P/first-chunked HTTP/1.1\r\nHost: localhost:$P\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled-after-chunks HTTP/1.1\r\nHost: denied.test\r\n\r\n"
# The second request only after the first answer: not early data, but
# bytes the relay reads later.
exec 3<>/dev/tcp/127.0.0.1/3128
printf "%b" "$(first later)" >&3
read -r line <&3
printf "GET /smuggled-later HTTP/1.1\r\nHost: denied.test\r\n\r\n" >&3 2>/dev/null
echo "later: $line $(timeout 10 cat <&3 | grep -c "^HTTP/1") more answer(s)"
exec 3<&-'
	eq "rc" "$SB_RC" 0
	contains "pipelined to a denied host" "$SB_OUT" "denied: 1 answer(s), HTTP/1.1 200 OK hello from httpd"
	contains "bare LF" "$SB_OUT" "lf: 1 answer(s), HTTP/1.1 200 OK hello from httpd"
	contains "CL and TE" "$SB_OUT" "clte: 1 answer(s), HTTP/1.1 200 OK hello from httpd"
	contains "another Host" "$SB_OUT" "host: 1 answer(s), HTTP/1.1 200 OK hello from httpd"
	contains "after a Content-Length body" "$SB_OUT" "length: 1 answer(s), HTTP/1.1 200 OK got 5"
	contains "after a chunked body" "$SB_OUT" "chunked: 1 answer(s), HTTP/1.1 200 OK got 5"
	contains "after the answer" "$SB_OUT" "later: HTTP/1.1 200 OK"$'\r'" 0 more answer(s)"
	wait_records 7
	local rec
	rec=$(cat "$RECORD")
	for w in denied lf clte host length chunked later; do
		contains "the first request ($w) arrived" "$rec" "/first-$w HTTP/1.1"
	done
	contains "the Content-Length body arrived" "$rec" 'Content-Length: 5\r\nConnection: close\r\n\r\nhello'
	contains "the chunked body arrived" "$rec" 'chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
	lacks "nothing after the first request arrived" "$rec" "smuggled"
	eq "one request per connection" "$(grep -o 'HTTP/1.1\\r\\n' "$RECORD" | wc -l)" 7
	contains "the record says what was dropped" "$(cat "$WORK/onereq.audit")" "sent after the request were not forwarded"
}

t_plain_http_chunked_bodies_are_framed_strictly() {
	# A chunk extension (one of the framing details parsers read
	# differently) is refused: before anything goes upstream when it comes
	# with the head, by cutting the connection when it comes after the
	# head went out. Either way the client hears why.
	local p
	start_recording_httpd
	p=$(policy chunks <<EOF
[network]
mode = proxy
allow = localhost:$RPORT
allow_private = true
EOF
)
	sb "$p" -- /bin/bash -c '
trap "" PIPE
P='"$RPORT"'
exec 3<>/dev/tcp/127.0.0.1/3128
printf "POST http://localhost:$P/never HTTP/1.1\r\nHost: localhost:$P\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\n\r\n" >/tmp/request
cat /tmp/request >&3
echo "chunkext: $(timeout 10 cat <&3 | tail -n 1)"
exec 3<&-
exec 3<>/dev/tcp/127.0.0.1/3128
printf "POST http://localhost:$P/cut HTTP/1.1\r\nHost: localhost:$P\r\nTransfer-Encoding: chunked\r\n\r\n" >/tmp/request
cat /tmp/request >&3
sleep 0.5
printf "5;x=1\r\nhello\r\n0\r\n\r\n" >/tmp/request
cat /tmp/request >&3
echo "cut: $(timeout 10 cat <&3 | tail -n 1)"
exec 3<&-'
	eq "rc" "$SB_RC" 0
	contains "refused with the head" "$SB_OUT" "chunkext: cordon: localhost:$RPORT: chunk extensions are refused"
	contains "refused after the head" "$SB_OUT" "cut: cordon: localhost:$RPORT: chunk extensions are refused"
	wait_records 1
	local rec
	rec=$(cat "$RECORD")
	lacks "the one refused with its head never went out" "$rec" "/never"
	contains "the head sent before" "$rec" "POST /cut HTTP/1.1"
	lacks "but not the body refused after it" "$rec" "x=1"
	# Control: the same body without the extension is forwarded whole.
	sh_in "$p" "printf hello | curl -sS --max-time 20 --noproxy '' -T - -H 'Transfer-Encoding: chunked' http://localhost:$RPORT/ok"
	eq "rc" "$SB_RC" 0
	eq "control" "$SB_OUT" "got 5"
}

t_plain_http_get_and_post_work_through_http_proxy() {
	# The control: ordinary clients, sent to the proxy by HTTP_PROXY alone
	# (curl's NO_PROXY turned off, the server being localhost): a GET, a
	# POST with a Content-Length body, a chunked upload, and two URLs in one
	# curl.
	local p
	start_recording_httpd
	p=$(policy plainok <<EOF
[network]
mode = proxy
allow = localhost:$RPORT
allow_private = true
EOF
)
	head -c 100000 /dev/urandom >"$WORK/proj/body"
	sh_in "$p" "
C=\"curl -sS --max-time 20 --noproxy ''\"
\$C http://localhost:$RPORT/get
\$C --data-binary @body http://localhost:$RPORT/post
\$C -T body -H 'Transfer-Encoding: chunked' http://localhost:$RPORT/chunked
\$C http://localhost:$RPORT/one http://localhost:$RPORT/bytes/3; echo"
	eq "rc" "$SB_RC" 0
	eq "answers" "$SB_OUT" "hello from httpd
got 100000
got 100000
hello from httpd
xxx"
	wait_records 5
	eq "each request on its own connection" "$(grep -c 'HTTP/1.1\\r\\n' "$RECORD")" 5
	# The proxy adds Connection: close; curl on its own does not.
	eq "each request came through the proxy" "$(grep -c 'Connection: close\\r\\n' "$RECORD")" 5
}

# ---- limits ----

t_response_byte_cap_triggers() {
	local p
	p=$(egress_policy capdown "max_response_bytes = 10000")
	sh_in "$p" "$CURL -x $PROXY -o /dev/null http://localhost:$PORT/bytes/1000000 2>&1; echo rc=\$?; $CURL -x $PROXY http://localhost:$PORT/"
	lacks "big download failed" "$SB_OUT" "rc=0"
	contains "small one still works" "$SB_OUT" "hello from httpd"
	contains "audit says why" "$(cat "$WORK/capdown.audit")" "max_response_bytes exceeded"
	contains "one clear line on stderr" "$SB_ERR" "max_response_bytes exceeded"
}

t_request_byte_cap_triggers() {
	local p
	p=$(egress_policy capup "max_request_bytes = 10000")
	head -c 200000 /dev/zero >"$WORK/proj/big"
	head -c 5000 /dev/zero >"$WORK/proj/small"
	sh_in "$p" "$CURL -x $PROXY --data-binary @big http://localhost:$PORT/ 2>&1; echo rc=\$?; $CURL -x $PROXY --data-binary @small http://localhost:$PORT/"
	lacks "upload refused" "$SB_OUT" "got 200000"
	eq "control: a smaller upload, in the same run" "$(printf '%s\n' "$SB_OUT" | tail -n 1)" "got 5000"
	contains "413 or cut off" "$SB_OUT$(cat "$WORK/capup.audit")" "max_request_bytes"
}

t_connect_timeout_answers_504() {
	# A server whose accept queue is full: the connect hangs until the
	# proxy's connect timeout (2 s here), which answers 504 and says so.
	local bh p
	"$HELPERS/try" tcp-blackhole >"$WORK/bh.port" 2>&1 &
	kill_on_exit $!
	for _ in $(seq 100); do [ -s "$WORK/bh.port" ] && break; sleep 0.05; done
	bh=$(cat "$WORK/bh.port")
	p=$(egress_policy ctimeout "allow = 127.0.0.1:$bh
connect_timeout = 2s")
	sh_in "$p" "curl -sS --max-time 30 --noproxy '' -x $PROXY -w '%{http_code}\n' http://127.0.0.1:$bh/"
	contains "504" "$SB_OUT" "504"
	contains "says why" "$SB_OUT" "connect timed out"
	contains "audit says why" "$(cat "$WORK/ctimeout.audit")" '"reason":"connect timed out"'
}

t_idle_timeout_closes_a_silent_connection() {
	# idle_timeout = 1s and a server that answers after 3 s: the proxy
	# closes the connection and says why in the record.
	local p
	p=$(egress_policy idle "idle_timeout = 1s")
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/slow/3000 2>&1; echo rc=\$?; $CURL -x $PROXY http://localhost:$PORT/slow/300"
	lacks "no answer relayed" "$(printf '%s\n' "$SB_OUT" | sed '$d')" "slow"
	lacks "the client saw an error" "$SB_OUT" "rc=0"
	contains "control: a faster answer, in the same run, is relayed" "$(printf '%s\n' "$SB_OUT" | tail -n 1)" "slow"
	contains "record says why" "$(cat "$WORK/idle.audit")" '"reason":"idle timeout"'
}

t_two_hundred_concurrent_connections() {
	local p
	p=$(egress_policy conc)
	sh_in "$p" "
urls=''
for i in \$(seq 200); do urls=\"\$urls http://localhost:$PORT/slow/300?\$i\"; done
$CURL -x $PROXY --parallel --parallel-immediate --parallel-max 200 \$urls | grep -c slow"
	eq "all 200 answered" "$SB_OUT" "200"
}

t_malformed_long_and_slow_requests_are_cut_off() {
	local p
	p=$(egress_policy abuse)
	sb "$p" -- /bin/bash -c '
trap "" PIPE
exec 3<>/dev/tcp/127.0.0.1/3128
printf "GARBAGE\r\n\r\n" >&3; echo "malformed: $(head -n 1 <&3)"
exec 4<>/dev/tcp/127.0.0.1/3128
{ printf "GET http://localhost:'"$PORT"'/ HTTP/1.1\r\nX: "; head -c 70000 /dev/zero | tr "\0" a; } >&4 2>/dev/null
echo "long: $(head -n 1 <&4)"
exec 5<>/dev/tcp/127.0.0.1/3128
printf "GET http://localhost:'"$PORT"'/ HTTP/1.1\r\n" >&5
# while the slow one hangs, others are served
echo "meanwhile: $(curl -sS --noproxy "" -x http://127.0.0.1:3128 http://localhost:'"$PORT"'/)"
start=$SECONDS
echo "slow: $(head -n 1 <&5) after $((SECONDS - start))s"'
	eq "exit" "$SB_RC" 0
	contains "malformed gets 400" "$SB_OUT" "malformed: HTTP/1.1 400"
	contains "over-long head gets 431" "$SB_OUT" "long: HTTP/1.1 431"
	contains "others unaffected" "$SB_OUT" "meanwhile: hello from httpd"
	contains "slowloris cut off" "$SB_OUT" "slow: HTTP/1.1 400"
}

# ---- a shared proxy ----

# start_shared_proxy POLICY SOCKET [PROXY OPTIONS]: `cordon proxy` in the
# background, run through the command words in PROXY_WRAPPER if set.
start_shared_proxy() {
	local pol=$1 sock=$2
	${PROXY_WRAPPER:-} "$CORDON" proxy --socket "$sock" --policy "$pol" "${@:3}" >"$WORK/proxy.out" 2>&1 &
	SHARED_PID=$!
	kill_on_exit "$SHARED_PID"
	for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
	failed "cordon proxy did not start: $(cat "$WORK/proxy.out")"
}

# Stops the shared proxy; in a sanitizer build, its report (if any) fails
# the test.
stop_shared_proxy() {
	kill "$SHARED_PID"
	wait "$SHARED_PID" 2>/dev/null
	no_sanitizer_report "$(cat "$WORK/proxy.out")"
}

t_proxy_options_are_given_once() {
	# Under a sudoers rule that lets the invoker append options, a second
	# --policy or --socket must not replace the administrator's.
	local pp sock=$WORK/once.sock out rc o gid
	pp=$(egress_policy once)
	gid=$(id -g)
	for o in "--policy $pp" "--socket $WORK/other.sock" "--mode 0600" "--group $gid"; do
		# shellcheck disable=SC2086 # the option and its value, two words
		out=$(timeout 10 "$CORDON" proxy --socket "$sock" --policy "$pp" --mode 0660 --group "$gid" $o 2>&1)
		rc=$?
		eq "${o%% *} twice: status" "$rc" 125
		contains "${o%% *} twice: says so" "$out" "cordon: ${o%% *} given more than once"
	done
	# Only the names it documents, whole: an abbreviation is not one.
	out=$(timeout 10 "$CORDON" proxy --sock "$sock" --policy "$pp" 2>&1)
	eq "--sock: status" "$?" 125
	contains "--sock: usage" "$out" "usage: cordon proxy"
	[ -e "$sock" ] && failed "a refused proxy made its socket"
	# Control: each once, in both spellings, starts the proxy.
	start_shared_proxy "$pp" "$sock" --mode=0660 --group "$gid"
	sleep 0.2
	kill -0 "$SHARED_PID" || failed "the proxy did not keep running: $(cat "$WORK/proxy.out")"
	stop_shared_proxy
}

count_fds() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# start_in_background POLICY SCRIPT: a sandbox running SCRIPT while the
# test goes on; sets LAUNCHER (its launcher) and BUILTIN_PROXY (the
# launcher's cordon-proxy child). Output in $WORK/background.out.
start_in_background() {
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$1" -- /bin/sh -c "$2") >"$WORK/background.out" 2>&1 &
	LAUNCHER=$!
	kill_on_exit "$LAUNCHER"
	BUILTIN_PROXY=
	for _ in $(seq 100); do
		BUILTIN_PROXY=$(pgrep -P "$LAUNCHER" -x cordon-proxy) && return 0
		sleep 0.05
	done
	failed "no cordon-proxy child of the launcher: $(cat "$WORK/background.out")"
}

t_builtin_proxy_leaks_no_descriptors() {
	# The sandbox's own proxy, counted from the host while the sandbox
	# runs; the project directory carries go/done/end between the two.
	local p before after
	p=$(egress_policy builtinfds)
	start_in_background "$p" "
while [ ! -e go ]; do sleep 0.05; done
urls=''
for i in \$(seq 200); do urls=\"\$urls http://localhost:$PORT/?\$i\"; done
$CURL -x $PROXY --parallel --parallel-immediate --parallel-max 200 \$urls | grep -c hello >count
touch done
while [ ! -e end ]; do sleep 0.05; done"
	sleep 0.2
	before=$(count_fds "$BUILTIN_PROXY")
	touch "$WORK/proj/go"
	for _ in $(seq 400); do [ -e "$WORK/proj/done" ] && break; sleep 0.05; done
	sleep 0.5
	after=$(count_fds "$BUILTIN_PROXY")
	touch "$WORK/proj/end"
	wait "$LAUNCHER"
	eq "sandbox exit ($(cat "$WORK/background.out"))" "$?" 0
	eq "all 200 answered" "$(cat "$WORK/proj/count")" 200
	[ "$before" -gt 0 ] || failed "cannot count the proxy's descriptors"
	eq "no descriptor leaked" "$after" "$before"
}

t_proxy_death_is_reported_and_leaves_no_way_out() {
	# The built-in proxy killed while the sandbox runs: connections are
	# refused from then on (fail closed) and the launcher says why.
	local p
	p=$(egress_policy proxydeath)
	start_in_background "$p" "
while [ ! -e go ]; do sleep 0.05; done
$CURL -x $PROXY http://localhost:$PORT/ >after 2>&1; echo \$? >>after"
	kill -KILL "$BUILTIN_PROXY"
	sleep 0.2
	touch "$WORK/proj/go"
	wait "$LAUNCHER"
	eq "sandbox exit ($(cat "$WORK/background.out"))" "$?" 0
	lacks "no way out without the proxy" "$(cat "$WORK/proj/after")" "hello from httpd"
	# curl ran and failed: couldn't connect (7), nothing listens any more.
	eq "curl's status" "$(tail -n 1 "$WORK/proj/after")" 7
	contains "the launcher says why" "$(cat "$WORK/background.out")" "the proxy was killed by signal 9"
}

t_standalone_proxy_serves_several_sandboxes_without_leaking() {
	local pp sock=$WORK/egress.sock p
	pp=$(egress_policy shared)
	start_shared_proxy "$pp" "$sock"
	p=$(policy client <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	local before after
	sleep 0.2
	before=$(count_fds "$SHARED_PID")
	[ "$before" -gt 0 ] || failed "cannot count the proxy's descriptors"
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/"
	eq "first sandbox" "$SB_OUT" "hello from httpd"
	sh_in "$p" "
urls=''
for i in \$(seq 200); do urls=\"\$urls http://localhost:$PORT/?\$i\"; done
$CURL -x $PROXY --parallel --parallel-immediate --parallel-max 200 \$urls | grep -c hello"
	eq "second sandbox, 200 at once" "$SB_OUT" "200"
	sleep 0.5
	after=$(count_fds "$SHARED_PID")
	eq "no descriptor leaked" "$after" "$before"
	local ids
	ids=$(grep -o '"sandbox_id":"[0-9a-f]*"' "$WORK/shared.audit" | sort -u | wc -l)
	[ "$ids" -ge 2 ] || failed "records do not tell the sandboxes apart: $(cat "$WORK/shared.audit")"
	stop_shared_proxy
}

t_shared_proxy_gives_each_sandbox_its_share() {
	# Sandbox A holds 1100 idle one-byte request heads through a shared
	# proxy, more than the proxy's whole connection limit: it gets its
	# share and a 503 saying so beyond it, while sandbox B, on the same
	# proxy at the same time, is still served.
	local pp sock=$WORK/share.sock p holder
	pp=$(egress_policy share)
	start_shared_proxy "$pp" "$sock"
	p=$(policy shareclient <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	cat >"$WORK/proj/hold.sh" <<EOF
trap "" PIPE
for i in \$(seq 1100); do
	exec {fd}<>/dev/tcp/127.0.0.1/3128 && printf G >&\$fd
done 2>/dev/null
$CURL -x $PROXY -w '%{http_code}\n' http://localhost:$PORT/ >over 2>&1
touch held
while [ ! -e end ]; do sleep 0.05; done
EOF
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$p" -- /bin/bash hold.sh) >"$WORK/hold.out" 2>&1 &
	holder=$!
	kill_on_exit "$holder"
	for _ in $(seq 300); do [ -e "$WORK/proj/held" ] && break; sleep 0.05; done
	[ -e "$WORK/proj/held" ] || failed "sandbox A did not open its connections: $(cat "$WORK/hold.out")"
	sh_in "$p" "$CURL -x $PROXY -w '%{http_code}\n' http://localhost:$PORT/"
	touch "$WORK/proj/end"
	wait "$holder"
	eq "sandbox A exit ($(cat "$WORK/hold.out"))" "$?" 0
	eq "rc" "$SB_RC" 0
	eq "sandbox B is served" "$SB_OUT" "hello from httpd
200"
	contains "sandbox A over its share gets 503" "$(cat "$WORK/proj/over")" "503"
	contains "saying why" "$(cat "$WORK/proj/over")" "connections open, its share of the shared egress proxy"
	contains "and a line on the proxy's stderr" "$(cat "$WORK/proxy.out")" "its share of the shared egress proxy"
	stop_shared_proxy
}

t_shared_proxy_limits_a_sandboxs_buffers() {
	# Bulk downloads grow the proxy's relay buffers (up to 4 MiB each way
	# per connection). One sandbox's 64 parallel downloads through a shared
	# proxy may hold its share of buffer memory (64 MiB), not 64 times
	# 4 MiB: the proxy's peak resident memory tells (about 75 MB here,
	# 270 MB without the share). Under ASan, freed memory would stay
	# resident in its quarantine: turned off for this proxy.
	local pp sock=$WORK/mem.sock p peak
	pp=$(egress_policy mem)
	PROXY_WRAPPER="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" start_shared_proxy "$pp" "$sock"
	p=$(policy memclient <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	sh_in "$p" "
urls=''
for i in \$(seq 64); do urls=\"\$urls -o /dev/null http://localhost:$PORT/bytes/30000000?\$i\"; done
$CURL -x $PROXY --parallel --parallel-immediate --parallel-max 64 -w '%{http_code} %{size_download}\n' \$urls | sort | uniq -c"
	peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$SHARED_PID/status")
	eq "rc" "$SB_RC" 0
	eq "all 64 downloads complete" "$(echo $SB_OUT)" "64 200 30000000"
	[ "$peak" -lt $((140 * 1024)) ] || failed "the proxy's peak resident memory is $peak kB"
	stop_shared_proxy
}

t_root_shared_proxy_shares_resolver_threads() {
	# Name resolution that hangs: the shared proxy runs with a resolv.conf
	# (bind-mounted in its own mount namespace) naming 127.0.0.77, where a
	# socket takes queries and never answers. Sandbox A asks for 80
	# different names at once: 64 wait (its share), the rest get a 503
	# saying so, and A's lookups hold 4 resolver threads at most. Sandbox B
	# meanwhile asks for localhost (from /etc/hosts, but on a resolver
	# thread all the same) and is served at once. Nothing leaves loopback.
	local pp sock=$WORK/dns.sock p holder
	command -v socat >/dev/null || failed "socat is not installed (scripts/setup installs it)"
	socat -u UDP-RECV:53,bind=127.0.0.77 - >/dev/null 2>&1 &
	kill_on_exit $!
	printf 'nameserver 127.0.0.77\noptions timeout:5 attempts:1\n' >"$WORK/resolv.conf"
	cat >"$WORK/fakedns.sh" <<'EOF'
mount --bind "$FAKE_RESOLV" /etc/resolv.conf || exit 1
exec "$@"
EOF
	pp=$(egress_policy slowdns "allow = *.slow.test")
	PROXY_WRAPPER="unshare -m --propagation private env FAKE_RESOLV=$WORK/resolv.conf sh $WORK/fakedns.sh" \
		start_shared_proxy "$pp" "$sock"
	p=$(policy slowdnsclient <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	cat >"$WORK/proj/names.sh" <<'EOF'
trap "" PIPE
for i in $(seq 80); do
	exec {fd}<>/dev/tcp/127.0.0.1/3128 && printf "GET http://n$i.slow.test/ HTTP/1.1\r\n\r\n" >&$fd
	fds="$fds $fd"
done 2>/dev/null
sleep 1
for fd in $fds; do if read -t 0 <&$fd; then timeout 5 cat <&$fd; fi; done >answers 2>&1
touch asked
while [ ! -e end ]; do sleep 0.05; done
EOF
	(cd "$WORK/proj" && exec "$CORDON" run --policy "$p" -- /bin/bash names.sh) >"$WORK/names.out" 2>&1 &
	holder=$!
	kill_on_exit "$holder"
	for _ in $(seq 400); do [ -e "$WORK/proj/asked" ] && break; sleep 0.05; done
	[ -e "$WORK/proj/asked" ] || failed "sandbox A did not ask: $(cat "$WORK/names.out")"
	sh_in "$p" "curl -sS --max-time 3 --noproxy '' -x $PROXY -w '%{http_code}\n' http://localhost:$PORT/"
	touch "$WORK/proj/end"
	wait "$holder"
	eq "sandbox A exit ($(cat "$WORK/names.out"))" "$?" 0
	eq "rc" "$SB_RC" 0
	eq "sandbox B is served at once" "$SB_OUT" "hello from httpd
200"
	eq "A's names beyond its share refused" "$(grep -c 'names being resolved, its share' "$WORK/proj/answers")" 16
	stop_shared_proxy
}

t_builtin_proxy_is_not_limited_to_a_share() {
	# The built-in proxy serves one sandbox, which gets all of it: 300
	# idle connections (more than a shared proxy's share) and a request
	# still served.
	local p
	p=$(egress_policy whole)
	cat >"$WORK/proj/hold.sh" <<EOF
trap "" PIPE
for i in \$(seq 300); do
	exec {fd}<>/dev/tcp/127.0.0.1/3128 && printf G >&\$fd
done 2>/dev/null
$CURL -x $PROXY -w '%{http_code}\n' http://localhost:$PORT/
EOF
	sb "$p" -- /bin/bash hold.sh
	eq "rc" "$SB_RC" 0
	eq "served" "$SB_OUT" "hello from httpd
200"
}

t_out_of_descriptors_is_refused_clearly_and_recovers() {
	# A shared proxy allowed only 48 descriptors (two per connection) and
	# 60 slow requests at once: the ones it cannot take get a 503 that says
	# why, at once, instead of waiting or the proxy spinning on a listener
	# it cannot accept from; afterwards it serves again, leaking nothing.
	local pp sock=$WORK/fdlimit.sock p
	pp=$(egress_policy fdlimit)
	sed -i "s/^allow = localhost:$PORT/allow = 127.0.0.1:$PORT/" "$pp"
	PROXY_WRAPPER="prlimit --nofile=48:48" start_shared_proxy "$pp" "$sock"
	p=$(policy fdclient <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	sleep 0.2
	local before
	before=$(count_fds "$SHARED_PID")
	sh_in "$p" "
urls=''
for i in \$(seq 60); do urls=\"\$urls -o /dev/null http://127.0.0.1:$PORT/slow/1500?\$i\"; done
$CURL -x $PROXY --parallel --parallel-immediate --parallel-max 60 -w '%{http_code}\n' \$urls | sort | uniq -c
$CURL -x $PROXY http://127.0.0.1:$PORT/"
	contains "some served" "$SB_OUT" " 200"
	contains "some refused with 503" "$SB_OUT" " 503"
	[ "$(printf '%s\n' "$SB_OUT" | awk '$2 == 200 || $2 == 503 {n += $1} END {print n}')" = 60 ] ||
		failed "not every request got an answer: $SB_OUT"
	contains "served again afterwards" "$SB_OUT" "hello from httpd"
	contains "one clear line on stderr" "$(cat "$WORK/proxy.out")" "out of file descriptors"
	sleep 0.5
	eq "no descriptor leaked" "$(count_fds "$SHARED_PID")" "$before"
	stop_shared_proxy
}

t_shared_proxy_socket_mode_and_group() {
	local pp sock=$WORK/perm.sock grp
	pp=$(egress_policy perm)
	start_shared_proxy "$pp" "$sock"
	eq "owner and group by default" "$(stat -c %a "$sock")" 660
	stop_shared_proxy
	# A stopped proxy leaves its socket (it may write nothing once
	# confined): remove it, so the wait below sees the new one.
	rm -f "$sock"
	# Root may give the socket to any group, a user to one of their own.
	grp=nogroup
	[ "$IS_ROOT" -eq 1 ] || grp=$(id -gn)
	start_shared_proxy "$pp" "$sock" --mode 0666 --group "$grp"
	eq "mode and group as asked" "$(stat -c '%a %G' "$sock")" "666 $grp"
	stop_shared_proxy
	"$CORDON" proxy --socket "$sock" --policy "$pp" --mode 4755 >"$WORK/proxy.out" 2>&1
	eq "only permission bits" "$?" 125
	contains "says why" "$(cat "$WORK/proxy.out")" "at most 0777"
}

# as_agent CMD...: runs a command as the unprivileged agent account, from
# the project directory, with a clean environment.
as_agent() {
	local home
	home=$(getent passwd "$CORDON_AGENT_USER" | cut -d: -f6)
	(cd "$WORK/proj" && setpriv --reuid="$CORDON_AGENT_USER" --regid="$CORDON_AGENT_USER" --init-groups -- \
		env -i HOME="$home" PATH=/usr/bin:/bin "$@")
}

t_root_shared_proxy_serves_another_users_sandbox() {
	# An administrator's proxy (root, then nobody) and a sandbox that a
	# different, unprivileged user starts: it connects only when the
	# socket's mode lets it, and the records carry that user's uid.
	local pp sock=$WORK/admin.sock p agent_uid out rc
	[ -n "${CORDON_AGENT_USER:-}" ] || failed "CORDON_AGENT_USER is not set (run-as.sh sets it)"
	agent_uid=$(id -u "$CORDON_AGENT_USER")
	pp=$(egress_policy admin)
	p=$(policy agentclient <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	start_shared_proxy "$pp" "$sock"
	out=$(as_agent "$CORDON" run --policy "$p" -- /bin/true 2>&1)
	rc=$?
	no_sanitizer_report "$out"
	eq "refused with the default mode" "$rc" 125
	contains "says why" "$out" "Permission denied"
	stop_shared_proxy
	rm -f "$sock"

	start_shared_proxy "$pp" "$sock" --mode 0666
	out=$(as_agent "$CORDON" run --policy "$p" -- $CURL -x $PROXY http://localhost:$PORT/ 2>&1)
	rc=$?
	no_sanitizer_report "$out"
	eq "exit ($out)" "$rc" 0
	eq "served through the admin's proxy" "$out" "hello from httpd"
	contains "record with the user's uid" "$(cat "$WORK/admin.audit")" "\"uid\":$agent_uid,"
	stop_shared_proxy
}

t_proxy_runs_unprivileged_and_confined() {
	local pp sock=$WORK/confined.sock
	pp=$(egress_policy confined)
	start_shared_proxy "$pp" "$sock"
	sleep 0.2
	local st
	st=$(cat "/proc/$SHARED_PID/status")
	contains "no capabilities" "$st" "CapEff:	0000000000000000"
	contains "no_new_privs" "$st" "NoNewPrivs:	1"
	contains "seccomp" "$st" "Seccomp:	2"
	eq "named for ps and pgrep" "$(cat "/proc/$SHARED_PID/comm")" cordon-proxy
	local uid
	uid=$(awk '/^Uid:/ {print $2}' <<<"$st")
	[ "$uid" != 0 ] || failed "the proxy runs as root"
	stop_shared_proxy
}

# ---- the proxy's own confinement, DNS rebinding, audited bytes ----

# wait_confined PID: until the proxy PID has loaded its seccomp filter, the
# last step of its confinement (it is named cordon-proxy before); at most
# 5 s, then the checks that follow say what is missing.
wait_confined() {
	for _ in $(seq 100); do
		grep -q '^Seccomp:[[:space:]]*2$' "/proc/$1/status" 2>/dev/null && return 0
		sleep 0.05
	done
}

t_builtin_proxy_runs_unprivileged_and_confined() {
	# The sandbox's own proxy, read from the host while the sandbox runs:
	# no capabilities, no_new_privs, a seccomp filter, and as root the
	# account nobody. Control: its parent, the launcher, has none of that.
	local p st parent want_uid
	p=$(egress_policy builtinconf)
	start_in_background "$p" "while [ ! -e end ]; do sleep 0.05; done"
	wait_confined "$BUILTIN_PROXY"
	st=$(cat "/proc/$BUILTIN_PROXY/status")
	parent=$(cat "/proc/$LAUNCHER/status")
	touch "$WORK/proj/end"
	wait "$LAUNCHER"
	eq "the sandbox ran" "$?" 0
	no_sanitizer_report "$(cat "$WORK/background.out")"
	for f in CapInh CapPrm CapEff CapAmb; do
		contains "$f" "$st" "$f:	0000000000000000"
	done
	contains "no_new_privs" "$st" "NoNewPrivs:	1"
	contains "seccomp" "$st" "Seccomp:	2"
	want_uid=$MYUID
	[ $IS_ROOT -eq 0 ] || want_uid=$(id -u nobody)
	eq "uids" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$st")" "$want_uid $want_uid $want_uid $want_uid"
	contains "control: the launcher has no no_new_privs" "$parent" "NoNewPrivs:	0"
	contains "control: the launcher has no filter" "$parent" "Seccomp:	0"
	[ $IS_ROOT -eq 0 ] || lacks "control: the launcher, as root, has capabilities" "$parent" "CapEff:	0000000000000000"
}

t_root_builtin_proxy_cannot_write_bind_or_make_denied_syscalls() {
	# Syscalls injected (ptrace, from the host) into the running built-in
	# proxy: create a file where its uid may write, bind a TCP port, and a
	# syscall the strict profile leaves out. Landlock refuses the first two
	# (EACCES), seccomp the third (ENOSYS). Control: the same injections
	# into an unconfined process of the same uid succeed, and the proxy
	# serves on afterwards.
	local p inject=$HELPERS/inject drop=$WORK/drop ctl
	mkdir -m 1777 "$drop"
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups sleep 60 &
	ctl=$!
	kill_on_exit $ctl
	p=$(egress_policy inject)
	start_in_background "$p" "
while [ ! -e go ]; do sleep 0.05; done
$CURL -x $PROXY http://localhost:$PORT/ >after 2>&1
touch done"
	wait_confined "$BUILTIN_PROXY"
	eq "control: an unconfined process of nobody creates a file" "$("$inject" $ctl create "$drop/control")" ok
	[ -e "$drop/control" ] || failed "control: the file is not there"
	eq "control: it binds a TCP port" "$("$inject" $ctl bind-tcp)" ok
	eq "control: adjtimex(NULL) gets the kernel's EFAULT" "$("$inject" $ctl adjtimex)" EFAULT
	eq "the proxy creates no file" "$("$inject" "$BUILTIN_PROXY" create "$drop/proxy")" EACCES
	[ ! -e "$drop/proxy" ] || failed "the proxy created $drop/proxy"
	eq "the proxy binds no TCP port" "$("$inject" "$BUILTIN_PROXY" bind-tcp)" EACCES
	eq "the proxy's strict profile refuses adjtimex" "$("$inject" "$BUILTIN_PROXY" adjtimex)" ENOSYS
	touch "$WORK/proj/go"
	wait "$LAUNCHER"
	eq "the sandbox ran" "$?" 0
	no_sanitizer_report "$(cat "$WORK/background.out")"
	eq "control: the proxy serves on" "$(cat "$WORK/proj/after")" "hello from httpd"
}

t_root_proxy_connects_only_to_the_address_it_vetted() {
	# DNS rebinding: a name that resolves to a public address when the
	# proxy checks it and to 127.0.0.1 the next time. The proxy resolves
	# once and connects to the address it vetted, so the loopback server
	# never hears from it; asked again, it refuses the private answer.
	# Nothing can leave this machine: the shared proxy, a DNS server of
	# the test's (tests/helpers/dnsd.c) and two web servers run in a
	# network namespace of their own with only lo, where the public
	# address (192.88.99.7, once 6to4 relays' anycast) is on lo too; the
	# proxy reads a resolv.conf naming that DNS server, bound over
	# /etc/resolv.conf in its own mount namespace.
	local pp=$WORK/rebind-proxy.ini sock=$WORK/rebind.sock p vport a f
	printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:1\n' >"$WORK/resolv.conf"
	cat >"$WORK/netns.sh" <<EOF
set -e
ip link set lo up
ip addr add 192.88.99.7/32 dev lo
[ "\$(ip -o link show | wc -l)" = 1 ] || { echo "not a network namespace of our own"; exit 1; }
mount --bind "$WORK/resolv.conf" /etc/resolv.conf
"$HELPERS/dnsd" -a 127.0.0.1 192.88.99.7 127.0.0.1 >"$WORK/dnsd.out" 2>&1 &
echo \$! >"$WORK/dnsd.pid"
"$HTTPD" -a 192.88.99.7 -p 0 -f "$WORK/vetted.port" -r "$WORK/vetted.record" >/dev/null 2>&1 &
echo \$! >"$WORK/vetted.pid"
for i in \$(seq 100); do [ -s "$WORK/vetted.port" ] && break; sleep 0.05; done
"$HTTPD" -a 127.0.0.1 -p "\$(cat "$WORK/vetted.port")" -f "$WORK/loopback.port" -r "$WORK/loopback.record" \
	>/dev/null 2>&1 &
echo \$! >"$WORK/loopback.pid"
for i in \$(seq 100); do [ -s "$WORK/loopback.port" ] && grep -q listening "$WORK/dnsd.out" && break; sleep 0.05; done
# Control: the loopback server answers whoever connects here.
curl -sS --max-time 10 --noproxy '*' "http://127.0.0.1:\$(cat "$WORK/vetted.port")/control" >"$WORK/control.out"
exec "\$@"
EOF
	cat >"$pp" <<EOF
[network]
mode = proxy
allow = rebind.test
[audit]
log = $WORK/rebind.audit
EOF
	PROXY_WRAPPER="unshare -m -n --propagation private sh $WORK/netns.sh" start_shared_proxy "$pp" "$sock"
	for f in dnsd vetted loopback; do
		[ -s "$WORK/$f.pid" ] || failed "$f did not start: $(cat "$WORK/proxy.out")"
		kill_on_exit "$(cat "$WORK/$f.pid")"
	done
	vport=$(cat "$WORK/vetted.port")
	eq "control: the loopback server answers" "$(cat "$WORK/control.out")" "hello from httpd"
	p=$(policy rebindclient <<EOF
[network]
mode = proxy
socket = $sock
EOF
)
	sh_in "$p" "$CURL -x $PROXY http://rebind.test:$vport/first; $CURL -x $PROXY http://rebind.test:$vport/second"
	eq "rc" "$SB_RC" 0
	contains "control: the name is served at the address it resolved to" "$SB_OUT" "hello from httpd"
	contains "asked again, the private answer is refused" "$SB_OUT" "resolves to 127.0.0.1 in 127.0.0.0/8 (loopback, private)"
	stop_shared_proxy
	eq "the loopback server heard only the control" "$(grep -o 'GET /[a-z]*' "$WORK/loopback.record")" "GET /control"
	contains "the vetted address got the request" "$(cat "$WORK/vetted.record")" "GET /first "
	eq "one lookup per request" "$(grep -c '^A rebind.test ' "$WORK/dnsd.out")" 2
	a=$(cat "$WORK/rebind.audit")
	contains "the record names the vetted address" "$a" '"host":"rebind.test","port":'"$vport"',"address":"192.88.99.7"'
	contains "the refusal is recorded" "$a" \
		'"reason":"resolves to 127.0.0.1 in 127.0.0.0/8 (loopback, private), which policy '"'rebind-proxy'"' does not allow; add: allow_private = 127.0.0.0/8"'
}

t_audit_counts_the_bytes_each_way() {
	# An upload and a download of known sizes through CONNECT tunnels,
	# counted by the client inside: each egress_allow record has exactly
	# the bytes that went up and came down through its tunnel.
	local p a up down
	p=$(egress_policy bytes)
	cat >"$WORK/proj/tunnel.sh" <<EOF
export LC_ALL=C
trap "" PIPE
# tunnel REQUEST [N]: one tunnel to the server, REQUEST and N zero bytes
# up; prints "SENT RECEIVED" and the answer's last line.
tunnel() {
	local status blank
	exec 3<>/dev/tcp/127.0.0.1/3128
	printf "CONNECT localhost:$PORT HTTP/1.1\r\n\r\n" >&3
	read -r status <&3
	read -r blank <&3
	case "\$status" in "HTTP/1.1 200 "*) ;; *) echo "no tunnel: \$status"; return ;; esac
	{ printf "%s" "\$1"; head -c "\${2:-0}" /dev/zero; } >&3
	cat <&3 >answer
	exec 3<&-
	echo "\$((\${#1} + \${2:-0})) \$(wc -c <answer)"
	tail -n 1 answer | tr -d x
	echo
}
tunnel \$'POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 300000\r\n\r\n' 300000
tunnel \$'GET /bytes/500000 HTTP/1.1\r\nHost: localhost\r\n\r\n'
EOF
	sb "$p" -- /bin/bash tunnel.sh
	eq "rc ($SB_ERR)" "$SB_RC" 0
	up=$(sed -n 1p <<<"$SB_OUT")
	down=$(sed -n 4p <<<"$SB_OUT")
	eq "the server got the whole upload" "$(sed -n 2p <<<"$SB_OUT")" "got 300000"
	[ "${up% *}" -gt 300000 ] && [ "${down#* }" -gt 500000 ] || failed "sizes: $SB_OUT"
	a=$(grep '"event":"egress_allow"' "$WORK/bytes.audit")
	contains "upload record" "$a" "\"bytes_up\":${up% *},\"bytes_down\":${up#* },"
	contains "download record" "$a" "\"bytes_up\":${down% *},\"bytes_down\":${down#* },"
	eq "two tunnels recorded" "$(grep -c . <<<"$a")" 2
}

# Every record of a run through the proxy parses as JSON and has the
# fields docs/audit.md lists, for start, allow, deny and exit.
t_audit_records_parse_with_the_documented_fields() {
	local p
	p=$(egress_policy fields)
	sh_in "$p" "$CURL -x $PROXY http://localhost:$PORT/ >/dev/null; $CURL -x $PROXY http://other.test:$PORT/ >/dev/null; true"
	python3 - "$WORK/fields.audit" "$MYUID" "$PORT" <<'EOF' || failed "records: $(cat "$WORK/fields.audit")"
import json, sys
log, uid, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(l) for l in open(log)]
events = [r["event"] for r in recs]
assert events[0] == "sandbox_start" and events[-1] == "sandbox_exit", events
assert {"egress_allow", "egress_deny"} <= set(events), events
ids = {r["sandbox_id"] for r in recs}
assert len(ids) == 1, ids
for r in recs:
    assert {"time", "event", "policy", "sandbox_id", "uid"} <= set(r), r
    assert r["policy"] == "fields" and r["uid"] == uid, r
egress = {"host", "port", "address", "protocol", "bytes_up", "bytes_down", "duration_ms", "reason"}
allow = [r for r in recs if r["event"] == "egress_allow"][0]
deny = [r for r in recs if r["event"] == "egress_deny"][0]
assert egress <= set(allow) and egress <= set(deny), (allow, deny)
assert allow["host"] == "localhost" and allow["port"] == port and allow["protocol"] == "http", allow
assert allow["address"] in ("127.0.0.1", "::1") and allow["bytes_down"] > 0, allow
assert deny["host"] == "other.test" and deny["address"] is None and "allow list" in deny["reason"], deny
start = recs[0]
assert start["network"] == "proxy" and "net" in start["namespaces"], start
EOF
}

run_tests "${1:-}"
