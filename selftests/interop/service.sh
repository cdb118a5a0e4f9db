#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmqttd as systemd runs it (Type=notify), with a stand-in for the service
# manager's notify socket: READY=1 comes once clients can connect,
# RELOADING=1 then READY=1 around a reload, STOPPING=1 on the way out; and
# a restart, as `systemctl restart kmqttd` does it, keeps a connected
# subscriber connected and receiving.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
root=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/kmqttd.sh"

if [ ! -d /sys/module/kmqtt ]; then
	echo "1..0 # SKIP kmqtt.ko is not loaded (run it in the test VM)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-service.XXXXXX")
manager_pid=
sub_pid=
trap 'kmqttd_stop; kill $manager_pid $sub_pid 2>/dev/null; rm -rf "$work"' EXIT
kmqttd=${KMQTTD:-$root/agent/kmqttd}
states=$work/states
port=$(kmqttd_free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$work/kmqtt.conf"

# The service manager's side: each datagram on a line of $states.
export NOTIFY_SOCKET=@kmqtt-service-$$
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
out = open(sys.argv[2], "a", buffering=1)
print("bound", file=out)
while True:
    out.write(s.recv(4096).decode() + "\n")
' "$NOTIFY_SOCKET" "$states" &
manager_pid=$!

# wait_for LINE N: until $states holds LINE N times (30 s).
wait_for() {
	local deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(grep -cx "$1" "$states")" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "waited for $2 x '$1'; the manager got:"
	cat "$states"
	return 1
}

# The id of svc-sub's connection in the module, or nothing.
sub_conn_id() {
	"$root/tools/kmqttctl/kmqttctl" show --json | /usr/bin/python3 -c '
import json, sys
for c in json.load(sys.stdin)["connections"]:
    if c["client_id"] == "svc-sub":
        print(c["id"])'
}

# Until the module holds svc-sub's subscription (30 s).
wait_subscribed() {
	local deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		"$root/tools/kmqttctl/kmqttctl" show --json | /usr/bin/python3 -c '
import json, sys
show = json.load(sys.stdin)
sys.exit(not any(s["client_id"] == "svc-sub" and s["subscriptions"]
                 for s in show["sessions"]))' && return 0
		sleep 0.1
	done
	echo "svc-sub never subscribed"
	return 1
}

start() {
	"$kmqttd" -c "$work/kmqtt.conf" >>"$work/kmqttd.log" 2>&1 &
	kmqttd_pid=$!
}

# The subscriber's output has become @1 (30 s).
sub_got() {
	local deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(tr '\n' ' ' <"$work/sub")" = "$1" ] && return 0
		sleep 0.05
	done
	echo "the subscriber got:"
	cat "$work/sub"
	return 1
}

same_connection() {
	local now

	now=$(sub_conn_id)
	echo "svc-sub's connection: $conn_before before, $now after"
	[ -n "$conn_before" ] && [ "$now" = "$conn_before" ]
}

ready_means_listening() {
	wait_for READY=1 1 || return 1
	# At once, with no retry: the listener must be up already.
	mosquitto_pub -p "$port" -i svc-probe -t svc/probe -m up
}

# A reload's datagrams: RELOADING=1, then READY=1 with STATUS=@1.
reload_reported() {
	local deadline=$((SECONDS + 30))

	while [ $SECONDS -lt $deadline ]; do
		[ "$(tail -n 3 "$states" | tr '\n' '|')" = "RELOADING=1|READY=1|STATUS=$1|" ] &&
			return 0
		sleep 0.05
	done
	echo "the manager got:"
	cat "$states"
	return 1
}

refused_reload_reported() {
	cp "$work/kmqtt.conf" "$work/good.conf"
	echo "no_such_directive 1" >>"$work/kmqtt.conf"
	kill -HUP "$kmqttd_pid"
	reload_reported "Reload refused: the configuration in force is the earlier one (see the log)"
	local status=$?
	cp "$work/good.conf" "$work/kmqtt.conf"
	return $status
}

subscriber_receives() {
	wait_subscribed &&
		mosquitto_pub -p "$port" -i svc-pub -t svc/t -m "$1" -q 1 &&
		sub_got "$2"
}

tap_plan 8
touch "$states"
wait_for bound 1 >/dev/null
start
tap_check "READY=1 once clients can connect" ready_means_listening
kill -HUP "$kmqttd_pid"
tap_check "RELOADING=1 then READY=1 around SIGHUP" reload_reported ""
tap_check "a refused reload: READY=1 with a STATUS that says so" refused_reload_reported
# -C 3: still connected after the two messages, to be looked at.
mosquitto_sub -p "$port" -i svc-sub -t svc/t -q 1 -C 3 -W 120 >"$work/sub" 2>&1 &
sub_pid=$!
tap_check "a subscriber receives" subscriber_receives before "before "
conn_before=$(sub_conn_id)
kill -TERM "$kmqttd_pid"
wait "$kmqttd_pid"
kmqttd_pid=
tap_check "STOPPING=1 when it exits" wait_for STOPPING=1 1
tap_check "the subscriber stays connected without kmqttd" kill -0 "$sub_pid"
start
tap_check "restarted: READY=1 again, and the subscriber still receives" \
	eval 'wait_for READY=1 4 && subscriber_receives after "before after "'
# Not a new connection (mosquitto_sub would connect again by itself).
tap_check "on the same connection as before the restart" same_connection
tap_done
