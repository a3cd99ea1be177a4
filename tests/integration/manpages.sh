#!/usr/bin/env bash
# The man pages and the bash completion as the build made them (nothing is
# built here): cordon(1) names every command, option, exit status,
# environment variable and file; cordon-policy(5) every section and key of
# the schema; both render without a warning; the completion registers
# itself and completes commands, options and policy names, with and
# without the bash-completion package's helpers. Needs no privilege; runs
# as whoever runs ctest. Needs man (man-db) and bash-completion.
#   CORDON_BUILD        the build directory (man/, completion/)
#   CORDON_POLICY_DIR   the policy directory the build was configured with
. "$(dirname "$0")/lib.sh"
: "${CORDON_BUILD:?CORDON_BUILD must point at the build directory}"
: "${CORDON_SRC:?CORDON_SRC must point at the source tree}"
MAN1=$CORDON_BUILD/man/cordon.1
MAN5=$CORDON_BUILD/man/cordon-policy.5
GEN=$CORDON_BUILD/man/cordon-schema-man
COMPLETION=$CORDON_BUILD/completion/cordon
BASH_COMPLETION=/usr/share/bash-completion/bash_completion

# render PAGE: the page as man shows it, 80 columns, without hyphenation
# (a word split over two lines would not be found).
render() {
	MANROFFOPT=-rHY=0 MANWIDTH=80 man -l "$1" 2>&1
}

# flat TEXT: on one line, each run of blanks one space.
flat() {
	tr -s ' \n' '  ' <<<"$1"
}

# block TEXT HEADING: the lines of TEXT from the line HEADING (its exact
# text, leading spaces included) to the next line indented as little.
block() {
	awk -v h="$2" '
		!on && $0 == h { on = 1; match($0, /^ */); ind = RLENGTH; print; next }
		on && /[^ ]/ { match($0, /^ */); if (RLENGTH <= ind) exit }
		on { print }' <<<"$1"
}

# The commands `cordon --help` lists (the first word of each entry).
help_commands() {
	"$CORDON" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }'
}

# The options `cordon CMD --help` lists, each once.
help_options() {
	"$CORDON" "$1" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u
}

# missing_from_man1 PAGE: each command of `cordon --help` without an entry in
# the COMMANDS section of PAGE, and each option of `cordon CMD --help`
# missing from that entry, one per line.
missing_from_man1() {
	local text cmd opt entry head
	text=$(block "$(render "$1")" "COMMANDS")
	for cmd in $(help_commands); do
		head=$(grep -m1 -E "^       $cmd( |$)" <<<"$text")
		entry=$([ -n "$head" ] && block "$text" "$head")
		if [ -z "$entry" ]; then
			echo "command $cmd"
			continue
		fi
		# Each option an entry of its own in the command's, not only a
		# word of its synopsis.
		for opt in $(help_options "$cmd"); do
			grep -qE -- "^           $opt( |$)" <<<"$entry" || echo "$cmd $opt"
		done
	done
	for opt in --version --help; do
		grep -qE -- "^       $opt( |,|$)" <<<"$text" || echo "$opt"
	done
}

# The schema's keys, "SECTION KEY", read from policy/schema.c's table.
schema_keys() {
	grep -oE '(TEXT|TEXT_LIST|PATH|PATH_LIST|TYPED)\("[a-z_]+", "[a-z_0-9]+"' "$CORDON_SRC/policy/schema.c" |
		sed -E 's/.*\("([a-z_]+)", "([a-z_0-9]+)"/\1 \2/'
}

# missing_from_man5 PAGE: each section or key of the schema without its
# entry in PAGE (a key counts only under its own section's heading).
missing_from_man5() {
	local text sec key entry
	text=$(render "$1")
	while read -r sec key; do
		entry=$(block "$text" "   [$sec]")
		if [ -z "$entry" ]; then
			echo "section [$sec]"
			continue
		fi
		grep -qE "^       $key = " <<<"$entry" || echo "[$sec] $key"
	done < <(schema_keys)
	# The sections with no row in the table: the keys of [user:NAME] and
	# [secrets] are not fixed names.
	for sec in user:NAME secrets; do
		grep -qxF "   [$sec]" <<<"$text" || echo "section [$sec]"
	done
}

# complete_words SETUP -- WORD...: what the completion offers for the
# command line WORD... (the last word being completed), one per line,
# sorted. SETUP, a file or empty, is sourced first in the same shell (the
# bash-completion package's helpers).
complete_words() {
	local setup=$1
	shift 2
	bash --norc --noprofile -c '
		if [ -n "$1" ]; then . "$1" || exit 1; fi
		. "$2" || exit 1
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_cordon cordon "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
		printf "%s\n" "${COMPREPLY[@]}"' _ "$setup" "${COMPLETION_FILE:-$COMPLETION}" "$@" | sort -u
}

