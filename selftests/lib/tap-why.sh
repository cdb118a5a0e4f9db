# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Why a TAP suite failed, in a few lines, for a summary.

# failure_why NAME FILE: the last lines of the TAP comments right before
# FILE's first failure (not a skip), and its last, where a suite says why.
failure_why() {
	awk -v name="$1" '
		BEGIN { n = start = 0 }
		function show(test, first, last) {
			printf "==> why %s failed %s:\n", name, test
			if (first == last)
				print "  (it printed nothing before)"
			for (i = (last - first > 6 ? last - 6 : first); i < last; i++)
				print "  " why[i]
		}
		/^not ok [0-9]+/ && !/# *[Ss][Kk][Ii][Pp]/ {
			if (!fails++) show($3, start, n)
			else { lastn = $3; lastfirst = start; lastend = n }
		}
		/^(not )?ok [0-9]+/ { start = n; next }
		/^ *#/ { why[n++] = $0 }
		END { if (fails > 1) show(lastn, lastfirst, lastend) }' "$2"
}
