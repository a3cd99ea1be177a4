# The allow-list of skips (tests/skips), read by lib.sh's runner and by
# run-as.sh. A line is `SUITE TEST TEXT`: SUITE is the CTest name
# (escape_user), TEST a test function or `*` (the whole suite, which
# run-as.sh could not start), TEXT what the skip's reason must contain.
# A skip no line allows fails the suite.

# skiplist_problems LIST: prints each malformed line of LIST (nothing if
# it is well formed or absent).
skiplist_problems() {
	[ -e "$1" ] || return 0
	awk '/^[ \t]*(#|$)/ { next }
		$1 !~ /^[a-z0-9]+_(root|user)$/ || $2 !~ /^(t_[A-Za-z0-9_]+|\*)$/ || NF < 3 {
			printf "tests/skips:%d: expected SUITE_root|SUITE_user, t_NAME or *, and the reason: %s\n", FNR, $0
		}' "$1"
}

# skip_allowed LIST SUITE TEST REASON: true when a line of LIST names SUITE
# and TEST and its text is part of REASON.
skip_allowed() {
	local s t text
	[ -f "$1" ] || return 1
	while read -r s t text; do
		[ "$s" = "$2" ] && [ "$t" = "$3" ] && [ -n "$text" ] || continue
		case "$4" in *"$text"*) return 0 ;; esac
	done <"$1"
	return 1
}
