# SPDX-License-Identifier: GPL-2.0
# Start the broker under test on a port, as lib/broker.c does for C tests:
# agent/kmqttd of this tree (or $KMQTTD), or Mosquitto when
# KMQTT_TEST_BROKER=mosquitto (to check the tests on a host without kmqtt).

. "$(dirname "${BASH_SOURCE[0]}")/logwait.sh"

broker_pid=
broker_log=

broker_stop() {
	if [ -n "$broker_pid" ]; then
		kill "$broker_pid" 2>/dev/null
		wait "$broker_pid" 2>/dev/null
		broker_pid=
	fi
	[ -z "$broker_log" ] || rm -f "$broker_log"
	broker_log=
}

# broker_start PORT [CONFIG]: returns once the broker says it listens, or
# fails.  With CONFIG, kmqttd reads that file (which then names PORT in
# its listener) instead of listening on PORT with the defaults.  The
# caller stops it with broker_stop (e.g. from an EXIT trap).
broker_start() {
	local port=$1 config=$2 ready root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	broker_log=$(mktemp "${TMPDIR:-/tmp}/kmqtt-broker.XXXXXX")
	case ${KMQTT_TEST_BROKER:-kmqttd} in
	kmqttd)
		if [ -n "$config" ]; then
			"${KMQTTD:-$root/agent/kmqttd}" -c "$config" \
				>"$broker_log" 2>&1 &
		else
			"${KMQTTD:-$root/agent/kmqttd}" -p "$port" \
				>"$broker_log" 2>&1 &
		fi
		ready="kmqttd: listening on"
		;;
	mosquitto)
		mosquitto -p "$port" >"$broker_log" 2>&1 &
		ready=" running"
		;;
	*)
		echo "# unknown KMQTT_TEST_BROKER=$KMQTT_TEST_BROKER"
		return 1
		;;
	esac
	broker_pid=$!
	log_wait broker "$broker_pid" "$broker_log" "$ready" && return 0
	# One that exited is forgotten; one that timed out, broker_stop's.
	[ $? = 2 ] || broker_pid=
	return 1
}
