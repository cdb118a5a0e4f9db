#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmqtt bridged to kmqtt: two network namespaces joined by a veth pair,
# each with its own broker in kmqtt.ko and its own kmqttd; the one in
# "edge" dials the one in "hub" (Documentation/bridges.rst).  Topics cross
# renamed both ways, a line both ways does not loop (No Local on the edge,
# try_private making the hub treat the edge as a bridge), QoS 1 messages
# published while the link is down wait on the edge and arrive in order,
# and a restarted kmqttd adopts the link instead of dialling again.
# Prints TAP; needs root and kmqtt.ko loaded (the test VM).

here=$(dirname "$(readlink -f "$0")")
root=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/pidfile.sh"
. "$here/../lib/logwait.sh"

PLAN=8
EDGE=kmqtt-bridge-edge
HUB=kmqtt-bridge-hub
kmqttd=${KMQTTD:-$root/agent/kmqttd}
kmqttctl=$root/tools/kmqttctl/kmqttctl
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-bridge.XXXXXX")

cleanup() {
	pidfile_stop "$work/edge.pid"
	pidfile_stop "$work/hub.pid"
	ip netns del $EDGE 2>/dev/null
	ip netns del $HUB 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -d /sys/module/kmqtt ]; then
	tap_plan $PLAN
	for i in $(seq $PLAN); do
		echo "ok $i - bridge kmqtt to kmqtt # SKIP kmqtt.ko not loaded"
	done
	exit 0
fi

in_edge() { ip netns exec $EDGE "$@"; }
in_hub() { ip netns exec $HUB "$@"; }

# start_kmqttd NAME NETNS: kmqttd with $work/NAME.conf, NAME.log, NAME.pid.
start_kmqttd() {
	local name=$1 ns=$2 log=$work/$1.log pid
	: >"$log"
	ip netns exec "$ns" "$kmqttd" -c "$work/$name.conf" -v >"$log" 2>&1 &
	pid=$!
	echo $pid >"$work/$name.pid"
	log_wait "kmqttd in $ns" "$pid" "$log" "kmqttd: listening on"
}

setup() {
	ip netns add $EDGE && ip netns add $HUB &&
	ip link add veth-edge netns $EDGE type veth peer name veth-hub \
		netns $HUB &&
	in_edge ip addr add 10.77.0.1/24 dev veth-edge &&
	in_hub ip addr add 10.77.0.2/24 dev veth-hub &&
	in_edge ip link set veth-edge up && in_edge ip link set lo up &&
	in_hub ip link set veth-hub up && in_hub ip link set lo up ||
		return 1
	cat >"$work/hub.conf" <<-EOF
	listener 1883
	allow_anonymous true
	EOF
	cat >"$work/edge.conf" <<-EOF
	listener 1883 127.0.0.1
	allow_anonymous true
	connection hub
	address 10.77.0.2:1883
	remote_clientid edge1
	cleansession false
	restart_timeout 4
	keepalive_interval 30
	topic # out 1 site/ fleet/edge1/
	topic # in 1 cmd/ cmd/edge1/
	topic chat/# both 1
	EOF
	start_kmqttd hub $HUB && start_kmqttd edge $EDGE
}

# The edge's bridge is up (kmqttctl show), within 10 s.
link_up() {
	for _ in $(seq 100); do
		in_edge "$kmqttctl" show >"$work/show" 2>&1
		grep -A1 '^bridge: local.edge1$' "$work/show" |
			grep -q 'state: up' && return 0
		sleep 0.1
	done
	cat "$work/show" "$work/edge.log"
	return 1
}

# sub NETNS FILE ARGS...: a subscriber in NETNS (client id FILE's name),
# in place on return: its subscription shows in kmqttctl show, within 10 s.
sub() {
	local ns=$1 out=$2 id
	shift 2
	id=sub-$(basename "$out")
	ip netns exec "$ns" mosquitto_sub -h 127.0.0.1 -V mqttv311 -i "$id" \
		-v "$@" >"$out" 2>&1 &
	subs="$subs $!"
	for _ in $(seq 100); do
		ip netns exec "$ns" "$kmqttctl" show |
			grep -A12 "^session: $id\$" | grep -q '^  subscription: ' &&
			return 0
		sleep 0.1
	done
	echo "subscriber $id did not subscribe within 10 s"
}

pub() {
	local ns=$1
	shift
	ip netns exec "$ns" mosquitto_pub -h 127.0.0.1 -V mqttv311 "$@"
}

# Wait for the subscribers started since the last call, at most 10 s.
wait_subs() {
	local pid
	for pid in $subs; do
		wait "$pid"
	done
	subs=
}

