#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Persistence across real reboots of the test VM (Documentation/testing.rst,
# "Persistence"), run on the host: the snapshot lives on an ext4 disk image
# (tools/vm/run --disk) that outlives each guest, and every boot is a new
# guest with kmqtt.ko loaded anew.  Each boot runs persist-guest.sh.  Prints
# TAP.
#
# - reboot: boot 1 stores retained messages and a persistent session with
#   queued QoS 1 messages, stops kmqttd (it saves) and unmounts; boot 2
#   restores all of it, in order.
# - power-off: kmqttd saves every second a state of 3000+ retained messages
#   of 1 KiB while numbered retained messages keep coming, and the guest is
#   reset without a sync (sysrq b) at a random moment, every other time
#   at the first save under way.  KMQTT_REBOOT_CYCLES (3) times; each next
#   boot must restore a whole snapshot, never one found damaged, at least
#   as new as the last save kmqttd logged, every payload as published and
#   the numbered messages 0 to M with none missing.  The last cycle runs
#   kmqttd with kmqtt_save_before_ack and no autosave: the next boot must
#   restore every numbered message the client saw acknowledged.
#
# KMQTT_REBOOT_SEED fixes the random moments (each run prints its seed);
# KMQTT_REBOOT_KEEP=DIR keeps every boot's output and the images there.

# shellcheck disable=SC2317 # the check functions run through tap_check
set -u

here=$(dirname "$(readlink -f "$0")")
repo=$(cd "$here/../.." && pwd)
. "$repo/selftests/lib/tap.sh"
cd "$repo" || exit 1

cycles=${KMQTT_REBOOT_CYCLES:-3}
seed=${KMQTT_REBOOT_SEED:-$((($(date +%s) ^ $$) % 32768))}
RANDOM=$seed
BOOT_TIMEOUT=${KMQTT_REBOOT_BOOT_TIMEOUT:-180}
PATH=$PATH:/usr/sbin:/sbin

if ! command -v mkfs.ext4 >/dev/null || ! command -v e2fsck >/dev/null; then
	echo "1..0 # SKIP mkfs.ext4 and e2fsck are needed (e2fsprogs)"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-reboot.XXXXXX")
trap 'rm -rf "$work"' EXIT

new_image() {
	rm -f "$1"
	truncate -s 64M "$1" && mkfs.ext4 -F -q "$1"
}

# boot IMAGE OUT STEP...: one guest; OUT gets its output, OUT.status the
# status of tools/vm/run.
boot() {
	local image=$1 out=$2 status=0 start=$SECONDS
	shift 2
	tools/vm/run --timeout "$BOOT_TIMEOUT" --disk "$image" -- \
		selftests/reboot/persist-guest.sh "$@" >"$out" 2>&1 || status=$?
	echo $status >"$out.status"
	echo "# boot ($*): status $status, $((SECONDS - start)) s"
}

# What the guest printed, less kmqttd's and the kernel's lines.
show() {
	grep -vE '^(kmqttd\||\[ *[0-9]+\.[0-9]+\] )' "$1" | tail -n 30
}

# guest_ok OUT STATUS CHECK...: the boot ended with STATUS and printed
# "check CHECK: ok" for each CHECK.
guest_ok() {
	local out=$1 status=$2 c
	shift 2
	if [ "$(cat "$out.status")" != "$status" ]; then
		echo "tools/vm/run exited with $(cat "$out.status"), not $status:"
		show "$out"
		return 1
	fi
	for c; do
		if ! grep -q "^check $c: ok" "$out"; then
			grep "^check $c: " "$out" || echo "no check $c"
			return 1
		fi
	done
}

# fsck_clean IMAGE: unmounted cleanly (no journal to recover) and
# consistent.
fsck_clean() {
	local out status=0
	out=$(e2fsck -fn "$1" 2>&1) || status=$?
	if [ "$status" != 0 ] || grep -qE 'journal recovery|Fix\?' <<<"$out"; then
		echo "$out"
		echo "e2fsck -fn: status $status"
		return 1
	fi
}

# --- A reboot -------------------------------------------------------------

img=$work/reboot.img
new_image "$img" || exit 1
echo "# seed $seed"
tap_plan $((6 + 2 * cycles + 1))
boot "$img" "$work/r1" reboot-store
boot "$img" "$work/r2" reboot-restore

boot_ids_differ() {
	local a b
	a=$(sed -n 's/.*boot id //p' "$work/r1")
	b=$(sed -n 's/.*boot id //p' "$work/r2")
	if [ -z "$a" ] || [ "$a" = "$b" ]; then
		echo "boot ids: '$a' '$b'"
		return 1
	fi
}

restored_after_reboot() {
	guest_ok "$work/r2" 0 restored && boot_ids_differ
}

tap_check "reboot: boot 1 stores 5 retained messages and a session with 10 queued QoS 1 messages, kmqttd saves them at SIGTERM" \
	guest_ok "$work/r1" 0 stored
