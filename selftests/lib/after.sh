# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# A command run later unless called off: a watchdog's, a timeout's.

# after SECONDS COMMAND...: run COMMAND in the background after SECONDS,
# unless a SIGTERM to the background job ($! after the call) calls it off
# first.  The SIGTERM ends the job and its sleep at once, however early it
# comes: the job's table has the sleep from its fork on.  Once begun,
# COMMAND runs to its end: a report is printed whole.
after() {
	local delay=$1 on_exit='' trap_words
	shift
	# Bash runs the script's EXIT trap (its cleanup, which stops its
	# brokers and removes its files) in a subshell a SIGTERM ends before
	# its first command.  For the fork, the trap is the script's only in
	# the script.  In a subshell, trap -p shows the script's trap, which
	# is not set there: nothing to do (a subshell that set its own would
	# need it; none does).
	if [ "$BASH_SUBSHELL" = 0 ]; then
		on_exit=$(trap -p EXIT)
		if [ -n "$on_exit" ]; then
			eval "trap_words=($on_exit)"
			# shellcheck disable=SC2064 # this process's, now
			trap "case \$BASHPID in $BASHPID) ${trap_words[2]}
			;; esac" EXIT
		fi
	fi
	(trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
	 sleep "$delay" >/dev/null 2>&1 &
	 wait
	 trap '' TERM
	 "$@") &
	[ -z "$on_exit" ] || eval "$on_exit"
}
