# SPDX-License-Identifier: GPL-2.0
# Run agent/kmqttd of this tree (or $KMQTTD) with a configuration file, for
# the interop tests of TLS and access control (tls.sh, auth.sh).

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
	local conf=$1 listeners=$3 wait=${4:-60} root deadline
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	kmqttd_log=$2
	"${KMQTTD:-$root/agent/kmqttd}" -c "$conf" >"$kmqttd_log" 2>&1 &
	kmqttd_pid=$!
	# Seconds, not turns: a turn takes longer than its sleep under TCG.
	deadline=$((SECONDS + wait))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(grep -c "kmqttd: listening on" "$kmqttd_log")" -ge "$listeners" ] &&
			return 0
		if ! kill -0 "$kmqttd_pid" 2>/dev/null; then
			echo "# kmqttd exited before listening:"
			sed 's/^/#   /' "$kmqttd_log"
			kmqttd_pid=
			return 1
		fi
		sleep 0.01
	done
	echo "# kmqttd did not listen on $listeners sockets within $wait s:"
	sed 's/^/#   /' "$kmqttd_log"
	return 1
}
