#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stop_clients (stop.sh): clients that go on SIGTERM are reaped at once,
# one that ignores it is killed after 5 s, and the others with it.

here=$(dirname "$(readlink -f "$0")")
. "$here/tap.sh"
. "$here/stop.sh"

# A client that ignores SIGTERM, as a deadlocked mosquitto_sub does.
deaf_client() {
	exec python3 -c 'import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(120)'
}

gone() { # PID...
	local pid
	for pid in "$@"; do
		! kill -0 "$pid" 2>/dev/null || { echo "$pid still runs"; return 1; }
	done
}

# stop_clients runs in the shell whose children they are, as in a test:
# what it says goes to a file, not through a subshell.
prompt_exit() {
	local a b start=$SECONDS out
	sleep 60 & a=$!
	sleep 60 & b=$!
	# A child signalled straight after the fork, before its exec, was
	# seen here to outlive SIGTERM: let them start.
	sleep 0.5
	stop_clients "$a" "$b" >"$said"
	out=$(cat "$said")
	echo "took $((SECONDS - start)) s, said: ${out:-nothing}"
	gone "$a" "$b" && [ $((SECONDS - start)) -le 2 ] && [ -z "$out" ]
}

deaf_killed() {
	local a b start=$SECONDS out fifo
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	deaf_client >"$fifo" & a=$!
	read -r _ <"$fifo"
	rm -f "$fifo"
	sleep 60 & b=$!
	sleep 0.5	# as in prompt_exit
	stop_clients "$a" "$b" >"$said"
	out=$(cat "$said")
	echo "took $((SECONDS - start)) s, said: $out"
	gone "$a" "$b" && [ $((SECONDS - start)) -ge 4 ] &&
		[ "$out" = "# still running 5 s after SIGTERM, killed: $a (python3)" ]
}

said=$(mktemp)
trap 'rm -f "$said"' EXIT
tap_plan 3
tap_check "clients that exit on SIGTERM are reaped within 2 s, silently" prompt_exit
tap_check "one ignoring SIGTERM is killed after 5 s and named" deaf_killed
tap_check "no pid: nothing to do" stop_clients
tap_done
