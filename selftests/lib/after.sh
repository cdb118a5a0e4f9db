# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# A command run later unless called off: a watchdog's, a timeout's.

# after SECONDS COMMAND...: run COMMAND in the background after SECONDS,
# unless a SIGTERM to the background job ($! after the call) calls it off
# first.  The SIGTERM ends the job and its sleep at once, however early
# it comes ($! would be this shell's last child until the sleep has one).
# Once begun, COMMAND runs to its end: a report is printed whole.
after() {
	local delay=$1
	shift
	(s=
	 trap '[ -z "$s" ] || kill "$s" 2>/dev/null; exit 0' TERM
	 sleep "$delay" >/dev/null 2>&1 &
	 s=$!
	 wait "$s"
	 trap '' TERM
	 "$@") &
}
