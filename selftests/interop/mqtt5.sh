#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# MQTT 5.0 interop: starts the broker on port $KMQTT_MQTT5_PORT (18883,
# not the other scripts' 1883) and runs, against it, the raw-packet checks
# (mqtt5-raw.py), the Paho and Mosquitto client checks (mqtt5-paho.py)
# and the MQTT.js ones (mqtt5-mqttjs.js), then restarts kmqttd with a
# scram_file for the enhanced authentication checks (mqtt5-scram.py;
# Mosquitto has no SCRAM), each of which prints TAP with its own plan.  With KMQTT_TEST_BROKER=mosquitto, checks of a statement
# Mosquitto 2.0.11 breaks are TAP TODO and do not fail the run.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/broker.sh"

export MQTT5_PORT=${KMQTT_MQTT5_PORT:-18883}
export KMQTT_TEST_BROKER=${KMQTT_TEST_BROKER:-kmqttd}
trap broker_stop EXIT
broker_start "$MQTT5_PORT" || exit 1

status=0
# Debian's python3 has paho-mqtt; a python3 earlier in PATH may not.
timeout 60 /usr/bin/python3 "$here/mqtt5-raw.py" || status=1
timeout 140 /usr/bin/python3 "$here/mqtt5-paho.py" || status=1
if [ -d "$here/node_modules/mqtt" ]; then
	NODE_PATH=$here/node_modules timeout 90 node "$here/mqtt5-mqttjs.js" ||
		status=1
else
	echo "1..1"
	echo "not ok 1 - MQTT.js: $here/node_modules/mqtt is missing" \
		"(tools/deps.sh installs it)"
	status=1
fi
if [ "$KMQTT_TEST_BROKER" = kmqttd ]; then
	broker_stop
	dir=$(mktemp -d)
	root=$(cd "$here/../.." && pwd)
	printf 'pencil\n' | "$root/agent/kmqttd" --scram-entry user \
		>"$dir/scram" || status=1
	# allow_anonymous: a client without a method, then AUTH (0x82)
	printf 'listener %s 127.0.0.1\nscram_file %s\nallow_anonymous true\n' \
		"$MQTT5_PORT" "$dir/scram" >"$dir/conf"
	if broker_start "$MQTT5_PORT" "$dir/conf"; then
		timeout 60 /usr/bin/python3 "$here/mqtt5-scram.py" || status=1
	else
		echo "1..1"
		echo "not ok 1 - kmqttd with a scram_file did not start"
		status=1
	fi
	rm -rf "$dir"
fi
exit $status
