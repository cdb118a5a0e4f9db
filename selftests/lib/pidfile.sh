# SPDX-License-Identifier: GPL-2.0
# Processes whose pid a test keeps in a file, as checks run by tap_check
# do in subshells, where a variable would not outlive them.

# pidfile_stop FILE: SIGTERM the process of FILE, wait until it is gone,
# remove FILE.  Nothing to do when FILE does not exist.
pidfile_stop() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
	done
	rm -f "$1"
}
