#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmqttd's Prometheus endpoint (metrics_listener, Documentation/metrics.rst)
# with real clients: mosquitto_sub/mosquitto_pub move the figures, curl
# scrapes them, promtool checks the text, and Debian's Prometheus server
# scrapes kmqttd and answers a query with what the clients did.  Then a
# SIGHUP moves the endpoint and another removes it.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
. "$here/../lib/kmqttd.sh"
. "$here/../lib/stop.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-metrics.XXXXXX")
subs=()
prom_pid=
cleanup() {
	[ -z "$prom_pid" ] || { kill "$prom_pid"; wait "$prom_pid"; } 2>/dev/null
	stop_clients "${subs[@]}"
	kmqttd_stop
	rm -rf "$work"
}
trap cleanup EXIT

mqtt_port=$(kmqttd_free_port)
metrics_port=$(kmqttd_free_port)
prom_port=$(kmqttd_free_port)
listener="127.0.0.1:$mqtt_port"
conf=$work/kmqttd.conf

write_conf() {
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s' \
		"$mqtt_port" "$1" >"$conf"
}

scrape() {
	curl -sS --max-time 10 "http://127.0.0.1:${1:-$metrics_port}/metrics"
}

# value SERIES: the value of the sample SERIES (name and labels) now.
value() {
	scrape | awk -v s="$1" '$1 == s { print $2; found = 1 } END { exit !found }'
}

# wait_value SERIES WANT [SECONDS]: until SERIES is WANT (30 s at most).
wait_value() {
	local got deadline=$((SECONDS + ${3:-30}))
	while [ $SECONDS -lt $deadline ]; do
		got=$(value "$1") && [ "$got" = "$2" ] && return 0
		sleep 0.2
	done
	echo "$1 is ${got:-absent}, not $2"
	return 1
}

# wait_at_least SERIES MIN [SECONDS]
wait_at_least() {
	local got deadline=$((SECONDS + ${3:-30}))
	while [ $SECONDS -lt $deadline ]; do
		got=$(value "$1") && [ "$got" -ge "$2" ] && return 0
		sleep 0.2
	done
	echo "$1 is ${got:-absent}, not at least $2"
	return 1
}

# wait_log TEXT: until kmqttd's log has TEXT (30 s at most).
wait_log() {
	local deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		grep -qF "$1" "$kmqttd_log" && return 0
		sleep 0.1
	done
	echo "kmqttd did not say \"$1\":"
	sed 's/^/  /' "$kmqttd_log"
	return 1
}

endpoint() {
	local headers=$work/headers body=$work/body
	curl -sS --max-time 10 -D "$headers" -o "$body" \
		"http://127.0.0.1:$metrics_port/metrics" || return 1
	head -1 "$headers" | grep -q '^HTTP/1.1 200 ' || { cat "$headers"; return 1; }
	grep -qix 'content-type: text/plain; version=0.0.4; charset=utf-8.' "$headers" ||
		{ cat "$headers"; return 1; }
	grep -qix 'connection: close.' "$headers" || { cat "$headers"; return 1; }
	grep -qx 'kmqtt_module_up 1' "$body" || { head -20 "$body"; return 1; }
	grep -q '^kmqtt_build_info{version="' "$body" || return 1
}

base_open=
base_subs=
base_in=
base_out=

subscribers() {
	local i
	base_open=$(value kmqtt_connections_open) || return 1
	base_subs=$(value kmqtt_subscriptions) || return 1
	for i in 1 2 3; do
		mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -i "metrics-sub-$i" \
			-t 'metrics/#' >/dev/null 2>&1 &
		subs+=($!)
	done
	wait_value kmqtt_connections_open $((base_open + 3)) &&
	wait_value "kmqtt_listener_connections_attached_total{listener=\"$listener\"}" 3 &&
	wait_value "kmqtt_listener_connections_accepted_total{listener=\"$listener\"}" 3 &&
	wait_value "kmqtt_listener_connections_pending{listener=\"$listener\"}" 0 &&
	wait_value kmqtt_subscriptions $((base_subs + 3))
}

publishes() {
	local i
	base_in=$(value kmqtt_messages_received_total) || return 1
	base_out=$(value kmqtt_messages_sent_total) || return 1
	for i in 1 2 3 4 5; do
		mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t metrics/t -m "$i" ||
			return 1
	done
	wait_at_least kmqtt_messages_received_total $((base_in + 5)) &&
	wait_at_least kmqtt_messages_sent_total $((base_out + 15)) &&
	wait_value "kmqtt_listener_connections_attached_total{listener=\"$listener\"}" 8
}

