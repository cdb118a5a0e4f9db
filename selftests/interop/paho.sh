#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interop with Eclipse Paho (Debian's python3-paho-mqtt): starts the broker
# on port 1883 and runs the wildcard and the QoS 2 session scripts, each of
# which prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/broker.sh"

trap broker_stop EXIT
broker_start 1883 || exit 1
# Debian's python3 has paho-mqtt; a python3 earlier in PATH may not.
status=0
for script in "$here"/paho-wildcards.py "$here"/paho-qos2-session.py; do
	timeout 60 /usr/bin/python3 "$script" || status=1
done
exit $status
