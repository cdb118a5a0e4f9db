#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TLS listeners of kmqttd with real clients: mosquitto_pub/sub, MQTT.js and
# Paho over TLS 1.2 and 1.3, client certificates, and proof that the
# connections run on kernel TLS (kmqttctl) with ciphertext on the wire (a
# loopback capture).  Needs root (AF_PACKET), tls.ko and the certificates
# of selftests/certs/mkcerts.sh in $KMQTT_TEST_CERTS.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
. "$here/../lib/tap.sh"
. "$here/../lib/kmqttd.sh"
. "$here/../lib/stop.sh"

certs=${KMQTT_TEST_CERTS:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-tls.XXXXXX")
trap 'kmqttd_stop; kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
log=$work/kmqttd.log
py() { timeout 60 /usr/bin/python3 "$here/secure_client.py" "$@"; }

# OpenSSL configuration capping a client at TLS 1.2: mosquitto's clients
# treat --tls-version as a minimum.
cat >"$work/tls12.cnf" <<CNF
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = tls12
[tls12]
MaxProtocol = TLSv1.2
CNF

tls_opts=(-h localhost -p 8883 --cafile "$certs/ca.pem" -u alice -P 'tls secret')
cert_opts=(-h localhost -p 8884 --cafile "$certs/ca.pem")

# mosquitto_sub OPTS... -- mosquitto_pub OPTS...: one message arrives, in
# $work/got.  The publisher repeats until the subscriber has it (no SUBACK
# signal).
transfer() {
	local sub=() pub=() pid
	while [ "$1" != -- ]; do sub+=("$1"); shift; done
	shift
	pub=("$@")
	mosquitto_sub "${sub[@]}" -C 1 -N -W 30 >"$work/got" &
	pid=$!
	for _ in $(seq 60); do
		kill -0 $pid 2>/dev/null || break
		mosquitto_pub "${pub[@]}" || return 1
		sleep 0.5
	done
	wait $pid || { echo "mosquitto_sub failed"; return 1; }
}

# The same with a short message, which must come out as it went in.
sub_pub() {
	transfer "$@" -m tls-payload || return 1
	grep -qx tls-payload "$work/got" || { cat "$work/got"; return 1; }
}

# Messages sent from their own pages so far (kmqttctl's tx_zerocopy).
zerocopy_total() {
	"$here/../../tools/kmqttctl/kmqttctl" show --json |
		/usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["stats"]["tx_zerocopy"])'
}

# A payload of zerocopy_min (16 KiB) or more goes out from the message's
# pages, many of them in one call: over kernel TLS it arrives intact, and
# tx_zerocopy says it took that path.
large_over_tls() { # MOSQUITTO_OPTS...
	local before after
	head -c 300007 /dev/urandom >"$work/large"
	before=$(zerocopy_total) || return 1
	transfer "${tls_opts[@]}" "$@" -t large -- \
		"${tls_opts[@]}" "$@" -t large -f "$work/large" || return 1
	cmp "$work/large" "$work/got" || return 1
	after=$(zerocopy_total) || return 1
	echo "tx_zerocopy $before -> $after"
	[ "$after" -gt "$before" ]
}

large_tls13() {
	local before
	before=$(log_count "done: TLSv1.3")
	large_over_tls --tls-version tlsv1.3 &&
		handshake_logged "done: TLSv1.3" "$before"
}

large_tls12() {
	local before
	before=$(log_count "done: TLSv1.2")
	OPENSSL_CONF=$work/tls12.cnf large_over_tls &&
		handshake_logged "done: TLSv1.2" "$before"
}

# Count of a log text so far, to check what the next connection adds.
log_count() {
	grep -c -- "$1" "$log"
}

handshake_logged() { # TEXT BEFORE
	local now
	now=$(log_count "$1")
	[ "$now" -gt "$2" ] || { echo "kmqttd did not log '$1'"; return 1; }
}

mosquitto_tls13() {
	local before
	before=$(log_count "done: TLSv1.3")
	sub_pub "${tls_opts[@]}" --tls-version tlsv1.3 -t t13 -- \
		"${tls_opts[@]}" --tls-version tlsv1.3 -t t13 &&
		handshake_logged "done: TLSv1.3" "$before"
}

mosquitto_tls12() {
	local before
	before=$(log_count "done: TLSv1.2")
	OPENSSL_CONF=$work/tls12.cnf sub_pub "${tls_opts[@]}" -t t12 -- \
		"${tls_opts[@]}" -t t12 &&
		handshake_logged "done: TLSv1.2" "$before"
}

mosquitto_client_cert() {
	sub_pub "${cert_opts[@]}" --cert "$certs/client1.pem" \
		--key "$certs/client1.key" -t cert/x -- \
		"${cert_opts[@]}" --cert "$certs/client1.pem" \
		--key "$certs/client1.key" -t cert/x
}

# A refused handshake: the client fails and kmqttd logs why.
cert_refused() { # LOG_TEXT CERT_ARGS...
	local text=$1 before
	shift
	before=$(log_count "$text")
	if mosquitto_pub "${cert_opts[@]}" "$@" -t cert/x -m x 2>&1; then
		echo "mosquitto_pub succeeded"
		return 1
	fi
	handshake_logged "$text" "$before"
}

