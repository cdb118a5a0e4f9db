#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# MQTT over WebSockets from a real browser (issue 15).  The broker under
# test (kmqttd, or Debian's Mosquitto with KMQTT_TEST_BROKER=mosquitto)
# gets a configuration in Mosquitto's spelling: a plain listener, and two
# with `protocol websockets`, the second with `certfile` and `keyfile`.
# browser/checks.py has headless Chromium load browser/page.html, where
# MQTT.js's browser bundle subscribes and publishes over ws:// and wss://
# while mosquitto_pub and mosquitto_sub do over TCP: both ways, at QoS 0
# and 1, and 200 KB.  Chromium trusts the test CA ($KMQTT_TEST_CERTS,
# selftests/certs/mkcerts.sh; build/test-certs by default) as a user
# would: through the NSS database of a HOME of its own.
#
# kmqttd needs kmqtt.ko: tools/vm/run -- selftests/interop/browser.sh,
# where it runs in a network namespace of its own.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
root=$(cd "$here/../.." && pwd)
# shellcheck source=selftests/lib/kmqttd.sh
. "$here/../lib/kmqttd.sh"

kmqttd_own_netns browser "$0" "$@"

broker=${KMQTT_TEST_BROKER:-kmqttd}
certs=${KMQTT_TEST_CERTS:-$root/build/test-certs}
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-browser.XXXXXX")
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	kmqttd_stop
	[ -n "${KMQTT_TEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

checks() {
	HOME=$work/home /usr/bin/python3 "$here/browser/checks.py" \
		--work "$work" "$@"
}

if [ "$broker" = kmqttd ] && [ ! -d /sys/module/kmqtt ]; then
	echo "1..0 # SKIP kmqtt.ko not loaded"
	exit 0
fi
for f in "$here/node_modules/mqtt/dist/mqtt.min.js" \
	"$certs/ca.pem" "$certs/server.pem" "$certs/server.key"; do
	[ -e "$f" ] && continue
	checks --fail-all "$f is missing (make deps; make -C agent certs)"
	exit 1
done

# Chromium's trust store on Linux: a CA in the NSS database of $HOME,
# trusted to issue server certificates (C).
mkdir -p "$work/home/.pki/nssdb"
if ! out=$(certutil -N -d "sql:$work/home/.pki/nssdb" --empty-password 2>&1 &&
	certutil -A -d "sql:$work/home/.pki/nssdb" -n "kmqtt test CA" \
		-t C,, -i "$certs/ca.pem" 2>&1); then
	checks --fail-all "certutil: $out"
	exit 1
fi

tcp=$(kmqttd_free_port)
ws=$(kmqttd_free_port)
wss=$(kmqttd_free_port)
# Mosquitto runs as root to read the key (mkcerts.sh makes it 0600);
# kmqttd ignores "user".
cat >"$work/broker.conf" <<EOF
user root
allow_anonymous true
listener $tcp 127.0.0.1
listener $ws 127.0.0.1
protocol websockets
listener $wss 127.0.0.1
protocol websockets
certfile $certs/server.pem
keyfile $certs/server.key
EOF
if ! test_broker_start "$work/broker.conf" "$work/broker.log" 3; then
	# Its last line but warnings says why, e.g. that kmqttd refused a
	# line of the configuration.
	checks --fail-all "$broker did not start: $(grep -v Warning: \
		"$work/broker.log" | tail -n 1)"
	exit 1
fi

status=0
checks --tcp "$tcp" --ws "$ws" --wss "$wss" || status=1
if [ $status != 0 ]; then
	echo "# the broker's log:"
	sed 's/^/#   /' "$work/broker.log"
fi
exit $status
