#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# MQTT over WebSocket: kmqttd with a TCP listener, a websockets listener
# and one over TLS (Mosquitto's "protocol websockets"), the raw frame
# checks of websocket.py, MQTT.js over ws:// and wss:// with small and
# large messages, and kmqttctl marking the connections.  With
# KMQTT_TEST_BROKER=mosquitto, websocket.py runs against Mosquitto with the
# same file.  Needs $KMQTT_TEST_CERTS (selftests/certs/mkcerts.sh).
# Prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
. "$here/../lib/kmqttd.sh"
. "$here/../lib/stop.sh"

certs=${KMQTT_TEST_CERTS:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-ws.XXXXXX")
trap 'kmqttd_stop; kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mosquitto=$([ "${KMQTT_TEST_BROKER:-kmqttd}" = mosquitto ] && echo 1)
tcp=$(kmqttd_free_port)
ws=$(kmqttd_free_port)
wss=$(kmqttd_free_port)

cat >"$work/broker.conf" <<CONF
allow_anonymous true
listener $tcp 127.0.0.1
listener $ws 127.0.0.1
protocol websockets
CONF
# Mosquitto, which websocket.py alone runs against, opens a websockets TLS
# listener after dropping root, and cannot read the key then.
[ -n "$mosquitto" ] || cat >>"$work/broker.conf" <<CONF
listener $wss 127.0.0.1
protocol websockets
certfile $certs/server.pem
keyfile $certs/server.key
CONF

mqttjs() {
	NODE_PATH=$here/node_modules timeout 90 node "$here/websocket.js" "$@"
}

# kmqttctl show --json marks a WebSocket client's connection, not a TCP one.
websocket_in_show() {
	local pids=() rc=0
	mosquitto_sub -h 127.0.0.1 -p "$tcp" -i tcp-viewer -t view -W 60 \
		>/dev/null &
	pids+=($!)
	NODE_PATH=$here/node_modules timeout 60 node -e '
		const c = require("mqtt").connect(process.argv[1],
			{ clientId: "ws-viewer", reconnectPeriod: 0 });
		c.on("connect", () => c.subscribe("view"));
		setTimeout(() => process.exit(0), 55000);' "ws://127.0.0.1:$ws" &
	pids+=($!)
	kmqttd_show_until "$work/show.json" ws-viewer tcp-viewer || rc=1
	stop_clients "${pids[@]}"
	[ $rc = 0 ] || return 1
	/usr/bin/python3 - "$work/show.json" <<'PY'
import json, sys
conns = {c["client_id"]: c for c in json.load(open(sys.argv[1]))["connections"]}
ws, tcp = conns["ws-viewer"]["websocket"], conns["tcp-viewer"]["websocket"]
print("websocket of ws-viewer: %r, of tcp-viewer: %r" % (ws, tcp))
sys.exit(0 if ws is True and tcp is False else 1)
PY
}

if [ ! -f "$certs/server.pem" ]; then
	echo "1..1"
	echo "not ok 1 certificates in \$KMQTT_TEST_CERTS ($certs)"
	exit 1
fi
if ! test_broker_start "$work/broker.conf" "$work/broker.log" 3; then
	echo "1..1"
	echo "not ok 1 the broker started with websockets listeners"
	exit 1
fi
if [ -n "$mosquitto" ]; then
	KMQTT_TEST_BROKER=mosquitto /usr/bin/python3 "$here/websocket.py" \
		"$ws" "$tcp"
	exit
fi
# websocket.py's checks first, in the plan with the 5 below; tap.sh
# counts on from them.
raw=$(/usr/bin/python3 "$here/websocket.py" "$ws" "$tcp" 5)
printf '%s\n' "$raw"
tap_planned=$(sed -n 's/^1\.\.//p' <<<"$raw")
tap_count=$(grep -c '^\(not \)\?ok ' <<<"$raw")
tap_failed=$(grep -c '^not ok ' <<<"$raw")
tap_check "MQTT.js over ws://, 16 bytes" mqttjs "ws://127.0.0.1:$ws" 16
tap_check "MQTT.js over ws://, 512 KiB" mqttjs "ws://127.0.0.1:$ws" 524288
tap_check "MQTT.js over wss://, 16 bytes" mqttjs "wss://localhost:$wss" 16
tap_check "MQTT.js over wss://, 512 KiB" mqttjs "wss://localhost:$wss" 524288
tap_check "kmqttctl show: websocket true for ws://, false for TCP" \
	websocket_in_show
tap_done
