#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Password file, allow_anonymous and ACL file of kmqttd against kmqtt.ko:
# CONNACK codes (Mosquitto 2.0's), what the log says, the ACL enforced by
# the module on PUBLISH, delivery and SUBSCRIBE (%c and %u patterns), a
# reload changing the rules of a connected client, client certificates as
# identities (use_identity_as_username, use_subject_as_username) and
# revoked (crlfile), and configuration errors (FILE:LINE, exit status 3).
# Needs $KMQTT_TEST_CERTS (selftests/certs/mkcerts.sh) for the TLS cases.
# dropin.sh compares the same behaviours with Mosquitto's.  Prints TAP.

here=$(dirname "$(readlink -f "$0")")
root=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/kmqttd.sh"

certs=${KMQTT_TEST_CERTS:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/kmqtt-auth.XXXXXX")
trap 'kmqttd_stop; rm -rf "$work"' EXIT
log=$work/kmqttd.log
kmqttd=${KMQTTD:-$root/agent/kmqttd}
py() { timeout 60 /usr/bin/python3 "$here/secure_client.py" "$@"; }
alice=(--user alice --password 'alice pw')

# kmqttd -c on a file with LINES must exit 3 and name FILE:LINE.
config_error() { # LINE EXPECTED_TEXT CONFIG_LINES...
	local line=$1 text=$2 conf=$work/bad.conf status=0 out
	shift 2
	printf '%s\n' "$@" >"$conf"
	out=$(timeout 30 "$kmqttd" -c "$conf" 2>&1) || status=$?
	echo "status $status: $out"
	[ $status = 3 ] || return 1
	case $out in
	"kmqttd: $conf:$line: "*"$text"*) ;;
	*) echo "expected 'kmqttd: $conf:$line: ...$text...'"; return 1 ;;
	esac
}

# The refusals are logged with user and address, the password never.
refusals_logged() {
	grep "Refusing connection" "$log"
	grep -q "Refusing connection from 127.0.0.1:[0-9]*: bad username or password (user 'alice'" "$log" &&
		grep -q "Refusing connection from 127.0.0.1:[0-9]*: bad username or password (user 'mallory'" "$log" &&
		grep -q "Refusing connection from 127.0.0.1:[0-9]*: anonymous clients are not allowed" "$log" &&
		! grep -e 'wrong pw' -e 'alice pw' "$log"
}

acl_denied_counted() {
	local n
	n=$("$root/tools/kmqttctl/kmqttctl" show --json |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["acl_denied"])')
	echo "acl_denied $n"
	[ "$n" -ge 3 ]
}

# The module keeps the user name with the session (KMQTT_A_USERNAME): it is
# what a restarted kmqttd compiles the session's rules for.
session_keeps_username() {
	mosquitto_sub -p 1883 -u alice -P 'alice pw' -i named-session -c \
		-t a/x -E || return 1
	"$root/tools/kmqttctl/kmqttctl" show --json |
		/usr/bin/python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin)["sessions"]
     if s["client_id"] == "named-session"]
print("# sessions named-session:", s)
sys.exit(not (len(s) == 1 and s[0].get("username") == "alice" and
              not s[0]["online"]))'
}

reload_live() {
	cat >"$work/acl.new" <<ACL
user alice
topic deny a/live
topic readwrite a/#
ACL
	py "${alice[@]}" --client-id live reload --topic a/live \
		--sentinel a/end --acl "$work/acl" --new-acl "$work/acl.new" \
		--pid "$kmqttd_pid" --log "$log" --reloaded "Access rules sent to"
}

# The client certificate's subject is the user name, as Mosquitto prints it.
subject_is_username() {
	local subject
	subject=$(cat "$certs/subject.rfc2253")
	py --port 8886 --cafile "$certs/ca.pem" --cert "$certs/subject.pem" \
		--key "$certs/subject.key" --client-id by-subject \
		connack --expect 0 || return 1
	grep "as by-subject" "$log"
	grep -qF "as by-subject (p2, c1, k30, u'$subject', kernel TLS)" "$log"
}

