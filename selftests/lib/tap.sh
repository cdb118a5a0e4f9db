# SPDX-License-Identifier: GPL-2.0
# TAP output for shell tests: tap_plan N, then tap_check DESC CMD... per test;
# tap_done exits non-zero when a test failed or fewer than planned ran.

tap_count=0
tap_failed=0
tap_planned=0

tap_plan() {
	tap_planned=$1
	echo "1..$1"
}

# Report CMD's status as the next test; its output becomes TAP comments.
tap_check() {
	local desc=$1 out status=0
	shift
	out=$("$@" 2>&1) || status=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	tap_count=$((tap_count + 1))
	if [ $status = 0 ]; then
		echo "ok $tap_count $desc"
	else
		echo "not ok $tap_count $desc"
		tap_failed=$((tap_failed + 1))
	fi
}

tap_done() {
	[ $tap_failed = 0 ] && [ $tap_count = "$tap_planned" ]
	exit $?
}
