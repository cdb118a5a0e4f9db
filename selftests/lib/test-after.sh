#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# after (after.sh): the command runs after its delay, a SIGTERM before
# then calls it off at once, however early, and ends its sleep too, and
# one after it began does not stop it; the caller's EXIT trap is not run
# by the timer, and is set whenever the caller gets a signal.

here=$(dirname "$(readlink -f "$0")")
. "$here/tap.sh"
. "$here/after.sh"

# Milliseconds since the epoch.
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

runs_after_delay() {
	local job start
	start=$(now_ms)
	after 1 touch "$dir/late"
	job=$!
	sleep 0.3
	[ ! -e "$dir/late" ] || { echo "ran before its delay"; return 1; }
	wait "$job"
	echo "ran after $(($(now_ms) - start)) ms"
	[ -e "$dir/late" ] && [ $(($(now_ms) - start)) -ge 1000 ]
}

# A delay no other sleep has (this run's pid in it), to find its sleep by.
DELAY=7.$$

called_off() { # PAUSE: how long after the call the SIGTERM comes
	local job start took
	after $DELAY touch "$dir/off"
	job=$!
	[ "$1" = 0 ] || sleep "$1"
	start=$(now_ms)
	kill "$job"
	wait "$job"
	took=$(($(now_ms) - start))
	echo "its job ended $took ms after the SIGTERM"
	[ "$took" -lt 700 ] || return 1
	! pgrep -f "^sleep $DELAY\$" >/dev/null ||
		{ echo "its sleep still runs"; return 1; }
	[ ! -e "$dir/off" ]
}

begun_runs_to_its_end() {
	local job
	# The wait, a builtin, would let a SIGTERM's trap run.
	after 0 eval "touch '$dir/began'; sleep 1 & wait; touch '$dir/whole'"
	job=$!
	for _ in $(seq 100); do
		[ -e "$dir/began" ] && break
		sleep 0.05
	done
	[ -e "$dir/began" ] || { echo "never began"; return 1; }
	kill "$job"
	wait "$job"
	[ -e "$dir/whole" ]
}

# A script with an EXIT trap calls 50 timers off as soon as they start:
# the trap runs once, in the script; bash would run it in a timer's
# subshell that the SIGTERM ends before its first command.
caller_exit_trap_kept() {
	local lines
	bash -c '. "$1/after.sh"
		trap "echo \$BASHPID >>$(printf %q "$2/exits")" EXIT
		echo $BASHPID >"$2/main"
		for _ in $(seq 50); do
			after 5 true
			kill $!
			wait $! 2>/dev/null
		done' test "$here" "$dir"
	lines=$(wc -l <"$dir/exits")
	echo "the EXIT trap ran $lines times, the script is $(cat "$dir/main")"
	echo "it ran in: $(tr '\n' ' ' <"$dir/exits")"
	[ "$lines" = 1 ] && [ "$(cat "$dir/exits")" = "$(cat "$dir/main")" ]
}

# The script itself, SIGTERMed 100 times while it starts and calls off
# timers, runs its EXIT trap each time, whenever the signal lands.  (The
# trap unset for each fork, 2 to 8 in 100 runs missed it here.)
caller_exit_trap_always_set() {
	local run missed=0
	for run in $(seq 100); do
		bash -c '. "$1/after.sh"
			trap "touch $(printf %q "$2/cleaned.$3")" EXIT
			touch "$2/started.$3"
			while :; do
				after 5 true
				kill $!
				wait $! 2>/dev/null
			done' test "$here" "$dir" "$run" &
		for _ in $(seq 500); do
			[ -e "$dir/started.$run" ] && break
			sleep 0.01
		done
		sleep "0.0$((RANDOM % 3))"
		kill $!
		wait $!
		[ -e "$dir/cleaned.$run" ] || missed=$((missed + 1))
	done
	echo "the EXIT trap did not run in $missed of 100 runs"
	[ $missed = 0 ]
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
tap_plan 6
tap_check "the command runs after its delay, not before" runs_after_delay
tap_check "a SIGTERM during the delay calls it off and ends its sleep" \
	called_off 0.3
tap_check "a SIGTERM straight after the call does too" called_off 0
tap_check "a SIGTERM once it began does not stop it" begun_runs_to_its_end
tap_check "the caller's EXIT trap runs in the caller alone" \
	caller_exit_trap_kept
tap_check "the caller's EXIT trap is set while it forks one" \
	caller_exit_trap_always_set
tap_done
