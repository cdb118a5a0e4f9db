# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# A command run later unless called off: a watchdog's, a timeout's.

# after SECONDS COMMAND...: run COMMAND in the background after SECONDS,
# unless a SIGTERM to the background job ($! after the call) calls it off
# first.  The SIGTERM ends the job and its sleep at once, however early it
# comes: the job's table has the sleep from its fork on.  Once begun,
# COMMAND runs to its end: a report is printed whole.
after() {
	local delay=$1 on_exit
	shift
	# Forked without the script's EXIT trap: bash runs it in a subshell
	# that a SIGTERM ends before its first command (its cleanup, which
	# would stop the script's brokers and remove its files).  In a
	# subshell, trap -p shows the script's trap, which is not set there.
	if [ "$BASH_SUBSHELL" = 0 ]; then
		on_exit=$(trap -p EXIT)
		trap - EXIT
	fi
	(trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
	 sleep "$delay" >/dev/null 2>&1 &
	 wait
	 trap '' TERM
	 "$@") &
	[ -z "$on_exit" ] || eval "$on_exit"
}
