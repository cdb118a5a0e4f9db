#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the test VM, with the packaged kmqtt.ko that DKMS built loaded: the
# packaged kmqttd, run from the installed root ROOT as its unit runs it
# (-c /etc/kmqtt/kmqtt.conf, Type=notify), comes up and serves the
# mosquitto_sub/mosquitto_pub pair; the packaged kmqttctl sees them.
# usage: selftests/package/guest.sh ROOT.  Prints TAP.
set -u
root=$1
here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
work=$(mktemp -d)
kmqttd_pid=

# The root is the host's, read-only here: what kmqttd writes goes to tmpfs.
for d in run tmp var/lib/kmqtt; do
	mount -t tmpfs tmpfs "$root/$d" || exit 1
done
mount -t proc proc "$root/proc" || exit 1

export NOTIFY_SOCKET=@kmqtt-package-$$
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
out = open(sys.argv[2], "a", buffering=1)
while True:
    out.write(s.recv(4096).decode() + "\n")
' "$NOTIFY_SOCKET" "$work/states" &
manager=$!
trap 'kill $kmqttd_pid $manager 2>/dev/null; rm -rf "$work"' EXIT
# The stand-in opens the states file once its socket is bound: kmqttd
# started before that finds no one to tell READY=1 (a fixed 0.5 s was
# too short on a loaded host).
for _ in $(seq 100); do
	[ -e "$work/states" ] && break
	sleep 0.1
done

ready() {
	local deadline=$((SECONDS + 60))
	while [ $SECONDS -lt $deadline ]; do
		grep -qx READY=1 "$work/states" 2>/dev/null && return 0
		kill -0 "$kmqttd_pid" || { cat "$work/kmqttd.log"; return 1; }
		sleep 0.1
	done
	cat "$work/kmqttd.log"
	return 1
}

pub_sub() {
	mosquitto_sub -h 127.0.0.1 -p 1883 -t package/t -C 1 -W 60 >"$work/sub" &
	local sub=$!
	sleep 1
	mosquitto_pub -h 127.0.0.1 -p 1883 -t package/t -m "from the package" || return 1
	wait "$sub"
	cat "$work/sub"
	[ "$(cat "$work/sub")" = "from the package" ]
}

kmqttctl_sees() {
	chroot "$root" /usr/sbin/kmqttctl show --json >"$work/show" &&
		/usr/bin/python3 -c '
import json, sys
show = json.load(open(sys.argv[1]))
sys.exit(show["stats"]["msgs_in"] < 1)' "$work/show"
}

tap_plan 4
chroot "$root" /usr/sbin/kmqttd -c /etc/kmqtt/kmqtt.conf >"$work/kmqttd.log" 2>&1 &
kmqttd_pid=$!
tap_check "$(uname -r): the packaged kmqttd is ready with the packaged configuration" ready
tap_check "$(uname -r): mosquitto_sub receives what mosquitto_pub sends through it" pub_sub
tap_check "$(uname -r): the packaged kmqttctl sees the message" kmqttctl_sees
tap_check "$(uname -r): the module is the one DKMS built" \
	grep -qx "$(modinfo -F version "$KMQTT_KO")" <<<"$(cat /sys/module/kmqtt/version)"
tap_done
