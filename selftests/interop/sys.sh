#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The $SYS/broker tree (Documentation/monitoring.rst) as mosquitto_sub sees
# it: the broker under test (kmqttd, or Debian's Mosquitto when
# KMQTT_TEST_BROKER=mosquitto) runs with `sys_interval 1`, and
#
#   every topic kmqtt claims arrives, retained, with a payload of its form
#   (against Mosquitto: the same topics arrive from it, and the ones it
#   has beyond them are printed); figures move with traffic; "#" gets
#   none of them; sys_interval 0 on SIGHUP (retain_available false in the
#   same file too), and kmqttd's exit, clear them.
#
# kmqttd needs kmqtt.ko: tools/vm/run -- selftests/interop/sys.sh, where it
# runs in a network namespace of its own (a broker of its own in the
# module, so that the figures are this test's).  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
. "$here/../lib/kmqttd.sh"

broker=${KMQTT_TEST_BROKER:-kmqttd}

kmqttd_own_netns sys "$0" "$@"

work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-sys.XXXXXX")
port=$(kmqttd_free_port)
conf=$work/broker.conf

# The topics kmqttd publishes, under $SYS/broker/ (agent/sys.c).
claimed() {
	local l w
	printf '%s\n' version uptime clients/total clients/maximum \
		clients/connected clients/active clients/disconnected \
		clients/inactive clients/expired messages/received \
		messages/sent publish/messages/received publish/messages/sent \
		publish/messages/dropped bytes/received bytes/sent \
		subscriptions/count "retained messages/count" messages/stored \
		store/messages/count heap/current heap/maximum
	for l in messages/received messages/sent publish/received \
		publish/sent publish/dropped bytes/received bytes/sent \
		connections; do
		for w in 1min 5min 15min; do
			echo "load/$l/$w"
		done
	done
}

start() { # SYS_INTERVAL
	printf 'listener %s 127.0.0.1\nallow_anonymous true\nsys_interval %s\n' \
		"$port" "$1" >"$conf"
	test_broker_start "$conf" "$work/broker.log"
}

