#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interop with Mosquitto's command line clients (libmosquitto) against the
# broker on localhost:1883.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
. "$here/../lib/broker.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-interop.XXXXXX")
trap 'broker_stop; rm -rf "$work"' EXIT

# Publish FILE's bytes to TOPIC until the subscriber (PID) has taken one
# message: mosquitto_sub gives no sign that its SUBSCRIBE was granted, so
# publishing again, not sleeping, covers the time it takes.
publish_until_received() {
	local pid=$1 topic=$2 file=$3 i
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		mosquitto_pub -h localhost -t "$topic" -f "$file" || return 1
		sleep 0.1
	done
	wait "$pid"
}

# One message from mosquitto_pub reaches mosquitto_sub byte for byte.
pub_sub_bytes() {
	local topic=$1 sent=$2 got=$work/got pid
	mosquitto_sub -h localhost -t "$topic" -C 1 -N -W 20 >"$got" &
	pid=$!
	publish_until_received $pid "$topic" "$sent" || {
		echo "mosquitto_sub failed"
		return 1
	}
	cmp "$sent" "$got" || {
		echo "sent:"; od -c "$sent" | head -5
		echo "received:"; od -c "$got" | head -5
		return 1
	}
}

# The README example: -m "25°C" arrives as exactly those 5 bytes.
readme_example() {
	local got=$work/readme pid i
	mosquitto_sub -h localhost -t home/temperature -C 1 -N -W 20 >"$got" &
	pid=$!
	for i in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		mosquitto_pub -h localhost -t home/temperature -m "25°C" || return 1
		sleep 0.1
	done
	wait $pid || { echo "mosquitto_sub failed"; return 1; }
	printf '25\xc2\xb0C' | cmp - "$got" || { od -c "$got"; return 1; }
}

# Wildcard subscriptions see their topics and only those.
wildcards() {
	local got=$work/wild pid i
	mosquitto_sub -h localhost -t 'home/+/temp' -t 'office/#' -v -C 3 -W 20 >"$got" &
	pid=$!
	for i in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		mosquitto_pub -h localhost -t home/kitchen/temp -m 21 &&
		mosquitto_pub -h localhost -t home/kitchen/humidity -m 40 &&
		mosquitto_pub -h localhost -t office -m open || return 1
		sleep 0.1
	done
	wait $pid || { echo "mosquitto_sub failed"; return 1; }
	grep -v -x -e 'home/kitchen/temp 21' -e 'office open' "$got" && return 1
	[ "$(wc -l <"$got")" = 3 ] || { cat "$got"; return 1; }
}

# One publisher's messages reach a wildcard subscriber in the order they
# were sent (MQTT-4.6.0-6).  Each round is one mosquitto_pub connection
# sending "ROUND 1" to "ROUND 50"; the subscription may start in the
# middle of a round, and rounds are not ordered with each other, but
# within one the numbers must follow each other, and a later round must
# start at 1.
ordered() {
	local got=$work/ordered pid round
	mosquitto_sub -h localhost -t 'log/#' -C 50 -W 20 >"$got" &
	pid=$!
	for round in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		seq 50 | sed "s/^/$round /" |
			mosquitto_pub -h localhost -t log/app -l || return 1
		sleep 0.1
	done
	wait $pid || { echo "mosquitto_sub failed"; return 1; }
	awk '
		NR == 1 { first = $1 }
		($1 in last && $2 != last[$1] + 1) ||
		(!($1 in last) && $1 != first && $2 != 1) {
			print "line " NR ": \"" $0 "\" out of order"; bad = 1
		}
		{ last[$1] = $2 }
		END { if (NR != 50) { print NR " lines"; bad = 1 } exit bad }' "$got"
}

tap_plan 5
if ! broker_start 1883; then
	for t in readme binary large wildcards ordered; do
		tap_check "$t (no broker)" false
	done
	tap_done
fi
tap_check "readme: mosquitto_pub -m 25°C reaches mosquitto_sub as those bytes" \
	readme_example
head -c 4096 /dev/urandom >"$work/binary"
tap_check "binary payload of 4096 random bytes arrives unchanged" \
	pub_sub_bytes bin/payload "$work/binary"
head -c 300000 /dev/urandom >"$work/large"
tap_check "300000-byte payload arrives unchanged" \
	pub_sub_bytes big/payload "$work/large"
tap_check "wildcard subscriptions home/+/temp and office/#" wildcards
tap_check "50 messages of one publisher arrive in order on log/#" ordered
tap_done
