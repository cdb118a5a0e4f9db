# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Run agent/kmqttd of this tree (or $KMQTTD) with a configuration file, for
# the interop tests of TLS and access control (tls.sh, auth.sh), or the
# broker under test (bridge.sh, sys.sh).

. "$(dirname "${BASH_SOURCE[0]}")/logwait.sh"

kmqttd_pid=
kmqttd_log=

# kmqttd_free_port: a TCP port of 127.0.0.1 free now, for a listener.
kmqttd_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

kmqttd_stop() {
	if [ -n "$kmqttd_pid" ]; then
		kill "$kmqttd_pid" 2>/dev/null
		wait "$kmqttd_pid" 2>/dev/null
		kmqttd_pid=
	fi
}

# kmqttd_start CONF LOG LISTENERS [SECONDS]: returns once kmqttd says it
# listens on LISTENERS sockets, or fails and shows the log after SECONDS
# (60).
kmqttd_start() {
	local conf=$1 listeners=$3 wait=${4:-60} root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	kmqttd_log=$2
	"${KMQTTD:-$root/agent/kmqttd}" -c "$conf" >"$kmqttd_log" 2>&1 &
	kmqttd_pid=$!
	kmqttd_started kmqttd "kmqttd: listening on" "$listeners" "$wait"
}

# kmqttd_started WHO PATTERN COUNT [SECONDS]: log_wait for the broker of
# kmqttd_pid and kmqttd_log; one that exited is forgotten, one that
# timed out is left for kmqttd_stop.
kmqttd_started() {
	log_wait "$1" "$kmqttd_pid" "$kmqttd_log" "$2" "$3" "$4" && return 0
	[ $? = 2 ] || kmqttd_pid=
	return 1
}

# kmqttd_show_until FILE CLIENT_ID...: kmqttctl show --json into FILE until
# the connection of every CLIENT_ID is in it, or fails after 30 s.
kmqttd_show_until() {
	local file=$1 root id missing
	shift
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	for _ in $(seq 150); do
		"$root/tools/kmqttctl/kmqttctl" show --json >"$file" || return 1
		missing=
		for id in "$@"; do
			grep -q "\"$id\"" "$file" || missing=$id
		done
		[ -z "$missing" ] && return 0
		sleep 0.2
	done
	echo "kmqttctl show never listed $missing"
	return 1
}

# test_broker_start CONF LOG [LISTENERS]: the broker under test with CONF,
# kmqttd (as kmqttd_start, LISTENERS listeners, 1 by default) or, with
# KMQTT_TEST_BROKER=mosquitto, Debian's Mosquitto with the same file
# (which says it runs once all its listeners are open); its pid in
# kmqttd_pid either way, for kmqttd_stop.
test_broker_start() {
	local conf=$1 log=$2
	if [ "${KMQTT_TEST_BROKER:-kmqttd}" = kmqttd ]; then
		kmqttd_start "$conf" "$log" "${3:-1}"
		return
	fi
	kmqttd_log=$log
	/usr/sbin/mosquitto -c "$conf" >"$kmqttd_log" 2>&1 &
	kmqttd_pid=$!
	kmqttd_started mosquitto " running$" 1
}

# kmqttd_own_netns NAME SCRIPT [ARG...]: with kmqtt.ko loaded, run SCRIPT
# again in a network namespace of its own, loopback up, and exit with its
# status: its kmqttd gets a broker of its own in the module, gone with
# the namespace, and later suites find the module as they would have
# without this one.  Returns (doing nothing) in that namespace, without
# the module, or with KMQTT_TEST_BROKER=mosquitto.
kmqttd_own_netns() {
	local name=$1 ns rc
	shift
	[ "${KMQTT_TEST_BROKER:-kmqttd}" = kmqttd ] && [ -d /sys/module/kmqtt ] &&
		[ -z "${KMQTT_OWN_NETNS:-}" ] || return 0
	ns=kmqtt-$name-$$
	ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
	KMQTT_OWN_NETNS=$ns ip netns exec "$ns" "$@"
	rc=$?
	ip netns del "$ns"
	exit $rc
}