tap_check "reboot: boot 2, another guest, restores them from the disk" \
	restored_after_reboot
tap_check "reboot: the snapshot is not found damaged" \
	guest_ok "$work/r2" 0 not-damaged
tap_check "reboot: the retained messages are back, QoS and payloads" \
	guest_ok "$work/r2" 0 retained
tap_check "reboot: the queued messages come to the session, in order" \
	guest_ok "$work/r2" 0 queued
tap_check "reboot: e2fsck finds the file system clean" \
	fsck_clean "$img"

# --- Power-offs -----------------------------------------------------------

img=$work/poweroff.img
new_image "$img" || exit 1

# cut_ok OUT: the guest was reset as planned.  tools/vm/run then exits
# with 125 and prints the guest's console, which is checked here instead of
# its kernel log (tools/vm/run's own check needs a command that ended).
cut_ok() {
	local problems='WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|INFO: |Call Trace:|Kernel panic|blocked for more than'
	if [ "$(cat "$1.status")" != 125 ] || ! grep -q "powering off" "$1"; then
		echo "no power-off (tools/vm/run status $(cat "$1.status")):"
		show "$1"
		return 1
	fi
	# From the line tools/vm/run's check starts at, as it does.
	if sed -n '/kmqtt-vm: loading modules/,$p' "$1" |
		grep -E '^\[ *[0-9]+\.[0-9]+\] ' | grep -qE "$problems"; then
		echo "the guest kernel reported a problem:"
		grep -E '^\[ *[0-9]+\.[0-9]+\] ' "$1"
		return 1
	fi
	grep "powering off" "$1"
	grep "^client| churning" "$1"
}

# restore_ok OUT PREV: OUT restored the snapshot PREV's power-off left,
# whole and intact, and at least as new as PREV's last logged save.
restore_ok() {
	local out=$1 prev=$2 status=$3 restored saved
	guest_ok "$out" "$status" restored not-damaged || return 1
	restored=$(sed -n 's/.*Restored \([0-9]*\) retained.*/\1/p' "$out")
	saved=$(sed -n '/powering off/q; s/.*Saved \([0-9]*\) retained.*/\1/p' "$prev" | tail -n 1)
	grep "^client| retained:" "$out"
	echo "restored $restored retained messages; the last save logged before the power-off had ${saved:-none}"
	[ -n "$saved" ] && [ "$restored" -ge "$saved" ]
}

# restore_acked_ok OUT PREV STATUS: OUT restored, whole and intact, every
# numbered message the client printed as acknowledged before PREV's
# power-off (kmqtt_save_before_ack).
restore_acked_ok() {
	local out=$1 prev=$2 status=$3 seq acked
	guest_ok "$out" "$status" restored not-damaged || return 1
	seq=$(sed -n 's/^client| retained: total [0-9]* bulk [0-9]* seq \([0-9]*\)$/\1/p' "$out" | tail -n 1)
	acked=$(sed -n 's/^client| acked \([0-9]*\)$/\1/p' "$prev" | tail -n 1)
	grep "^client| retained:" "$out"
	echo "restored numbered messages: ${seq:-none}; the last acknowledged before the power-off: ${acked:-none}"
	[ -n "$seq" ] && [ -n "$acked" ] && [ "$seq" -gt "$acked" ]
}

prev=
for k in $(seq "$cycles"); do
	if [ $((k % 2)) = 1 ]; then
		mode=save ms=$((RANDOM % 1500))
	else
		mode=time ms=$((300 + RANDOM % 2700))
	fi
	acked=
	[ "$k" -lt "$cycles" ] || [ "$k" = 1 ] || acked=acked
	out=$work/p$k
	boot "$img" "$out" cycle "$k" $mode $ms $acked
	if [ -n "$prev" ]; then
		tap_check "power-off $((k - 1)): the next boot restores a whole snapshot, intact" \
			restore_ok "$out" "$prev" 125
	fi
	if [ $mode = time ]; then
		desc="after $ms ms"
	else
		desc="at the first save after $ms ms"
	fi
	[ -z "$acked" ] || desc="$desc, kmqtt_save_before_ack on,"
	tap_check "power-off $k: the guest reset $desc while retained messages are published" \
		cut_ok "$out"
	prev=$out
done
boot "$img" "$work/final" final
if [ -n "$acked" ]; then
	tap_check "power-off $cycles: the next boot restores a whole snapshot with every message acknowledged before the power-off" \
		restore_acked_ok "$work/final" "$prev" 0
else
	tap_check "power-off $cycles: the next boot restores a whole snapshot, intact" \
		restore_ok "$work/final" "$prev" 0
fi
tap_check "power-off: e2fsck finds the file system clean after the last boot" \
	fsck_clean "$img"

if [ -n "${KMQTT_REBOOT_KEEP:-}" ]; then
	cp -r "$work/." "$KMQTT_REBOOT_KEEP/"
fi
tap_done