cleanup() {
	kmqttd_stop
	[ -n "${KMQTT_TEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# sub FILE SECONDS FILTER: what arrives, "RETAIN TOPIC PAYLOAD" a line.
sub() {
	mosquitto_sub -p "$port" -h 127.0.0.1 -t "$3" -W "$2" \
		-F '%r %t %p' >"$1" 2>/dev/null
	return 0
}

# The last payload of $SYS/broker/NAME in FILE.
value() { # FILE NAME
	grep -F " \$SYS/broker/$2 " "$1" | tail -n 1 |
		sed "s|^[01] \\\$SYS/broker/$2 ||"
}

check_topics() {
	local t missing=0 extra
	sub "$work/first" 4 '$SYS/broker/#'
	while read -r t; do
		if ! grep -qF " \$SYS/broker/$t " "$work/first"; then
			echo "missing: \$SYS/broker/$t"
			missing=1
		fi
	done < <(claimed)
	extra=$(sed 's/^[01] //; s/ .*//' "$work/first" |
		grep -v '^\$SYS/broker/connection/' |
		sed 's|^\$SYS/broker/||' | sort -u |
		grep -vxF -f <(claimed | sed 's/ .*//') |
		grep -vx 'retained messages/count')
	# Mosquitto's topics kmqtt does not provide are shown, not failed.
	[ -z "$extra" ] || printf 'not claimed: %s\n' $extra
	[ $missing = 0 ] || { cat "$work/first"; return 1; }
	[ "$broker" = mosquitto ] || [ -z "$extra" ]
}

# Every one arrived retained first: a subscriber after the update.
# Mosquitto publishes clients/maximum only once it grows past 0, which
# the subscriber's own connection does after the first update.
check_retained() {
	local t bad=0
	while read -r t; do
		grep -F " \$SYS/broker/$t " "$work/first" | head -n 1 |
			grep -q '^1 ' && continue
		echo "not retained: $t"
		[ "$broker $t" = "mosquitto clients/maximum" ] || bad=1
	done < <(claimed)
	return $bad
}

check_values() {
	local f=$work/first t v bad=0
	v=$(value "$f" version)
	case $broker in
	kmqttd) [[ $v =~ ^kmqtt\ version\ [0-9.]+$ ]] ;;
	mosquitto) [[ $v =~ ^mosquitto\ version\ [0-9.]+$ ]] ;;
	esac || { echo "version: $v"; bad=1; }
	v=$(value "$f" uptime)
	[[ $v =~ ^[0-9]+\ seconds$ ]] || { echo "uptime: $v"; bad=1; }
	while read -r t; do
		v=$(value "$f" "$t")
		case $t in
		version | uptime) ;;
		load/*) [[ $v =~ ^[0-9]+\.[0-9][0-9]$ ]] ||
			{ echo "$t: $v"; bad=1; } ;;
		*) [[ $v =~ ^[0-9]+$ ]] || { echo "$t: $v"; bad=1; } ;;
		esac
	done < <(claimed)
	# The subscriber itself is connected.
	v=$(value "$f" clients/connected)
	[ "${v:-0}" -ge 1 ] || { echo "clients/connected: $v"; bad=1; }
	return $bad
}

# Ten messages published: the counters and their load move.
check_traffic() {
	local before after up_before up_after i
	before=$(value "$work/first" publish/messages/received)
	up_before=$(value "$work/first" uptime)
	for i in $(seq 10); do
		mosquitto_pub -p "$port" -h 127.0.0.1 -t "t/$i" -m "$i" ||
			return 1
	done
	sleep 2.5
	sub "$work/later" 3 '$SYS/broker/#'
	after=$(value "$work/later" publish/messages/received)
	up_after=$(value "$work/later" uptime)
	echo "publish/messages/received $before -> $after," \
		"uptime $up_before -> $up_after," \
		"load/publish/received/1min $(value "$work/later" load/publish/received/1min)"
	[ "$after" -ge $((before + 10)) ] &&
		[ "${up_after% seconds}" -gt "${up_before% seconds}" ] &&
		[ "$(value "$work/later" load/publish/received/1min)" != 0.00 ]
}

# "#" matches no $SYS topic (MQTT-4.7.2-1) while updates go on.
check_hash() {
	sub "$work/hash" 3 '#'
	! grep -q ' \$SYS' "$work/hash" || { cat "$work/hash"; return 1; }
}

# kmqttd, sys_interval 0 on SIGHUP: nothing stays retained.
check_reload_off() {
	if [ "$broker" = mosquitto ]; then
		echo "Mosquitto keeps its \$SYS topics retained when sys_interval becomes 0"
		return 77
	fi
	printf 'listener %s 127.0.0.1\nallow_anonymous true\nsys_interval 0\n' \
		"$port" >"$conf"
	kill -HUP "$kmqttd_pid"
	sleep 2
	sub "$work/off" 2 '$SYS/broker/#'
	[ ! -s "$work/off" ] || { cat "$work/off"; return 1; }
}

# kmqttd: SIGHUP with sys_interval 1 (and LIMIT lines), then the tree is
# retained again, within 50 subscriptions of a second.
reload_on() { # [LIMIT...]
	local t
	{
		printf 'listener %s 127.0.0.1\nallow_anonymous true\nsys_interval 1\n' \
			"$port"
		printf '%s\n' "$@"
	} >"$conf"
	kill -HUP "$kmqttd_pid"
	for t in $(seq 50); do
		sub "$work/on" 1 '$SYS/broker/version'
		[ ! -s "$work/on" ] || return 0
	done
	echo "not published again"
	return 1
}

# kmqttd: one SIGHUP that sets retain_available false too still clears
# them, before the module stops taking retained messages.
check_reload_off_unretained() {
	if [ "$broker" = mosquitto ]; then
		echo "Mosquitto keeps its \$SYS topics retained when sys_interval becomes 0"
		return 77
	fi
	reload_on 'retain_available true' || return 1
	printf 'listener %s 127.0.0.1\nallow_anonymous true\nsys_interval 0\nretain_available false\n' \
		"$port" >"$conf"
	kill -HUP "$kmqttd_pid"
	sleep 2
	sub "$work/off" 2 '$SYS/broker/#'
	[ ! -s "$work/off" ] || { cat "$work/off"; return 1; }
}

# On again, then kmqttd exits: a broker started after it shows nothing.
check_exit_clears() {
	if [ "$broker" = kmqttd ]; then
		reload_on 'retain_available true' || return 1
	fi
	kmqttd_stop
	start 0 || return 1
	sub "$work/restarted" 2 '$SYS/broker/#'
	[ ! -s "$work/restarted" ] || { cat "$work/restarted"; return 1; }
}

# check DESC FUNCTION: in this shell, which may stop and start the
# broker; status 77 skips, the last line of the output saying why.
check() {
	local status
	"$2" >"$work/check.out" 2>&1
	status=$?
	if [ $status = 77 ]; then
		tap_check "$1 # SKIP $(tail -n 1 "$work/check.out")" true
		return
	fi
	tap_check "$1" sh -c 'cat "$1"; exit "$2"' - "$work/check.out" \
		"$status"
}

case $broker in
kmqttd | mosquitto) ;;
*)
	echo "Bail out! unknown KMQTT_TEST_BROKER=$broker (kmqttd or mosquitto)"
	exit 1
	;;
esac

tap_plan 8
if [ "$broker" = kmqttd ] && [ ! -d /sys/module/kmqtt ]; then
	for i in $(seq 8); do
		tap_check "# SKIP kmqtt.ko not loaded" true
	done
	tap_done
fi
if ! start 1; then
	for i in $(seq 8); do
		tap_check "- the broker started" false
	done
	tap_done
fi
check "every topic kmqtt claims arrives ($broker)" check_topics
check "each arrives retained" check_retained
check "payloads have Mosquitto's forms" check_values
check "figures move with traffic" check_traffic
check "\"#\" gets no \$SYS topic" check_hash
check "sys_interval 0 on SIGHUP clears them" check_reload_off
check "sys_interval 0 and retain_available false on one SIGHUP clear them" \
	check_reload_off_unretained
check "exit clears them" check_exit_clears
tap_done