# A copy of the completion whose configured policy directory is DIR.
completion_with_dir() {
	local copy=$WORK/completion-$RANDOM
	sed "s|^_cordon_policy_dir=.*|_cordon_policy_dir='$1'|" "$COMPLETION" >"$copy"
	grep -qxF "_cordon_policy_dir='$1'" "$copy" || failed "no _cordon_policy_dir line in $COMPLETION"
	echo "$copy"
}

# ---- the man pages ----

t_man_pages_render_without_warnings() {
	local page err out
	for page in "$MAN1" "$MAN5"; do
		[ -s "$page" ] || failed "$page is missing (build with CORDON_MAN=ON)"
		err=$(MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null)
		eq "man --warnings=w -l $page: its warnings (groff -ww)" "$err" ""
		out=$(render "$page")
		contains "$page rendered" "$out" "NAME"
		contains "$page rendered" "$out" "SEE ALSO"
	done
	# Control: the same check sees a page's mistake.
	{
		cat "$MAN1"
		echo ".frob x"
	} >"$WORK/bad.1"
	err=$(MANWIDTH=80 man --warnings=w -l "$WORK/bad.1" 2>&1 >/dev/null)
	contains "a page with an unknown macro" "$err" "frob"
}

t_cordon1_has_every_command_and_option_of_help() {
	local cmds missing
	cmds=$(help_commands | tr '\n' ' ')
	eq "the commands of cordon --help" "$cmds" "run check explain doctor proxy "
	missing=$(missing_from_man1 "$MAN1")
	eq "commands and options missing from cordon(1)" "$missing" ""
	# Control: a page without one option's entry is caught.
	sed '/^\t\*--verbose\*$/,+2d' "$CORDON_SRC/docs/man/cordon.1.scd" | scdoc >"$WORK/cordon.1"
	missing=$(missing_from_man1 "$WORK/cordon.1")
	contains "cordon(1) without --verbose" "$missing" "explain --verbose"
}

t_cordon1_has_every_exit_status() {
	local text status
	text=$(render "$MAN1")
	status=$(block "$text" "EXIT STATUS")
	for s in 0 1 2 124 125 126 127 137; do
		grep -qw "$s" <<<"$status" || failed "exit status $s not in EXIT STATUS: $status"
	done
	contains "EXIT STATUS" "$(flat "$status")" "128+N if the command died of signal N"
	for cmd in run check explain doctor proxy; do
		grep -qE "^       ([a-z-]+, )*$cmd(,|$)" <<<"$status" || failed "$cmd has no entry in EXIT STATUS: $status"
	done
}