tap_plan 35
mosquitto_passwd -c -b "$work/pw" alice 'alice pw' >/dev/null
mosquitto_passwd -b "$work/pw" bob 'bob pw' >/dev/null
cat >"$work/acl" <<ACL
user alice
topic readwrite a/#
topic read ro/#
topic deny a/secret/#
user bob
topic readwrite b/#
# every client: its own subtree by client id, a read-only one by username
pattern readwrite c/%c/#
pattern read u/%u/#
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
CONF
if ! kmqttd_start "$work/kmqttd.conf" "$log" 2; then
	for i in $(seq 16); do tap_check "setup (kmqttd did not start)" false; done
else
	tap_check "right password: CONNACK 0" py "${alice[@]}" connack --expect 0
	tap_check "wrong password: CONNACK 5 (not authorised, as Mosquitto 2.0), closed" \
		py --user alice --password 'wrong pw' connack --expect 5
	tap_check "unknown user: CONNACK 5, closed" \
		py --user mallory --password 'alice pw' connack --expect 5
	tap_check "user name without password: CONNACK 5, closed" \
		py --user alice connack --expect 5
	tap_check "password without user name: closed without CONNACK" \
		py --password 'alice pw' connack --expect closed
	tap_check "anonymous with allow_anonymous false: CONNACK 5 (not authorized), closed" \
		py connack --expect 5
	tap_check "wrong password over TLS: CONNACK 5 in a TLS record, closed" \
		py --port 8883 --cafile "$certs/ca.pem" --user alice \
		--password 'wrong pw' connack --expect 5
	tap_check "log names user and address of each refusal, never a password" \
		refusals_logged
	tap_check "ACL: PUBLISH to read-only ro/x and denied a/secret/x dropped, a/ok delivered" \
		py "${alice[@]}" route --subscribe a/# --subscribe ro/# \
		--publish ro/x --publish a/secret/x --publish a/ok \
		--sentinel a/end --expect a/ok
	tap_check "ACL: SUBSCRIBE b/# (no read rule) and a/secret/# (deny covers) get 0x80" \
		py "${alice[@]}" suback --filter a/# --filter ro/# --filter b/# \
		--filter a/secret/# --expect 1 --expect 1 --expect 0x80 --expect 0x80
	tap_check "ACL: user sections apart: bob gets b/#, not a/#" \
		py --user bob --password 'bob pw' suback --filter b/# --filter a/# \
		--expect 1 --expect 0x80
	tap_check "ACL pattern %c: client dev1 may use c/dev1/#, not c/dev2/#" \
		py "${alice[@]}" --client-id dev1 suback --filter c/dev1/# \
		--filter c/dev2/# --expect 1 --expect 0x80
	tap_check "ACL pattern %u: alice reads u/alice/#, may not publish there or read u/bob/#" \
		py "${alice[@]}" route --subscribe u/alice/# --subscribe a/end \
		--publish u/alice/x --sentinel a/end
	tap_check "ACL refusals counted in kmqttctl show (acl_denied)" \
		acl_denied_counted
	tap_check "offline session keeps its user name (kmqttctl show)" \
		session_keeps_username
	tap_check "SIGHUP with a new ACL file: a connected client loses a/live" \
		reload_live
fi
kmqttd_stop

# Client certificates: revoked, or the identity the client is known by.
tls_listener() { # PORT
	printf 'listener %s 127.0.0.1\ncertfile %s\nkeyfile %s\ncafile %s\n' \
		"$1" "$certs/server.pem" "$certs/server.key" "$certs/ca.pem"
}
{
	echo "allow_anonymous false"
	echo "password_file $work/pw"
	echo "log_type all"
	tls_listener 8883
	echo "require_certificate true"
	echo "crlfile $certs/crl.pem"
	echo "use_identity_as_username true"
	tls_listener 8884
	echo "use_identity_as_username true"
	tls_listener 8885
	echo "require_certificate true"
	echo "use_identity_as_username true"
	tls_listener 8886
	echo "require_certificate true"
	echo "use_subject_as_username true"
} >"$work/certs.conf"
tls_py() { # PORT CERT ARGS...
	local port=$1 cert=$2
	shift 2
	py --port "$port" --cafile "$certs/ca.pem" --cert "$certs/$cert.pem" \
		--key "$certs/$cert.key" "$@"
}
if ! kmqttd_start "$work/certs.conf" "$log" 4; then
	for i in $(seq 6); do tap_check "setup (kmqttd did not start)" false; done
