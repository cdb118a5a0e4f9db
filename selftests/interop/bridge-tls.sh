#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A kmqtt bridge over TLS to Debian's mosquitto (Documentation/bridges.rst):
# mosquitto listens with TLS and requires client certificates, kmqttd dials
# it with bridge_cafile, bridge_certfile and bridge_keyfile, by host name
# (SNI, the certificate checked against "localhost").  The link comes up on
# kernel TLS (kmqttctl show), messages cross both ways, a reload with a CA
# that did not sign mosquitto's certificate leaves the bridge down with
# "certificate verify failed" in kmqttd's log, and one with TLS 1.2 brings
# it back.  Both brokers run in a network namespace of their own.  Needs
# root, kmqtt.ko and tls.ko (the test VM) and the certificates of
# selftests/certs/mkcerts.sh in $KMQTT_TEST_CERTS.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
root=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/pidfile.sh"

PLAN=8
NS=kmqtt-bridge-tls
certs=${KMQTT_TEST_CERTS:-$root/build/test-certs}
kmqttd=${KMQTTD:-$root/agent/kmqttd}
kmqttctl=$root/tools/kmqttctl/kmqttctl
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-bridge-tls.XXXXXX")

cleanup() {
	pidfile_stop "$work/kmqttd.pid"
	pidfile_stop "$work/mosquitto.pid"
	# The link outlives kmqttd; the namespace's broker goes with it.
	ip netns del $NS 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

skip_all() {
	local i
	tap_plan $PLAN
	for i in $(seq $PLAN); do
		echo "ok $i - bridge over TLS to mosquitto # SKIP $1"
	done
	exit 0
}

[ -d /sys/module/kmqtt ] || skip_all "kmqtt.ko not loaded"
[ -r "$certs/ca.pem" ] || skip_all "no test certificates in $certs"
command -v mosquitto >/dev/null || skip_all "mosquitto is not installed"

in_ns() { ip netns exec $NS "$@"; }

# edge_conf CAFILE [EXTRA]: kmqttd's configuration, its bridge to mosquitto.
edge_conf() {
	cat >"$work/edge.conf" <<-EOF
	listener 1883 127.0.0.1
	allow_anonymous true
	connection cloud
	address localhost:8883
	remote_clientid edge1
	restart_timeout 2
	bridge_cafile $certs/$1
	bridge_certfile $certs/client1.pem
	bridge_keyfile $certs/client1.key
	${2:-}
	topic # out 1 site/ fleet/edge1/
	topic # in 1 cmd/ cmd/edge1/
	EOF
}

# wait_log FILE TEXT: TEXT appears in FILE within 10 s.
wait_log() {
	local tries
	for tries in $(seq 200); do
		grep -qF -- "$2" "$1" && return 0
		sleep 0.05
	done
	echo "no '$2' in $1:"
	cat "$1"
	return 1
}

setup() {
	ip netns add $NS && in_ns ip link set lo up || return 1
	# mosquitto as the remote: TLS with client certificates, and a plain
	# listener for the test's own clients.
	cat >"$work/mosquitto.conf" <<-EOF
	user root
	log_dest stderr
	log_type all
	per_listener_settings false
	allow_anonymous true
	listener 8883
	cafile $certs/ca.pem
	certfile $certs/server.pem
	keyfile $certs/server.key
	require_certificate true
	listener 1884 127.0.0.1
	EOF
	# Not in_ns: $! must be the broker's pid (ip netns exec execs).
	ip netns exec $NS mosquitto -c "$work/mosquitto.conf" \
		>"$work/mosquitto.log" 2>&1 &
	echo $! >"$work/mosquitto.pid"
	wait_log "$work/mosquitto.log" "running" || return 1
	edge_conf ca.pem
	ip netns exec $NS "$kmqttd" -c "$work/edge.conf" -v \
		>"$work/kmqttd.log" 2>&1 &
	echo $! >"$work/kmqttd.pid"
	wait_log "$work/kmqttd.log" "kmqttd: listening on"
}

# bridge_state up|down: kmqttctl shows the bridge so within 30 s (the
# first kernel TLS socket of a fresh VM loads crypto modules: seconds).
bridge_state() {
	local tries
	for tries in $(seq 300); do
		in_ns "$kmqttctl" show >"$work/show" 2>&1
		grep -A1 '^bridge: local.edge1$' "$work/show" |
			grep -q "state: $1" && return 0
		sleep 0.1
	done
	cat "$work/show" "$work/kmqttd.log"
	return 1
}

# link_up VERSION: up, on kernel TLS, after a handshake of TLS VERSION.
link_up() {
	bridge_state up || return 1
	grep -A4 '^connection [0-9]*: local.edge1$' "$work/show" |
		grep -q 'tls: kernel' || { cat "$work/show"; return 1; }
	wait_log "$work/kmqttd.log" \
		"Bridge cloud: TLS handshake with localhost:8883 done: TLSv$1"
}

# cross SUB_PORT TOPIC_FILTER PUB_PORT TOPIC WANT: a message published on
# one broker arrives on the other, renamed.  The publisher repeats until
# the subscriber has one (the bridge's SUBACK is not visible from here).
cross() {
	local got=$work/got pid i
	in_ns mosquitto_sub -h 127.0.0.1 -p "$1" -V mqttv311 -v -t "$2" \
		-C 1 -W 20 >"$got" 2>&1 &
	pid=$!
	for i in $(seq 40); do
		kill -0 $pid 2>/dev/null || break
		in_ns mosquitto_pub -h 127.0.0.1 -p "$3" -V mqttv311 -q 1 \
			-t "$4" -m "m$i" || return 1
		sleep 0.5
	done
	wait $pid
	grep -q "^$5 m[0-9]*$" "$got" || { cat "$got"; return 1; }
}

out_renamed() {
	cross 1884 'fleet/#' 1883 site/temp fleet/edge1/temp
}

in_renamed() {
	cross 1883 'cmd/#' 1884 cmd/edge1/valve cmd/valve
}

# SIGHUP with a CA that did not sign mosquitto's certificate: the bridge
# is redialled (its TLS settings changed) and refused.
wrong_ca() {
	local before
	before=$(grep -c "certificate verify failed" "$work/kmqttd.log")
	edge_conf untrusted-ca.pem
	kill -HUP "$(cat "$work/kmqttd.pid")" || return 1
	bridge_state down || return 1
	wait_log "$work/kmqttd.log" \
		"Bridge cloud: connecting to localhost:8883: TLS handshake: certificate verify failed" ||
		return 1
	[ "$(grep -c "certificate verify failed" "$work/kmqttd.log")" -gt \
		"$before" ] || { cat "$work/kmqttd.log"; return 1; }
	# still down after the next attempts
	sleep 3
	bridge_state down
}

tls12_back() {
	edge_conf ca.pem "bridge_tls_version tlsv1.2"
	kill -HUP "$(cat "$work/kmqttd.pid")" || return 1
	link_up 1.2
}

tap_plan $PLAN
tap_check "mosquitto with TLS and client certificates, kmqttd bridging to it" \
	setup
tap_check "the bridge comes up on kernel TLS (TLS 1.3, kmqttctl show)" \
	link_up 1.3
tap_check "out over TLS: site/ here is fleet/edge1/ on mosquitto" out_renamed
tap_check "in over TLS: cmd/edge1/ on mosquitto is cmd/ here" in_renamed
tap_check "a CA that did not sign mosquitto's certificate: down, certificate verify failed" \
	wrong_ca
tap_check "reloaded with the right CA and TLS 1.2: up again" tls12_back
tap_check "out over TLS 1.2" out_renamed
tap_check "in over TLS 1.2" in_renamed
tap_done
