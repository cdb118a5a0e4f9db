#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make bench-ack': what kmqtt_save_before_ack costs QoS 1 publishers,
# whose PUBACK then waits for a save of the module's whole state
# (Documentation/persistence.rst).  In one boot of the test VM, kmqtt-bench
# runs each load against kmqttd with persistence saving at exit only
# ("off"), then with the option ("on"): first with a small state, then
# after ACK_RETAINED retained messages of ACK_RETAINED_SIZE bytes were
# stored, which every save writes.  Under emulation (TCG): compare the
# rows, not the figures with a real machine's.
#
# Environment (defaults in brackets): ACK_SECONDS [5], ACK_RETAINED
# [10000], ACK_RETAINED_SIZE [1024], ACK_VM_TIMEOUT [1200].

set -u

repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
ACK_SECONDS=${ACK_SECONDS:-5}
ACK_RETAINED=${ACK_RETAINED:-10000}
ACK_RETAINED_SIZE=${ACK_RETAINED_SIZE:-1024}
ACK_VM_TIMEOUT=${ACK_VM_TIMEOUT:-1200}
bench=$repo/tools/bench/kmqtt-bench

if [ "${1:-}" != --guest ]; then
	make -C "$repo/tools/bench" >/dev/null || exit 1
	exec "$repo/tools/vm/run" --timeout "$ACK_VM_TIMEOUT" \
		--env ACK_SECONDS="$ACK_SECONDS" \
		--env ACK_RETAINED="$ACK_RETAINED" \
		--env ACK_RETAINED_SIZE="$ACK_RETAINED_SIZE" -- "$0" --guest
fi

. "$repo/selftests/lib/kmqttd.sh"
work=$(mktemp -d /tmp/save-ack.XXXXXX)
trap 'kmqttd_stop; rm -rf "$work"' EXIT
port=$(kmqttd_free_port)
status=0

# run STATE OPTION SCENARIO ARGS...: one kmqtt-bench run against kmqttd.
run() {
	local state=$1 option=$2 scenario=$3 conf=$work/kmqttd.conf
	shift 3
	printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nkmqtt_save_before_ack %s\n' \
		"$port" "$work" "$([ "$option" = on ] && echo true || echo false)" >"$conf"
	kmqttd_start "$conf" "$work/kmqttd.log" 1 || exit 1
	"$bench" "$scenario" -p "$port" -q 1 -d "$ACK_SECONDS" --quiet --json \
		--label "$state $option" "$@" >"$work/run.json" || status=1
	kmqttd_stop
	python3 - "$work/run.json" "$state" "$option" "$scenario" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[4]:9} {sys.argv[2]:7} {sys.argv[3]:4} "
      f"{r['delivered_rate']:9.0f} {r['latency_p50_us'] / 1000:8.1f} "
      f"{r['latency_p99_us'] / 1000:8.1f} {r['lost']:6} {r['duplicates']:5}")
PY
}

# Retained messages every save then writes: a client of its own.
store_retained() {
	python3 - "$port" "$ACK_RETAINED" "$ACK_RETAINED_SIZE" <<'PY'
import socket, struct, sys
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def packet(kind, body):
    out, left = bytearray([kind]), len(body)
    while True:
        b, left = left % 128, left // 128
        out.append(b | (128 if left else 0))
        if not left:
            return bytes(out) + body
s = socket.create_connection(("127.0.0.1", port))
s.sendall(packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x00\x00\x08ack-fill"))
assert s.recv(4)[:2] == b"\x20\x02"
payload = b"r" * size
for i in range(n):
    topic = b"fill/%d" % i
    s.sendall(packet(0x31, struct.pack(">H", len(topic)) + topic + payload))
s.sendall(packet(0xc0, b""))
assert s.recv(2) == b"\xd0\x00"
s.close()
PY
}

loads() {
	local state=$1 option
	for option in off on; do
		run "$state" "$option" fanin --pubs 100 --subs 1 --window 8
		run "$state" "$option" pairwise --pairs 100
	done
}

echo "== QoS 1, $ACK_SECONDS s each, kmqttd with persistence; on: kmqtt_save_before_ack"
echo "scenario  state   save  deliv/s  p50 ms  p99 ms   lost  dups"
loads small
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$work/fill.conf"
kmqttd_start "$work/fill.conf" "$work/fill.log" 1 || exit 1
store_retained || exit 1
kmqttd_stop
loads "$((ACK_RETAINED * ACK_RETAINED_SIZE / 1000000))MB"
exit $status