else
	tap_check "crlfile: a certificate it does not revoke: CONNACK 0" \
		tls_py 8883 client1 connack --expect 0
	tap_check "crlfile: a revoked certificate fails the TLS handshake" \
		tls_py 8883 revoked connack --expect closed
	tap_check "use_identity_as_username without require_certificate: CONNACK 4 (as Mosquitto)" \
		py --port 8884 --cafile "$certs/ca.pem" "${alice[@]}" \
		connack --expect 4
	tap_check "use_identity_as_username, certificate without CN: CONNACK 4" \
		tls_py 8885 nocn connack --expect 4
	tap_check "use_identity_as_username: the CN is the user, no password asked" \
		tls_py 8885 client1 connack --expect 0
	tap_check "use_subject_as_username: the subject (RFC 2253) is the user" \
		subject_is_username
fi
kmqttd_stop

# Configuration errors: each bad directive names its FILE:LINE, exit 3.
printf 'alice:$7$101$notbase64!$x\n' >"$work/pw.bad"
printf 'user alice\ntopic sideways a/#\n' >"$work/acl.bad"
tap_check "password_file that does not exist" config_error 2 "password_file:" \
	"listener 18990 127.0.0.1" "password_file $work/nonexistent"
tap_check "password_file with a malformed line (names that line too)" \
	config_error 2 "password_file: $work/pw.bad:1:" \
	"listener 18990 127.0.0.1" "password_file $work/pw.bad"
tap_check "acl_file that does not exist" config_error 1 "acl_file:" \
	"acl_file $work/nonexistent" "listener 18990 127.0.0.1"
tap_check "acl_file with a malformed line (names that line too)" \
	config_error 1 "acl_file: $work/acl.bad:2:" \
	"acl_file $work/acl.bad" "listener 18990 127.0.0.1"
tap_check "certfile that does not exist" config_error 2 "certfile" \
	"allow_anonymous true" "listener 18990 127.0.0.1" \
	"certfile $work/nonexistent.pem" "keyfile $certs/server.key"
tap_check "keyfile that does not match the certfile" config_error 1 "keyfile" \
	"listener 18990 127.0.0.1" "certfile $certs/server.pem" \
	"keyfile $certs/client1.key"
tap_check "cafile that does not exist" config_error 1 "cafile" \
	"listener 18990 127.0.0.1" "certfile $certs/server.pem" \
	"keyfile $certs/server.key" "cafile $work/nonexistent.pem"
tap_check "certfile without keyfile" config_error 1 "certfile without keyfile" \
	"listener 18990 127.0.0.1" "certfile $certs/server.pem"
tap_check "require_certificate without cafile" config_error 1 \
	"require_certificate needs a cafile" "listener 18990 127.0.0.1" \
	"certfile $certs/server.pem" "keyfile $certs/server.key" \
	"require_certificate true"
tap_check "crlfile that does not exist" config_error 1 "crlfile" \
	"listener 18990 127.0.0.1" "certfile $certs/server.pem" \
	"keyfile $certs/server.key" "cafile $certs/ca.pem" \
	"require_certificate true" "crlfile $work/nonexistent.pem"
tap_check "per_listener_settings true after a security setting" \
	config_error 3 "per_listener_settings true must come before" \
	"listener 18990 127.0.0.1" "allow_anonymous true" \
	"per_listener_settings true"
tap_check "mount_point with a wildcard" config_error 2 \
	"a topic prefix cannot contain + or #" \
	"listener 18990 127.0.0.1" "mount_point a/+/"
tap_check "tls_version (not supported) refused" config_error 3 \
	"tls_version is not supported" "listener 18990 127.0.0.1" \
	"certfile $certs/server.pem" "tls_version tlsv1.2"
tap_done
