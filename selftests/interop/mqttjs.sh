#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interop with MQTT.js (selftests/interop/node_modules, set up by
# tools/deps.sh): starts the broker on port 1883 and runs the README
# example and the QoS one, each of which prints TAP.  (mqttjs-tls.js is
# tls.sh's.)

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/broker.sh"

if [ ! -d "$here/node_modules/mqtt" ]; then
	echo "# $here/node_modules/mqtt is missing: run tools/deps.sh"
	exit 1
fi
trap broker_stop EXIT
broker_start 1883 || exit 1
status=0
for script in "$here"/mqttjs-readme.js "$here"/mqttjs-qos.js; do
	NODE_PATH=$here/node_modules timeout 60 node "$script" || status=1
done
exit $status