# A CONNECT of protocol level 6: CONNACK 1, 5.0's "unsupported protocol
# version".
refused() {
	python3 - "$mqtt_port" <<'EOF' || return 1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(bytes([0x10, 15, 0, 4]) + b"MQTT" + bytes([6, 2, 0, 30, 0, 0, 2]) + b"c1")
ack = s.recv(16)
assert ack == bytes([0x20, 2, 0, 1]), ack
EOF
	wait_value "kmqtt_listener_connects_refused_total{listener=\"$listener\",reason=\"unsupported_protocol_version\"}" 1 &&
	wait_value "kmqtt_listener_connects_refused_total{listener=\"$listener\",reason=\"not_authorized\"}" 0
}

promtool_check() {
	scrape >"$work/scrape" || return 1
	promtool check metrics <"$work/scrape"
}

http_errors() {
	local code
	code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$metrics_port/") || return 1
	[ "$code" = 404 ] || { echo "GET / answered $code"; return 1; }
	code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST \
		"http://127.0.0.1:$metrics_port/metrics") || return 1
	[ "$code" = 405 ] || { echo "POST /metrics answered $code"; return 1; }
}

# query EXPR: the value of Prometheus' instant query EXPR, or nothing.
query() {
	curl -sS --max-time 10 "http://127.0.0.1:$prom_port/api/v1/query" \
		--data-urlencode "query=$1" 2>/dev/null |
		python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")' 2>/dev/null
}

# Debian's Prometheus scrapes kmqttd every second; its query API must
# show the three subscribers' connections.  It takes 10 s and more to
# start under TCG.
prometheus_scrapes() {
	local deadline=$((SECONDS + 120)) want got
	want="kmqtt_listener_connections_attached_total{listener=\"$listener\",job=\"kmqtt\"}"
	cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: kmqtt
    static_configs:
      - targets: ['127.0.0.1:$metrics_port']
EOF
	prometheus --config.file="$work/prometheus.yml" \
		--storage.tsdb.path="$work/tsdb" \
		--web.listen-address="127.0.0.1:$prom_port" \
		>"$work/prometheus.log" 2>&1 &
	prom_pid=$!
	while [ $SECONDS -lt $deadline ]; do
		got=$(query "$want")
		[ "$got" = 8 ] && [ "$(query 'up{job="kmqtt"}')" = 1 ] &&
			[ "$(query kmqtt_connections_open)" = $((base_open + 3)) ] &&
			return 0
		kill -0 "$prom_pid" 2>/dev/null || break
		sleep 1
	done
	echo "Prometheus answered \"$got\" for $want, not 8; its log:"
	tail -20 "$work/prometheus.log"
	return 1
}

# SIGHUP with another port: the new one answers, the old one is closed;
# then without the directive neither answers.
reload() {
	local old=$metrics_port
	metrics_port=$(kmqttd_free_port)
	write_conf "metrics_listener $metrics_port"
	kill -HUP "$kmqttd_pid"
	wait_log "kmqttd: metrics on http://127.0.0.1:$metrics_port/metrics" ||
		return 1
	wait_value kmqtt_module_up 1 || return 1
	if scrape "$old" >/dev/null 2>&1; then
		echo "port $old still answers after the reload"
		return 1
	fi
	write_conf ""
	kill -HUP "$kmqttd_pid"
	local deadline=$((SECONDS + 30))
	while scrape >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] ||
			{ echo "port $metrics_port still answers"; return 1; }
		sleep 0.2
	done
	# kmqttd goes on serving MQTT.
	mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t metrics/t -m after
}

tests=(endpoint subscribers publishes refused promtool_check http_errors
	prometheus_scrapes reload)
tap_plan ${#tests[@]}
write_conf "metrics_listener $metrics_port"
if ! kmqttd_start "$conf" "$work/kmqttd.log" 1 ||
	! wait_log "kmqttd: metrics on http://127.0.0.1:$metrics_port/metrics"; then
	for t in "${tests[@]}"; do
		tap_check "$t (kmqttd did not start)" false
	done
	tap_done
fi
tap_check "GET /metrics: 200, the 0.0.4 content type, Connection: close" endpoint
tap_check "3 subscribers: connections open, the listener's accepted and attached" \
	subscribers
tap_check "5 publishes to 3 subscribers: messages received and sent" publishes
tap_check "a CONNECT refused with CONNACK 1 counted by reason" refused
tap_check "promtool check metrics passes on a scrape" promtool_check
tap_check "GET / answers 404, POST /metrics 405" http_errors
tap_check "a Prometheus server scrapes kmqttd and its query API shows the connections" \
	prometheus_scrapes
tap_check "SIGHUP moves the endpoint to another port, then closes it" reload
tap_done