t_cordon1_has_every_environment_variable_cordon_reads() {
	local text envsec vars v
	text=$(render "$MAN1")
	envsec=$(block "$text" "ENVIRONMENT")
	# Every getenv of the launcher and the policy library (the plan reads
	# the invoker's environment through inv_getenv), but the test hooks'.
	vars=$(grep -ohE 'getenv\((b, )?"[A-Z_]+"\)' "$CORDON_SRC"/launcher/*.c "$CORDON_SRC"/policy/*.c |
		grep -oE '"[A-Z_]+"' | tr -d '"' | grep -v '^CORDON_TEST_' | sort -u)
	contains "the variables cordon reads" "$vars" "CORDON_POLICY_PATH"
	contains "the variables cordon reads" "$vars" "XDG_CONFIG_HOME"
	for v in $vars TERM HOME; do
		grep -qE "(^|[^A-Z_])$v([^A-Z_]|$)" <<<"$envsec" || failed "$v not in ENVIRONMENT: $envsec"
	done
	lacks "the ENVIRONMENT section" "$envsec" "CORDON_TEST_"
}

t_cordon1_has_every_installed_file() {
	local text files f
	text=$(render "$MAN1")
	files=$(block "$text" "FILES")
	for f in /etc/cordon/policies/ /usr/share/cordon/seccomp/ /usr/lib/cordon/bin/pi /usr/lib/cordon/bin/claude \
		/usr/lib/cordon/bin/codex /etc/sudoers.d/cordon /var/log/cordon/ /etc/apparmor.d/cordon /var/lib/cordon/; do
		contains "FILES" "$files" "$f"
	done
	contains "SEE ALSO" "$(block "$text" "SEE ALSO")" "cordon-policy(5)"
}

t_cordon_policy5_has_every_section_and_key() {
	local keys generated missing n
	keys=$(schema_keys)
	n=$(wc -l <<<"$keys")
	[ "$n" -ge 40 ] || failed "only $n keys read from policy/schema.c: $keys"
	# The generator walks the same table the parser does.
	generated=$("$GEN" --keys)
	eq "cordon-schema-man --keys against policy/schema.c" "$generated" "$keys"
	missing=$(missing_from_man5 "$MAN5")
	eq "sections and keys missing from cordon-policy(5)" "$missing" ""
	# Control: a page without one key's entry is caught.
	"$GEN" "$CORDON_SRC/docs/man/cordon-policy.5.scd.in" "$WORK/p.scd" || failed "cordon-schema-man"
	sed '/^\*idle\\_timeout\* = /,+1d' "$WORK/p.scd" | scdoc >"$WORK/cordon-policy.5"
	missing=$(missing_from_man5 "$WORK/cordon-policy.5")
	eq "cordon-policy(5) without idle_timeout" "$missing" "[network] idle_timeout"
}

t_cordon_policy5_entries_carry_the_schema_facts() {
	local text entry
	text=$(render "$MAN5")
	entry=$(flat "$(block "$(block "$text" "   [network]")" "       mode = none | proxy | host")")
	contains "[network] mode" "$entry" "Default: none."
	entry=$(flat "$(block "$(block "$text" "   [network]")" "       connect_timeout = duration")")
	contains "[network] connect_timeout" "$entry" "between 1s and 24h"
	contains "[network] connect_timeout" "$entry" "Only with [network] mode = proxy and no socket"
	entry=$(flat "$(block "$(block "$text" "   [sandbox]")" "       user = string")")
	contains "[sandbox] user" "$entry" "Required when cordon runs as root"
	entry=$(flat "$(block "$(block "$text" "   [filesystem]")" "       protect = path (repeatable)")")
	contains "[filesystem] protect" "$entry" "relative to the project"
	contains "[filesystem] protect" "$entry" "Read-only inside"
}

# The examples of cordon-policy(5) are policies check accepts.
t_cordon_policy5_examples_pass_check() {
	local n=0 f
	awk -v d="$WORK" '/^```/ { if (on) close(f); on = !on; if (on) f = d "/example" ++n ".ini"; next } on { print > f }' \
		"$CORDON_SRC/docs/man/cordon-policy.5.scd.in"
	for f in "$WORK"/example*.ini; do
		[ -e "$f" ] || failed "no example in cordon-policy.5.scd.in"
		n=$((n + 1))
		cli check "$f"
		eq "cordon check $(basename "$f") ($(show))" "$SB_RC" 0
	done
	[ "$n" -ge 2 ] || failed "$n examples"
	# Control: check refuses a broken one.
	printf '[sandbox]\nbogus = 1\n' >>"$WORK/example1.ini"
	cli check "$WORK/example1.ini"
	eq "cordon check of a broken example ($(show))" "$SB_RC" 2
}

# ---- bash completion ----

t_completion_registers_itself() {
	local out
	eq "the configured policy directory" "$(grep -c "^_cordon_policy_dir='${CORDON_POLICY_DIR:-/etc/cordon/policies}'$" "$COMPLETION")" 1
	out=$(bash --norc --noprofile -c '. "$1" && complete -p cordon' _ "$COMPLETION" 2>&1)
	eq "complete -p cordon" "$out" "complete -F _cordon cordon"
	out=$(bash --norc --noprofile -c '. "$1" && . "$2" && type -t _init_completion && complete -p cordon' _ \
		"$BASH_COMPLETION" "$COMPLETION" 2>&1)
	eq "complete -p cordon, with bash-completion's helpers" "$out" $'function\ncomplete -F _cordon cordon'
	# Control: nothing is registered without it.
	not "complete -p cordon without the file" bash --norc --noprofile -c 'complete -p cordon' 2>/dev/null
}

# Each case twice: in a bare bash, and with the bash-completion package's
# helpers loaded.
for_both_shells() {
	local setup
	for setup in "" "$BASH_COMPLETION"; do
		SETUP=$setup "$@"
	done
}

commands_and_options() {
	eq "cordon ru ($SETUP)" "$(complete_words "$SETUP" -- cordon ru)" "run"
	eq "cordon d ($SETUP)" "$(complete_words "$SETUP" -- cordon d)" "doctor"
	eq "cordon --v ($SETUP)" "$(complete_words "$SETUP" -- cordon --v)" "--version"
	eq "cordon run --pol ($SETUP)" "$(complete_words "$SETUP" -- cordon run --pol)" "--policy"
	eq "cordon run --policy x --pro ($SETUP)" "$(complete_words "$SETUP" -- cordon run --policy x --pro)" "--project"
	eq "cordon explain P --js ($SETUP)" "$(complete_words "$SETUP" -- cordon explain p.ini --js)" "--json"
	eq "cordon doctor --j ($SETUP)" "$(complete_words "$SETUP" -- cordon doctor --j)" "--json"
	eq "cordon proxy --so ($SETUP)" "$(complete_words "$SETUP" -- cordon proxy --so)" "--socket"
	contains "cordon run --policy x -- tru ($SETUP)" "$(complete_words "$SETUP" -- cordon run --policy x -- tru)" "true"
	contains "cordon run --policy x ech ($SETUP)" "$(complete_words "$SETUP" -- cordon run --policy x ech)" "echo"
	# Controls: an unknown prefix completes to nothing.
	eq "cordon zz ($SETUP)" "$(complete_words "$SETUP" -- cordon zz)" ""
	eq "cordon run --zz ($SETUP)" "$(complete_words "$SETUP" -- cordon run --zz)" ""
	eq "cordon doctor --pol ($SETUP)" "$(complete_words "$SETUP" -- cordon doctor --pol)" ""
}

t_completion_completes_commands_and_options() {
	for_both_shells commands_and_options
}

policy_names() {
	local d=$WORK/policies env=$WORK/env-policies out
	# The configured directory: a test copy of the completion names d.
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon run --policy "")
	eq "cordon run --policy '' ($SETUP)" "$out" $'alpha\nbeta'
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon run --policy a)
	eq "cordon run --policy a ($SETUP)" "$out" "alpha"
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon run --policy = b)
	eq "cordon run --policy=b ($SETUP)" "$out" "beta"
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon check "")
	eq "cordon check '' ($SETUP)" "$out" $'alpha\nbeta'
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon explain b)
	eq "cordon explain b ($SETUP)" "$out" "beta"
	# CORDON_POLICY_PATH's directories too, as cordon looks names up there.
	out=$(CORDON_POLICY_PATH=$env COMPLETION_FILE=$(completion_with_dir "$d") \
		complete_words "$SETUP" -- cordon run --policy "")
	eq "cordon run --policy '' with CORDON_POLICY_PATH ($SETUP)" "$out" $'alpha\nbeta\ngamma'
	# And *.ini files here, as paths.
	touch local.ini notes.txt
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon run --policy l)
	eq "cordon run --policy l ($SETUP)" "$out" "local.ini"
	rm -f local.ini notes.txt
	# Controls: an unknown prefix, and a directory holding no policy.
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "$SETUP" -- cordon run --policy zz)
	eq "cordon run --policy zz ($SETUP)" "$out" ""
	out=$(COMPLETION_FILE=$(completion_with_dir "$WORK/empty") complete_words "$SETUP" -- cordon run --policy a)
	eq "cordon run --policy a, no policies ($SETUP)" "$out" ""
}

t_completion_completes_policy_names() {
	mkdir -p "$WORK/policies" "$WORK/env-policies" "$WORK/empty"
	touch "$WORK/policies/alpha.ini" "$WORK/policies/beta.ini" "$WORK/policies/.hidden.ini" \
		"$WORK/policies/readme.txt" "$WORK/env-policies/gamma.ini"
	for_both_shells policy_names
}

# Names are matched, never evaluated: a policy file named like a command
# substitution, and the same typed on the line, run nothing (the marker
# files would appear in the working directory, where completion runs).
t_completion_evaluates_nothing() {
	local d=$WORK/policies out n
	mkdir -p "$d"
	touch "$d/\$(touch pwned1).ini" "$d/\`touch pwned2\`.ini"
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "" -- cordon run --policy "")
	contains "the names offered" "$out" "\$(touch pwned1)"
	contains "the names offered" "$out" "\`touch pwned2\`"
	out=$(COMPLETION_FILE=$(completion_with_dir "$d") complete_words "" -- cordon run --policy "\$(touch pwned3)")
	eq "completing a substitution" "$out" ""
	out=$(complete_words "" -- cordon "\$(touch pwned4)")
	eq "completing a substitution" "$out" ""
	out=$(complete_words "" -- cordon run --policy x "\$(touch pwned5)")
	eq "completing a substitution" "$out" ""
	for n in 1 2 3 4 5; do
		[ ! -e "pwned$n" ] || failed "completing ran a command (pwned$n)"
	done
}

run_tests "$@"
