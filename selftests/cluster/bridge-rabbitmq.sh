#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmqtt bridged to a RabbitMQ cluster (Debian's rabbitmq-server with its
# MQTT plugin): two nodes on this host, A and B, B joined to A.  kmqttd's
# bridge "rmq" lists both nodes' MQTT ports and links to A; a persistent
# QoS 1 subscriber on B counts what crosses.  In the middle of a stream of
# numbered QoS 1 messages published here, node A stops: the bridge must
# fail over to B and every number must reach the subscriber at least once
# (QoS 1 allows duplicates: they are counted and printed).
#
# The subscriber is on B on purpose.  RabbitMQ's MQTT plugin keeps a
# persistent QoS 1 subscription in a durable classic queue
# ("mqtt-subscription-CLIENTIDqos1"), not mirrored nor a quorum queue,
# created on the node the subscriber is connected to.  Were it on A, A's
# stop would take the queue away with it and whatever it held.  What the
# bridge publishes to A is routed to the queue on B before A acknowledges
# it; what A had not acknowledged when it stopped, the bridge sends again
# (with DUP) on its link to B.
#
# RMQ_STOP=stop (the default: SIGTERM to the node's Erlang VM, a clean
# shutdown, as systemd stops it) or kill (SIGKILL to it, a crash).
# RMQ_MESSAGES (default 500) messages, one every RMQ_INTERVAL seconds
# (default 0.02).
# Prints TAP; needs root, rabbitmq-server and kmqtt.ko loaded (the test
# VM: "make check-cluster", Documentation/testing.rst).

here=$(dirname "$(readlink -f "$0")")
root=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"

PLAN=8
N=${RMQ_MESSAGES:-500}
INTERVAL=${RMQ_INTERVAL:-0.02}
STOP=${RMQ_STOP:-stop}
NODE_A=rabbit-a@localhost
NODE_B=rabbit-b@localhost
MQTT_A=18831
MQTT_B=18832
rmq=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
kmqttd=${KMQTTD:-$root/agent/kmqttd}
kmqttctl=$root/tools/kmqttctl/kmqttctl
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-rabbitmq.XXXXXX")
# The Erlang cookie the nodes and the CLI share is read from $HOME.
export HOME=$work/home

# Checks run in subshells (tap_check): pids live in files.
stop_pid() {
	local pid tries
	pid=$(cat "$work/$1.pid" 2>/dev/null) || return 0
	kill "${2:--TERM}" "$pid" 2>/dev/null
	for tries in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$work/$1.pid"
}

# stop_node a|b: SIGTERM to the node's Erlang VM (named by its pid file),
# a clean shutdown as systemd's stop; SIGKILL after 10 s.
stop_node() {
	local pid
	pid=$(cat "$work/$1/pid" 2>/dev/null) || return 0
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = beam.smp ] || return 0
	echo "$pid" >"$work/node-$1.pid"
	stop_pid "node-$1"
}

ctl() {
	local node=$1
	shift
	timeout 600 "$rmq/rabbitmqctl" -q -n "$node" "$@"
}

cleanup() {
	stop_pid pub
	stop_pid sub
	stop_pid kmqttd
	stop_node b
	stop_node a
	stop_pid epmd
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -d /sys/module/kmqtt ] || [ ! -x $rmq/rabbitmq-server ]; then
	why="kmqtt.ko not loaded"
	[ -x $rmq/rabbitmq-server ] || why="rabbitmq-server not installed"
	tap_plan $PLAN
	for i in $(seq $PLAN); do
		echo "ok $i - bridge kmqtt to a RabbitMQ cluster # SKIP $why"
	done
	exit 0
fi

