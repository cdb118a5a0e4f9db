#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interop with Mosquitto's command line clients for QoS 1/2, persistent
# sessions, retained messages and wills, against the broker on
# localhost:1883.  Prints TAP.  mosquitto_sub -E (exit once subscribed)
# orders subscribing before publishing without sleeps.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
. "$here/../lib/broker.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-interop.XXXXXX")
trap 'broker_stop; rm -rf "$work"' EXIT
H="-h localhost -V mqttv311"

# A persistent subscription made and left: later messages wait for ID.
subscribe_and_leave() {
	local id=$1 qos=$2 topic=$3
	mosquitto_sub $H -c -i "$id" -q "$qos" -t "$topic" -E
}

# MQTT-3.1.2-6: a clean session connect of ID removes its session.
discard_session() {
	mosquitto_sub $H -i "$1" -t kmqtt-interop/none -E
}

# One QoS N message, mosquitto_pub -q N to mosquitto_sub -q N; the
# subscriber is in place (persistent, -E) before the publish.
qos_roundtrip() {
	local qos=$1 id=interop-q$1 out=$work/q$1
	subscribe_and_leave $id "$qos" "qos/$qos" || return 1
	mosquitto_pub $H -q "$qos" -t "qos/$qos" -m "at qos $qos" || return 1
	mosquitto_sub $H -c -i $id -q "$qos" -t "qos/$qos" -C 1 -W 10 \
		-F '%q %t %p' >"$out" || { cat "$out"; return 1; }
	discard_session $id
	[ "$(cat "$out")" = "$qos qos/$qos at qos $qos" ] || { cat "$out"; return 1; }
}

# MQTT-3.1.2-4/-5: -c -i ID keeps the session; QoS 1 and 2 messages sent
# while it is offline arrive after the reconnect, in order, once each.
persistent_offline() {
	local id=interop-persist out=$work/persist i
	subscribe_and_leave $id 2 persist/t || return 1
	# QoS 1 first: libmosquitto hands a QoS 2 message to the application
	# on PUBREL, so interleaved QoS would print out of wire order.
	for i in 1 2 3 4; do
		mosquitto_pub $H -q $(((i + 1) / 2)) -t persist/t -m "m$i" || return 1
	done
	mosquitto_sub $H -c -i $id -q 2 -t persist/t -C 4 -W 10 >"$out"
	discard_session $id
	printf 'm1\nm2\nm3\nm4\n' | cmp - "$out" || { cat "$out"; return 1; }
}

# MQTT-3.3.1-5/-8/-10: -r stores it, a new subscriber gets it with the
# retain flag (%r), an empty retained message deletes it.
retained() {
	local out=$work/retained
	mosquitto_pub $H -q 1 -r -t ret/interop -m kept || return 1
	mosquitto_sub $H -t ret/interop -C 1 -W 10 -F '%r %p' >"$out" || return 1
	[ "$(cat "$out")" = "1 kept" ] || { cat "$out"; return 1; }
	mosquitto_pub $H -q 1 -r -t ret/interop -n || return 1
	# Deleted: only the non-retained message after it arrives.
	mosquitto_sub $H -t ret/interop -t ret/interop2 -C 1 -W 10 -F '%r %t' \
		>"$out" &
	local pid=$! i
	for i in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		mosquitto_pub $H -t ret/interop2 -m x || return 1
		sleep 0.1
	done
	wait $pid || return 1
	[ "$(cat "$out")" = "0 ret/interop2" ] || { cat "$out"; return 1; }
}

# MQTT-3.1.2-8: kill -9 of a client with --will-topic publishes its will;
# with --will-retain it is kept for later subscribers.
will_on_kill() {
	local out=$work/will ready=$work/will-ready pid i
	mosquitto_sub $H -i interop-will-client -t will/ping \
		--will-topic will/interop --will-payload "died" --will-qos 1 \
		--will-retain >"$ready" &
	pid=$!
	# Connected and subscribed once it prints a ping.
	for i in $(seq 100); do
		[ -s "$ready" ] && break
		mosquitto_pub $H -t will/ping -m ping || return 1
		sleep 0.1
	done
	[ -s "$ready" ] || { echo "will client never subscribed"; return 1; }
	kill -9 $pid
	wait $pid 2>/dev/null
	mosquitto_sub $H -t will/interop -C 1 -W 10 -F '%p' >"$out" || return 1
	mosquitto_pub $H -q 1 -r -t will/interop -n
	[ "$(cat "$out")" = died ] || { cat "$out"; return 1; }
}

tap_plan 5
if ! broker_start 1883; then
	for t in q1 q2 persistent retained will; do
		tap_check "$t (no broker)" false
	done
	tap_done
fi
tap_check "mosquitto_pub -q 1 to mosquitto_sub -q 1" qos_roundtrip 1
tap_check "mosquitto_pub -q 2 to mosquitto_sub -q 2" qos_roundtrip 2
tap_check "mosquitto_sub -c -i ID: offline QoS 1/2 delivered after reconnect" \
	persistent_offline
tap_check "mosquitto_pub -r: retained with flag, deleted by -n" retained
tap_check "--will-topic: will published on kill -9" will_on_kill
tap_done
