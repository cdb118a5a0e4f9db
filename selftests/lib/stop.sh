# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Stopping the clients a test started in the background.

. "$(dirname "${BASH_SOURCE[0]}")/after.sh"

# stop_clients PID...: SIGTERM to each of these children of this shell,
# SIGKILL to any still running 5 s later (said in a TAP comment), and
# reaped.  mosquitto_sub sends its DISCONNECT from inside its SIGTERM (and
# -W's SIGALRM) handler, through the library's locks: a signal landing
# while it holds one deadlocks it, and a test waiting for it would wait
# forever.
stop_clients() {
	local pid comm killer status killed=()
	[ $# -gt 0 ] || return 0
	kill "$@" 2>/dev/null
	after 5 kill -9 "$@" >/dev/null 2>&1
	killer=$!
	for pid in "$@"; do
		# Its name while it is there to read (until reaped).
		read -r comm 2>/dev/null <"/proc/$pid/comm" || comm=
		wait "$pid" 2>/dev/null
		status=$?
		[ $status != 137 ] || killed+=("$pid ($comm)")
	done
	kill "$killer" 2>/dev/null
	wait "$killer" 2>/dev/null
	[ ${#killed[@]} = 0 ] ||
		echo "# still running 5 s after SIGTERM, killed: $(IFS=,; echo "${killed[*]}")"
}
