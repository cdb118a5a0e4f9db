#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interop with MQTT.js (selftests/interop/node_modules, set up by
# tools/deps.sh): starts the broker on port 1883 and runs mqttjs-readme.js,
# which prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/broker.sh"

if [ ! -d "$here/node_modules/mqtt" ]; then
	echo "# $here/node_modules/mqtt is missing: run tools/deps.sh"
	exit 1
fi
trap broker_stop EXIT
broker_start 1883 || exit 1
NODE_PATH=$here/node_modules timeout 60 node "$here/mqttjs-readme.js"
