# SPDX-License-Identifier: GPL-2.0
# Wait for a process started in the background to say in its log that it
# is ready (a broker listening), for the interop tests' brokers.

# log_wait WHO PID LOG PATTERN [COUNT [SECONDS]]: returns 0 once LOG has
# COUNT (1) lines matching PATTERN (grep's basic regular expression).
# Otherwise shows why and the log, as TAP comments, and returns 1 when
# PID exited first, 2 when SECONDS (60) passed.
log_wait() {
	local who=$1 pid=$2 log=$3 pattern=$4 count=${5:-1} wait=${6:-60}
	local deadline seen
	# Seconds, not turns: a turn takes longer than its sleep under TCG.
	deadline=$((SECONDS + wait))
	while [ $SECONDS -lt $deadline ]; do
		seen=$(grep -c -- "$pattern" "$log" 2>/dev/null)
		[ "${seen:=0}" -ge "$count" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "# $who exited with $seen of $count lines matching \"$pattern\" in its log:"
			sed 's/^/#   /' "$log"
			return 1
		fi
		sleep 0.01
	done
	echo "# $who: $seen of $count lines matching \"$pattern\" in its log after $wait s:"
	sed 's/^/#   /' "$log"
	return 2
}
