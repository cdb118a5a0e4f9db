#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One boot of selftests/reboot/persist-reboot.sh, in the test VM (tools/vm/run
# --disk IMAGE): mounts IMAGE (/dev/vda, ext4), runs agent/kmqttd with its
# snapshot on it, and does what STEP says:
#
#   reboot-store     retained messages and a persistent session with queued
#                    QoS 1 messages; kmqttd stopped (it saves), unmounted
#   reboot-restore   the next boot: all of that back
#   cycle N MODE MS  N = 1: 3000 retained messages of 1 KiB; N > 1: the
#                    previous cycle's snapshot restored whole and intact.
#                    Then numbered retained messages published without a
#                    pause and kmqttd saving every second, until the guest
#                    is powered off abruptly (sysrq b, no sync): MS
#                    milliseconds later (MODE "time"), or at the first
#                    save under way (NAME.new there) after MS (MODE "save")
#   cycle N MODE MS acked
#                    the same with kmqtt_save_before_ack and no autosave:
#                    each message is saved before its PUBACK, and the
#                    client prints "acked N" for each, up to the power-off
#   final            the last cycle's snapshot restored; kmqttd stopped,
#                    unmounted
#
# Prints "check NAME: ok" or "check NAME: FAIL why" lines that the host
# turns into TAP, kmqttd's log prefixed with "kmqttd| ", and "powering off"
# right before a power-off.

here=$(dirname "$(readlink -f "$0")")
repo=$(cd "$here/../.." && pwd)
mnt=/run/kmqtt-disk
dir=$mnt/kmqtt
db=$dir/kmqtt.db
log=/tmp/kmqttd.log
conf=/tmp/kmqttd.conf
client=(/usr/bin/python3 "$here/persist_client.py")
H=(-h 127.0.0.1 -p 1883 -V mqttv311)
BULK=3000
kmqttd_pid=

