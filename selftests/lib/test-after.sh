#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# after (after.sh): the command runs after its delay, a SIGTERM before
# then calls it off, however early, and one after it began does not stop
# it.

here=$(dirname "$(readlink -f "$0")")
. "$here/tap.sh"
. "$here/after.sh"

runs_after_delay() {
	local job start=$SECONDS
	after 1 touch "$dir/late"
	job=$!
	sleep 0.3
	[ ! -e "$dir/late" ] || { echo "ran before its delay"; return 1; }
	wait "$job"
	echo "ran after $((SECONDS - start)) s"
	[ -e "$dir/late" ] && [ $((SECONDS - start)) -ge 1 ]
}

called_off() { # PAUSE: how long after the call the SIGTERM comes
	local job start=$SECONDS
	after 1 touch "$dir/off"
	job=$!
	[ "$1" = 0 ] || sleep "$1"
	kill "$job"
	wait "$job"
	echo "its job ended $((SECONDS - start)) s after the call"
	sleep 1.5
	[ ! -e "$dir/off" ] && [ $((SECONDS - start)) -le 2 ]
}

begun_runs_to_its_end() {
	local job
	after 0 bash -c "sleep 1; touch '$dir/whole'"
	job=$!
	sleep 0.5
	kill "$job"
	wait "$job"
	[ -e "$dir/whole" ]
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
tap_plan 4
tap_check "the command runs after its delay, not before" runs_after_delay
tap_check "a SIGTERM during the delay calls it off" called_off 0.3
tap_check "a SIGTERM straight after the call calls it off" called_off 0
tap_check "a SIGTERM once it began does not stop it" begun_runs_to_its_end
tap_done
