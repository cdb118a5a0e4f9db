#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# failure_why (tap-why.sh): what a suite printed right before its first
# and its last failure, six lines at most each; skips are no failures.

here=$(dirname "$(readlink -f "$0")")
. "$here/tap.sh"
. "$here/tap-why.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# why_of TAP EXPECTED: failure_why of TAP is EXPECTED.
why_of() {
	local got
	printf '%s\n' "$1" >"$dir/tap"
	got=$(failure_why demo "$dir/tap")
	[ "$got" = "$2" ] && return 0
	printf 'expected:\n%s\ngot:\n%s\n' "$2" "$got"
	return 1
}

first_failure_only_its_own() {
	why_of "1..2
# before the first test
ok 1 - fine
# a
# b
not ok 2 - broken" "==> why demo failed 2:
  # a
  # b"
}

last_six_lines() {
	why_of "1..1
$(seq 1 9 | sed 's/^/# line /')
not ok 1 - broken" "==> why demo failed 1:
$(seq 4 9 | sed 's/^/  # line /')"
}

skip_is_no_failure() {
	why_of "1..3
# skipped because
not ok 1 - skipped # SKIP no device
# lower case too
not ok 2 - skipped # skip no disk
# real
not ok 3 - broken" "==> why demo failed 3:
  # real"
}

said_nothing() {
	why_of "1..2
# fine
ok 1 - fine
not ok 2 - broken" "==> why demo failed 2:
  (it printed nothing before)"
}

first_and_last() {
	why_of "1..3
# one
not ok 1 - a
# two
not ok 2 - b
# three
not ok 3 - c" "==> why demo failed 1:
  # one
==> why demo failed 3:
  # three"
}

nothing_when_passed() {
	why_of "1..1
# all fine
ok 1 - fine" ""
}

tap_plan 6
tap_check "- the first failure shows its own comments, not an earlier test's" \
	first_failure_only_its_own
tap_check "- the last six lines at most" last_six_lines
tap_check "- a skip, in either case, is no failure" skip_is_no_failure
tap_check "- a failure that printed nothing says so" said_nothing
tap_check "- the first and the last failure, not those between" first_and_last
tap_check "- nothing for a suite that passed" nothing_when_passed
tap_done