# kmqttctl show --json marks the TLS connection "kernel", the plain one not.
ktls_in_show() {
	local pids=() rc=0
	mosquitto_sub "${tls_opts[@]}" -i tls-viewer -t view -W 60 >/dev/null &
	pids+=($!)
	mosquitto_sub -h localhost -p 1883 -u alice -P 'tls secret' \
		-i plain-viewer -t view -W 60 >/dev/null &
	pids+=($!)
	kmqttd_show_until "$work/show.json" tls-viewer plain-viewer || rc=1
	stop_clients "${pids[@]}"
	[ $rc = 0 ] || return 1
	/usr/bin/python3 - "$work/show.json" <<'PY'
import json, sys
conns = {c["client_id"]: c for c in json.load(open(sys.argv[1]))["connections"]}
print("tls of tls-viewer: %r, of plain-viewer: %r" %
      (conns.get("tls-viewer", {}).get("tls"),
       conns.get("plain-viewer", {}).get("tls")))
sys.exit(0 if conns["tls-viewer"]["tls"] == "kernel" and
         conns["plain-viewer"]["tls"] is None else 1)
PY
}

tls_stat_sane() {
	awk '{ v[$1] = $2 } END {
		print "TlsTxSw " v["TlsTxSw"] ", TlsRxSw " v["TlsRxSw"] ", TlsDecryptError " v["TlsDecryptError"]
		exit !(v["TlsTxSw"] > 0 && v["TlsRxSw"] > 0 && v["TlsDecryptError"] == 0)
	}' /proc/net/tls_stat
}

mqttjs_tls() {
	NODE_PATH=$here/node_modules KMQTT_TEST_CERTS=$certs \
		timeout 60 node "$here/mqttjs-tls.js"
}

tap_plan 17
if [ -z "$certs" ] || [ ! -e "$certs/ca.pem" ]; then
	echo "# KMQTT_TEST_CERTS must name the certificates of selftests/certs/mkcerts.sh"
	for _ in $(seq 17); do tap_check "setup (no certificates)" false; done
	tap_done
fi
mosquitto_passwd -c -b "$work/pw" alice 'tls secret' >/dev/null
cat >"$work/acl" <<ACL
user alice
topic readwrite #
# use_identity_as_username: the certificate's CN
user client1
topic readwrite cert/#
ACL
cat >"$work/kmqttd.conf" <<CONF
allow_anonymous false
password_file $work/pw
acl_file $work/acl
log_type all
listener 1883 127.0.0.1
listener 8883 127.0.0.1
certfile $certs/server.pem
keyfile $certs/server.key
listener 8884 127.0.0.1
certfile $certs/server.pem
keyfile $certs/server.key
cafile $certs/ca.pem
require_certificate true
use_identity_as_username true
CONF
if ! kmqttd_start "$work/kmqttd.conf" "$log" 3; then
	for _ in $(seq 17); do tap_check "setup (kmqttd did not start)" false; done
	tap_done
fi

tap_check "mosquitto_pub/sub --cafile -u/-P over TLS 1.3" mosquitto_tls13
tap_check "mosquitto_pub/sub --cafile -u/-P capped at TLS 1.2" mosquitto_tls12
tap_check "mosquitto_pub/sub with a client certificate (require_certificate)" \
	mosquitto_client_cert
tap_check "use_identity_as_username: CN client1's ACL grants cert/#, not other/#" \
	py --port 8884 --cafile "$certs/ca.pem" --cert "$certs/client1.pem" \
	--key "$certs/client1.key" suback --filter cert/# --filter other/# \
	--expect 1 --expect 0x80
tap_check "expired client certificate refused in the handshake" \
	cert_refused "certificate has expired" --cert "$certs/expired.pem" \
	--key "$certs/expired.key"
tap_check "client certificate of an untrusted CA refused in the handshake" \
	cert_refused "client certificate: unable to get local issuer certificate" \
	--cert "$certs/untrusted.pem" --key "$certs/untrusted.key"
tap_check "no client certificate refused where one is required" \
	cert_refused "TLS handshake with .* failed"
tap_check "300 KB payload from the message's pages over TLS 1.3, intact" \
	large_tls13
tap_check "300 KB payload from the message's pages over TLS 1.2, intact" \
	large_tls12
tap_check "MQTT.js mqtts:// with username and password, CA verified" mqttjs_tls
tap_check "Paho over TLS 1.2" py --port 8883 --cafile "$certs/ca.pem" \
	--tls-version 1.2 --user alice --password 'tls secret' paho-tls
tap_check "Paho over TLS 1.3" py --port 8883 --cafile "$certs/ca.pem" \
	--tls-version 1.3 --user alice --password 'tls secret' paho-tls
tap_check "kmqttctl show --json: tls \"kernel\" for the TLS client, null for plain" \
	ktls_in_show
tap_check "TLS 1.3 on the wire: the payload marker is not in the capture" \
	py --port 8883 --cafile "$certs/ca.pem" --tls-version 1.3 \
	--user alice --password 'tls secret' capture
tap_check "TLS 1.2 on the wire: the payload marker is not in the capture" \
	py --port 8883 --cafile "$certs/ca.pem" --tls-version 1.2 \
	--user alice --password 'tls secret' capture
tap_check "control: on the plain listener the capture finds the marker" \
	py --port 1883 --user alice --password 'tls secret' capture \
	--expect-plaintext
tap_check "/proc/net/tls_stat: kernel TLS both ways, no decrypt error" \
	tls_stat_sane
tap_done