check() {
	local name=$1
	shift
	if [ $# -eq 0 ]; then
		echo "check $name: ok"
	else
		echo "check $name: FAIL $*"
	fi
}

# say MSG: MSG, with the guest's uptime.
say() {
	echo "[$(cut -d ' ' -f 1 /proc/uptime)] $*"
}

fail() {
	echo "FAIL: $*"
	exit 1
}

mount_disk() {
	mkdir -p $mnt
	mount -t ext4 /dev/vda $mnt || fail "cannot mount /dev/vda"
	mkdir -p $dir
	say "boot id $(cat /proc/sys/kernel/random/boot_id)"
	dmesg | grep -E 'EXT4-fs \(vda\)' | sed 's/^/dmesg| /'
}

# start_kmqttd [AUTOSAVE [LINE]]: returns once it listens.
start_kmqttd() {
	local i
	{
		echo "listener 1883 127.0.0.1"
		echo "allow_anonymous true"
		# The check reads thousands of retained messages at QoS 0, more
		# than the default 1000 a connection may have waiting.
		echo "max_queued_messages 0"
		echo "persistence true"
		echo "persistence_location $dir/"
		[ -z "${1:-}" ] || echo "autosave_interval $1"
		[ -z "${2:-}" ] || echo "$2"
	} >$conf
	: >$log
	"$repo/agent/kmqttd" -v -c $conf > >(tee $log | sed -u 's/^/kmqttd| /') 2>&1 &
	kmqttd_pid=$!
	for i in $(seq 300); do
		if grep -q "listening on" $log; then
			say "kmqttd listening"
			return 0
		fi
		kill -0 $kmqttd_pid 2>/dev/null || fail "kmqttd exited at start"
		sleep 0.1
	done
	fail "kmqttd did not listen within 30 s"
}

stop_kmqttd() {
	kill -TERM $kmqttd_pid
	wait $kmqttd_pid || fail "kmqttd exited with status $?"
	sleep 0.2
}

# The snapshot never found damaged, nor kept aside.
check_not_damaged() {
	local aside
	aside=$(find $dir -maxdepth 1 \( -name '*.corrupt-*' -o \
		-name '*.partial-*' -o -name '*.older-*' \) -printf '%f ')
	if [ -n "$aside" ]; then
		check "$1" "kept aside: $aside"
	elif grep -qiE 'corrupt|damaged|bad data|Error:|Warning:' $log; then
		check "$1" "kmqttd: $(grep -iE 'corrupt|damaged|bad data|Error:|Warning:' $log | head -3)"
	else
		check "$1"
	fi
}

# restored_count: the retained messages of the "Restored" line, or nothing.
restored_count() {
	sed -n 's/.*Restored \([0-9]*\) retained messages.*/\1/p' $log | head -1
}

reboot_store() {
	mount_disk
	start_kmqttd
	grep -q "No snapshot" $log || fail "not a first start: $(find $dir -mindepth 1 -printf '%f ')"
	mosquitto_sub "${H[@]}" -c -i reboot-sub -q 1 -t reboot/q -E ||
		fail "mosquitto_sub -E failed"
	for i in 1 2 3 4 5; do
		mosquitto_pub "${H[@]}" -q 1 -r -t "reboot/ret/$i" -m "retained $i" ||
			fail "mosquitto_pub -r failed"
	done
	seq -f 'queued %g' 10 | mosquitto_pub "${H[@]}" -q 1 -t reboot/q -l ||
		fail "mosquitto_pub -l failed"
	stop_kmqttd
	if grep -q "Saved 5 retained messages, 1 sessions, 1 subscriptions and 10 messages of sessions" $log; then
		check stored
	else
		check stored "kmqttd did not save 5 retained messages and 10 queued"
	fi
	sync
	umount $mnt || fail "cannot unmount"
}

reboot_restore() {
	local out
	mount_disk
	start_kmqttd
	if grep -q "Restored 5 retained messages, 1 sessions, 1 subscriptions and 10 messages of sessions" $log; then
		check restored
	else
		check restored "no 'Restored 5 retained messages, 1 sessions, 1 subscriptions and 10 messages' line"
	fi
	check_not_damaged not-damaged
	out=$(mosquitto_sub "${H[@]}" -q 1 -t 'reboot/ret/#' -C 5 -W 10 -F '%r %q %t %p' | sort)
	if [ "$out" = "$(for i in 1 2 3 4 5; do echo "1 1 reboot/ret/$i retained $i"; done)" ]; then
		check retained
	else
		check retained "got: $(echo "$out" | tr '\n' ';')"
	fi
	out=$(mosquitto_sub "${H[@]}" -c -i reboot-sub -q 1 -t reboot/q -C 10 -W 10 -F '%q %p')
	if [ "$out" = "$(seq -f '1 queued %g' 10)" ]; then
		check queued
	else
		check queued "got: $(echo "$out" | tr '\n' ';')"
	fi
	stop_kmqttd
	umount $mnt || fail "cannot unmount"
}

# client ARGS...: persist_client.py in the background, its output in
# /tmp/client.out; returns once it churns (or, without --churn, ends).
client() {
	local i
	"${client[@]}" "$@" >/tmp/client.out 2>&1 &
	client_pid=$!
	for i in $(seq 1200); do
		grep -q "^churning from" /tmp/client.out && break
		kill -0 $client_pid 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/client| /' /tmp/client.out
	say "client ready"
}

# check_restored TOTAL: the client's check of TOTAL retained messages.
check_restored() {
	if grep -q "^retained: total $1 bulk $BULK seq " /tmp/client.out &&
		! grep -q "^error" /tmp/client.out; then
		check restored
	else
		check restored "$(grep -v '^churning' /tmp/client.out | head -5 | tr '\n' ';')"
	fi
}

# The snapshot the last power-off left: $total, the retained messages it
# restored, or a failure.
restored_total() {
	total=$(restored_count)
	check_not_damaged not-damaged
	if [ -z "$total" ]; then
		check restored "no 'Restored' line; files: $(find $dir -mindepth 1 -printf '%f ')"
		fail "nothing restored"
	fi
	say "restored $total retained messages"
}

cycle() {
	local n=$1 mode=$2 ms=$3 acked=${4:-} i
	mount_disk
	if [ -n "$acked" ]; then
		start_kmqttd 0 "kmqtt_save_before_ack true"
	else
		start_kmqttd 1
	fi
	if [ "$n" = 1 ]; then
		grep -q "No snapshot" $log || fail "not a first start: $(find $dir -mindepth 1 -printf '%f ')"
		client --bulk $BULK --log $log --churn
	else
		restored_total
		client --check "$total" --churn ${acked:+--acks}
		check_restored "$total"
	fi
	grep -q "^churning from" /tmp/client.out || fail "the client stopped"
	# Every ack on the console, up to the power-off: the host's check.
	[ -z "$acked" ] || tail -n 0 -f /tmp/client.out | sed -u 's/^/client| /' &
	echo 1 >/proc/sys/kernel/sysrq
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	if [ "$mode" = save ]; then
		for i in $(seq 1000); do
			[ ! -e "$db.new" ] || break
			sleep 0.01
		done
	fi
	kill -0 $kmqttd_pid 2>/dev/null || fail "kmqttd died"
	kill -0 $client_pid 2>/dev/null || fail "the client died"
	if [ -e "$db.new" ]; then
		say "powering off, a save under way ($db.new there)"
	else
		say "powering off, between saves"
	fi
	echo b >/proc/sysrq-trigger
	sleep 30
	fail "still running 30 s after sysrq b"
}

final() {
	mount_disk
	start_kmqttd 1
	restored_total
	client --check "$total"
	wait $client_pid
	check_restored "$total"
	stop_kmqttd
	umount $mnt || fail "cannot unmount"
}

cd "$repo" || exit 1
case $1 in
reboot-store) reboot_store ;;
reboot-restore) reboot_restore ;;
cycle) cycle "$2" "$3" "$4" "${5:-}" ;;
final) final ;;
*) fail "unknown step $1" ;;
esac
