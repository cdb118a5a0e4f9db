#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make bench-idle': IDLE_CONNS idle connections to kmqtt.ko in one boot of
# the test VM (tools/bench/idle-conns, Documentation/performance.rst "Idle
# connections"): the time to connect and attach them, the memory each
# costs, and a message to each of a random 1 % of them, which must be
# delivered to it and to no other.  The clients are in the VM, on
# 127.1.0.1 and up.  The VM gets IDLE_MEM MiB, by default 2048 plus 14 KiB
# per connection, at most 16384; the limits a million connections need
# (file descriptors, TCP memory) are raised in the guest.
#
# Environment (defaults in brackets): IDLE_CONNS [100000], IDLE_MEM [see
# above], IDLE_SEED [the time], IDLE_VM_TIMEOUT [600 plus 4 s per 1000
# connections].

set -u

repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
IDLE_CONNS=${IDLE_CONNS:-100000}
mem=$((2048 + IDLE_CONNS * 14 / 1024))
[ $mem -le 16384 ] || mem=16384
IDLE_MEM=${IDLE_MEM:-$mem}
IDLE_SEED=${IDLE_SEED:-$(date +%s)}
IDLE_VM_TIMEOUT=${IDLE_VM_TIMEOUT:-$((600 + IDLE_CONNS * 4 / 1000))}
tool=$repo/tools/bench/idle-conns

if [ "${1:-}" != --guest ]; then
	make -C "$repo/tools/bench" idle-conns >/dev/null || exit 1
	exec "$repo/tools/vm/run" --timeout "$IDLE_VM_TIMEOUT" \
		--mem "$IDLE_MEM" --env IDLE_CONNS="$IDLE_CONNS" \
		--env IDLE_SEED="$IDLE_SEED" -- "$0" --guest
fi

# raise NAME VALUE: the sysctl to VALUE unless it is already higher.
raise() {
	local cur
	cur=$(sysctl -n "$1") || exit 1
	[ "$cur" -ge "$2" ] || sysctl -q -w "$1=$2" || exit 1
}

# Two descriptors per connection until the module holds the server's.
fds=$((2 * IDLE_CONNS + 1024))
raise fs.nr_open "$fds"
raise fs.file-max "$((fds + 65536))"
# Each socket may keep up to a page of TCP memory charged: no pressure
# below two pages per connection (tcp_mem counts pages).
pages=$((4 * IDLE_CONNS + 65536))
sysctl -q -w net.ipv4.tcp_mem="$pages $pages $pages" || exit 1
echo "== $IDLE_CONNS idle connections, VM of $(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024)) MiB"
exec "$tool" "$IDLE_CONNS" "$IDLE_SEED"