out_renamed() {
	sub $HUB "$work/out" -t 'fleet/#' -C 1 -W 10
	pub $EDGE -q 1 -t site/temp -m 21 || return 1
	wait_subs
	[ "$(cat "$work/out")" = "fleet/edge1/temp 21" ] || {
		cat "$work/out"; return 1; }
}

in_renamed() {
	sub $EDGE "$work/in" -t 'cmd/#' -C 1 -W 10
	pub $HUB -q 1 -t cmd/edge1/valve -m open || return 1
	wait_subs
	[ "$(cat "$work/in")" = "cmd/valve open" ] || {
		cat "$work/in"; return 1; }
}

# Each side gets each message once: -C 3 times out with the two (-W is
# counted from the start, before the other subscriber and the publishes).
no_loops() {
	sub $EDGE "$work/chat-edge" -t 'chat/#' -C 3 -W 10
	sub $HUB "$work/chat-hub" -t 'chat/#' -C 3 -W 10
	pub $EDGE -q 1 -t chat/from-edge -m e || return 1
	pub $HUB -q 1 -t chat/from-hub -m h || return 1
	wait_subs
	printf 'chat/from-edge e\nchat/from-hub h\n' >"$work/chat-want"
	grep -v '^Timed out' "$work/chat-edge" | sort | cmp - "$work/chat-want" &&
	grep -v '^Timed out' "$work/chat-hub" | sort |
		cmp - "$work/chat-want" || {
		echo "edge:"; cat "$work/chat-edge"
		echo "hub:"; cat "$work/chat-hub"; return 1; }
}

# The hub sees the edge as a bridge: its filter on the hub has No Local.
hub_knows_bridge() {
	in_hub "$kmqttctl" show >"$work/hub-show" || return 1
	grep -A8 '^session: edge1$' "$work/hub-show" |
		grep -qF 'subscription: cmd/edge1/# (QoS 1, no local, retain as published)' || {
		cat "$work/hub-show"; return 1; }
}

# The hub drops the link; while the edge waits to dial again (4 s), QoS
# 1 messages wait in the edge's bridge session, then arrive in order.
store_and_forward() {
	local i
	in_hub mosquitto_sub -h 127.0.0.1 -c -i hubsub -q 1 -t 'fleet/#' -E ||
		return 1
	in_hub "$kmqttctl" disconnect edge1 || return 1
	for i in $(seq 100); do
		in_edge "$kmqttctl" show >"$work/show"
		grep -A1 '^bridge: local.edge1$' "$work/show" |
			grep -q 'state: down' && break
		sleep 0.05
	done
	seq 1 20 | sed 's/^/m/' | pub $EDGE -q 1 -t site/n -l || return 1
	in_edge "$kmqttctl" show >"$work/show"
	grep -A3 '^bridge: local.edge1$' "$work/show" |
		grep -q 'queued: 20 messages' || { cat "$work/show"; return 1; }
	link_up || return 1
	in_hub mosquitto_sub -h 127.0.0.1 -c -i hubsub -q 1 -t 'fleet/#' \
		-C 20 -W 10 >"$work/saf" 2>&1
	in_hub mosquitto_sub -h 127.0.0.1 -i hubsub -t none -E
	seq 1 20 | sed 's/^/m/' | cmp - "$work/saf" || {
		cat "$work/saf"; return 1; }
}

# A new kmqttd finds the link in the module and keeps it: the hub's
# connection of the edge is the same one, and messages still cross.
restart_adopts() {
	local before after
	before=$(in_hub "$kmqttctl" show | grep -m1 '^connection [0-9]*: edge1$')
	pidfile_stop "$work/edge.pid"
	start_kmqttd edge $EDGE || return 1
	grep -q 'Bridge hub: the module has its link' "$work/edge.log" || {
		cat "$work/edge.log"; return 1; }
	out_renamed || return 1
	after=$(in_hub "$kmqttctl" show | grep -m1 '^connection [0-9]*: edge1$')
	[ -n "$before" ] && [ "$before" = "$after" ] || {
		echo "hub's connection of edge1: '$before', then '$after'"
		return 1; }
}

tap_plan $PLAN
tap_check "two namespaces, a kmqttd in each" setup
tap_check "the edge's bridge comes up" link_up
tap_check "out: site/ here is fleet/edge1/ there" out_renamed
tap_check "in: cmd/edge1/ there is cmd/ here" in_renamed
tap_check "a line both ways: each message once on each side" no_loops
tap_check "the hub gives the edge's filters No Local (try_private)" \
	hub_knows_bridge
tap_check "link down: QoS 1 waits on the edge, then arrives in order" \
	store_and_forward
tap_check "a restarted kmqttd adopts the link" restart_adopts
tap_done