# What went wrong, from the logs (on a check's failure: "# " lines).
diag() {
	local f
	for f in "$work"/a/log/*.log "$work"/b/log/*.log "$work"/a/stdout \
		"$work"/b/stdout "$work/kmqttd.log"; do
		[ -s "$f" ] || continue
		echo "--- ${f#"$work"/} (last 25 lines)"
		tail -n 25 "$f"
	done
}

now() {
	date +%s.%N | cut -c 1-14
}

# start_node a|b AMQP_PORT DIST_PORT MQTT_PORT: a RabbitMQ node of its
# own directories, configuration and ports, with the MQTT plugin.  Both
# know the user box1 (created with the cluster's database on A's first
# start); B joins A at its first start (peer discovery from a list of
# nodes: no rabbitmqctl stop_app, join_cluster, start_app, each of which
# costs a minute under emulation).
start_node() {
	local n=$1 d=$work/$1
	mkdir -p "$d/mnesia" "$d/log"
	cat >"$d/rabbitmq.conf" <<-EOF
	listeners.tcp.default = $2
	mqtt.listeners.tcp.default = $4
	mqtt.allow_anonymous = false
	default_user = box1
	default_pass = box1-secret
	log.console = false
	log.file.level = info
	EOF
	[ "$n" = a ] || cat >>"$d/rabbitmq.conf" <<-EOF
	cluster_formation.peer_discovery_backend = classic_config
	cluster_formation.classic_config.nodes.1 = $NODE_A
	EOF
	echo '[rabbitmq_mqtt].' >"$d/enabled_plugins"
	: >"$d/rabbitmq-env.conf"
	(cd "$d" && exec env RABBITMQ_NODENAME="rabbit-$n@localhost" \
		RABBITMQ_NODE_PORT="$2" RABBITMQ_DIST_PORT="$3" \
		RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" \
		RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
		RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
		RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" \
		RABBITMQ_PID_FILE="$d/pid" \
		"$rmq/rabbitmq-server" >"$d/stdout" 2>&1) &
	echo $! >"$work/node-$n.start"
}

# wait_node a|b: its log says it started (plugins included), within
# RMQ_START_TIMEOUT seconds (default 900: a node starts in 10 s on the
# 2-core host, in minutes under the VM's emulation).
wait_node() {
	local end=$((SECONDS + ${RMQ_START_TIMEOUT:-900}))
	while [ $SECONDS -lt $end ]; do
		grep -qs 'Server startup complete' \
			"$work/$1/log/rabbit-$1@localhost.log" && return 0
		kill -0 "$(cat "$work/node-$1.start")" 2>/dev/null || break
		sleep 1
	done
	echo "node $1 did not start"
	diag
	return 1
}

# A, then B, which joins A as it starts.
start_nodes() {
	local t0 epmd
	t0=$(now)
	mkdir -p "$HOME"
	echo kmqtt-cluster-test-cookie >"$HOME/.erlang.cookie"
	chmod 400 "$HOME/.erlang.cookie"
	# Our own epmd, in the foreground, so that cleanup can stop it.
	epmd=$(command -v epmd)
	"$epmd" >"$work/epmd.log" 2>&1 &
	echo $! >"$work/epmd.pid"
	start_node a 15672 25672 $MQTT_A
	wait_node a || return 1
	echo "node A up in $(echo "$(now) - $t0" | bc) s"
	start_node b 15673 25673 $MQTT_B
	wait_node b || return 1
	echo "node B up in $(echo "$(now) - $t0" | bc) s"
	grep -h -i -m 2 -e 'will try to join' -e 'peer discovery' \
		"$work/b/log/rabbit-b@localhost.log"
}

# cluster_status on A lists both as running.
cluster_formed() {
	local status
	status=$(ctl $NODE_A cluster_status --formatter json) || {
		echo "$status"; diag; return 1; }
	echo "$status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
run = set(s["running_nodes"])
print("running nodes:", " ".join(sorted(run)))
sys.exit(0 if {"'$NODE_A'", "'$NODE_B'"} <= run else 1)'
}

# The persistent subscriber on B: a first connection creates its session
# and queue, then one stays connected (the count of what crossed).
start_sub() {
	mosquitto_sub -h 127.0.0.1 -p $MQTT_B -u box1 -P box1-secret -c \
		-i rsub -q 1 -t 'box1/#' -E >"$work/sub-setup.log" 2>&1 || {
		cat "$work/sub-setup.log"; diag; return 1; }
	mosquitto_sub -h 127.0.0.1 -p $MQTT_B -u box1 -P box1-secret -c \
		-i rsub -q 1 -t 'box1/#' >"$work/received" 2>"$work/sub.log" &
	echo $! >"$work/sub.pid"
}

# The queue of the subscriber's session is a classic queue on node B.
sub_queue_on_b() {
	local q
	start_sub || return 1
	q=$(ctl $NODE_A list_queues name type durable pid) || return 1
	echo "$q" | grep '^mqtt-subscription-rsubqos1'$'\t' || {
		echo "$q"; return 1; }
	echo "$q" | grep -q "^mqtt-subscription-rsubqos1	classic	true	<$NODE_B\." ||
		return 1
}

# kmqttd bridging everything under site/ here to box1/ on RabbitMQ: the
# bridge links to A, the first address.
start_kmqttd() {
	local tries log=$work/kmqttd.log pid
	cat >"$work/kmqttd.conf" <<-EOF
	listener 1883 127.0.0.1
	allow_anonymous true
	connection rmq
	address 127.0.0.1:$MQTT_A 127.0.0.1:$MQTT_B
	topic # out 1 site/ box1/
	cleansession false
	remote_clientid box1
	remote_username box1
	remote_password box1-secret
	restart_timeout 1
	try_private false
	notifications false
	keepalive_interval 5
	EOF
	"$kmqttd" -c "$work/kmqttd.conf" -v >"$log" 2>&1 &
	pid=$!
	echo $pid >"$work/kmqttd.pid"
	for tries in $(seq 600); do
		grep -qF "Bridge rmq: linked to 127.0.0.1:$MQTT_A" "$log" &&
			return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "the bridge did not link to A within 60 s"
	diag
	return 1
}

received() {
	grep -c . "$work/received" 2>/dev/null || echo 0
}

# Numbers 1..N published here at QoS 1, one every INTERVAL seconds; the
# first 50 must reach the subscriber on B (through A) within 60 s.
start_stream() {
	local tries
	(for i in $(seq "$N"); do
		echo "$i"
		sleep "$INTERVAL"
	done | mosquitto_pub -h 127.0.0.1 -p 1883 -i pub -q 1 -t site/n -l
	echo $? >"$work/pub.status") >"$work/pub.log" 2>&1 &
	echo $! >"$work/pub.pid"
	now >"$work/pub.start"
	for tries in $(seq 600); do
		[ "$(received)" -ge 50 ] && { echo "$(received) received"; return 0; }
		sleep 0.1
	done
	echo "$(received) of the first 50 received in 60 s"
	cat "$work/pub.log"
	diag
	return 1
}

# Node A stops while the stream goes on; the bridge links to B.
fail_over() {
	local t0 tries pub_done=no
	t0=$(now)
	echo "stopping node A ($STOP) at message $(received) received"
	case $STOP in
	kill) kill -KILL "$(cat "$work/a/pid")" || return 1 ;;
	stop) stop_node a ;;
	*) echo "RMQ_STOP is stop or kill"; return 1 ;;
	esac
	[ -e "$work/pub.status" ] && pub_done=yes
	echo "node A stopped in $(echo "$(now) - $t0" | bc) s;" \
		"stream finished by then: $pub_done"
	for tries in $(seq 600); do
		grep -qF "Bridge rmq: linked to 127.0.0.1:$MQTT_B" \
			"$work/kmqttd.log" && break
		sleep 0.1
	done
	grep -F "Bridge rmq:" "$work/kmqttd.log" | tail -n 4
	grep -qF "Bridge rmq: linked to 127.0.0.1:$MQTT_B" \
		"$work/kmqttd.log" || { diag; return 1; }
	echo "linked to B $(echo "$(now) - $t0" | bc) s after the stop began," \
		"$(received) received by then"
	# Mid-stream: the publisher was still going when the link moved.
	[ $pub_done = no ]
}

# After the stream: every number reached the subscriber at least once.
none_lost() {
	local tries missing total unique
	for tries in $(seq 1200); do
		[ -e "$work/pub.status" ] && break
		sleep 0.1
	done
	[ "$(cat "$work/pub.status" 2>/dev/null)" = 0 ] || {
		echo "the publisher did not finish, or failed:"
		cat "$work/pub.log"; return 1; }
	echo "stream of $N published in $(echo "$(now) - $(cat "$work/pub.start")" | bc) s"
	seq "$N" >"$work/want"
	for tries in $(seq 600); do
		sort -un "$work/received" | comm -23 "$work/want" - >"$work/missing"
		[ -s "$work/missing" ] || break
		sleep 0.1
	done
	total=$(received)
	unique=$(sort -un "$work/received" | grep -c .)
	missing=$(grep -c . "$work/missing")
	echo "received $total messages: $unique distinct of $N," \
		"$((total - unique)) duplicates, $missing missing"
	[ "$missing" = 0 ] || {
		echo "missing: $(head -n 20 "$work/missing" | tr '\n' ' ')"
		diag; return 1; }
}

# kmqttctl shows the bridge's link up to B, carrying messages, with
# nothing left queued or dropped.
show_up_to_b() {
	local show
	"$kmqttctl" show >"$work/show" 2>&1 || { cat "$work/show"; return 1; }
	show=$(grep -A5 '^bridge: local.box1$' "$work/show")
	echo "$show"
	echo "$show" | grep -q "state: up, to 127.0.0.1:$MQTT_B " &&
	echo "$show" | grep -Eq 'messages on this link: [1-9][0-9]* sent' &&
	echo "$show" | grep -q 'queued: 0 messages' &&
	echo "$show" | grep -q 'dropped: 0' || { cat "$work/show"; return 1; }
}

tap_plan $PLAN
tap_check "RabbitMQ nodes A and B start with the MQTT plugin" start_nodes
tap_check "B joined A: cluster_status lists both running" cluster_formed
tap_check "the subscriber's queue on B is a durable classic queue on B" \
	sub_queue_on_b
tap_check "kmqttd's bridge links to node A" start_kmqttd
tap_check "QoS 1 messages cross through A to the subscriber on B" \
	start_stream
tap_check "node A stops mid-stream: the bridge fails over to B" fail_over
tap_check "every message reached the subscriber at least once" none_lost
tap_check "kmqttctl show: the bridge is up to B, nothing queued or dropped" \
	show_up_to_b
tap_done
