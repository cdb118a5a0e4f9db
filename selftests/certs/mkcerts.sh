#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# usage: mkcerts.sh DIR
#
# Make throwaway test certificates in DIR (created if missing) with the
# openssl command line tool.  Keys are generated at test time and never
# committed.  All keys are RSA 2048 without a passphrase.
#
#   ca.pem ca.key                 test CA
#   server.pem server.key         CN localhost, SAN DNS:localhost and
#                                 IP:127.0.0.1, signed by the CA
#   client1.pem client1.key       CN client1, signed by the CA
#   expired.pem expired.key       CN expired, signed by the CA, valid only
#                                 in 2000
#   untrusted.pem untrusted.key   CN client1, signed by another CA
#   untrusted-ca.pem untrusted-ca.key  that other CA
#   revoked.pem revoked.key       CN revoked, signed by the CA, revoked
#   crl.pem                       the CA's revocation list: revokes revoked.pem
#   nocn.pem nocn.key             no common name (O and OU only), signed by
#                                 the CA
#   subject.pem subject.key       a subject that needs RFC 2253 escaping,
#                                 two CNs; its RFC 2253 form is in
#                                 subject.rfc2253 (what use_subject_as_username
#                                 makes of it)

set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
cd "$dir"
work=$(mktemp -d mkcerts.XXXXXX)
trap 'rm -rf "$work"' EXIT

key() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$1" 2>/dev/null
	chmod 600 "$1"
}

self_signed_ca() { # NAME CN
	key "$1.key"
	openssl req -new -x509 -key "$1.key" -out "$1.pem" -days 3650 \
		-subj "/O=kmqtt test/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}

csr() { # NAME CN [SUBJECT]
	key "$1.key"
	openssl req -new -key "$1.key" -out "$work/$1.csr" -utf8 \
		-subj "${3:-/O=kmqtt test/CN=$2}"
}

sign() { # NAME CA EXTENSIONS
	printf '%s\n' "$3" >"$work/$1.ext"
	openssl x509 -req -in "$work/$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -CAserial "$work/$2.srl" -days 3650 \
		-extfile "$work/$1.ext" -out "$1.pem" 2>/dev/null
}

client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

self_signed_ca ca "kmqtt test CA"
self_signed_ca untrusted-ca "kmqtt untrusted CA"

csr server localhost
sign server ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"

csr client1 client1
sign client1 ca "$client_ext"

csr untrusted client1
sign untrusted untrusted-ca "$client_ext"

csr nocn - "/O=kmqtt test/OU=no common name"
sign nocn ca "$client_ext"

# Characters RFC 2253 escapes (, + " \ < > ;), a leading #, UTF-8, and
# the CN twice: use_identity_as_username takes the first ("first").
csr subject - "/C=GB/O=Ex\\+ample, Inc./CN=first/CN=jos$(printf '\303\251') \"q\";<x>#"
sign subject ca "$client_ext"
printf '%s\n' 'CN=jos\C3\A9 \"q\"\;\<x\>#,CN=first,O=Ex\+ample\, Inc.,C=GB' \
	>subject.rfc2253

# openssl x509 cannot back-date a certificate in OpenSSL 3.0: openssl ca can.
# The CA's database also makes the revocation list.
csr expired expired
mkdir "$work/db"
: >"$work/db/index.txt"
echo 01 >"$work/db/serial"
echo 01 >"$work/db/crlnumber"
cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = $work/db/index.txt
serial = $work/db/serial
crlnumber = $work/db/crlnumber
new_certs_dir = $work/db
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = any
copy_extensions = none
x509_extensions = client_ext
[any]
organizationName = optional
commonName = supplied
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
CNF
openssl ca -batch -notext -config "$work/ca.cnf" -in "$work/expired.csr" \
	-startdate 20000101000000Z -enddate 20001231000000Z \
	-out expired.pem 2>/dev/null

csr revoked revoked
openssl ca -batch -notext -config "$work/ca.cnf" -in "$work/revoked.csr" \
	-out revoked.pem 2>/dev/null
openssl ca -config "$work/ca.cnf" -revoke revoked.pem 2>/dev/null
openssl ca -config "$work/ca.cnf" -gencrl -out crl.pem 2>/dev/null

openssl verify -CAfile ca.pem server.pem client1.pem nocn.pem subject.pem \
	revoked.pem >/dev/null
openssl verify -crl_check -CAfile ca.pem -CRLfile crl.pem client1.pem >/dev/null
! openssl verify -crl_check -CAfile ca.pem -CRLfile crl.pem revoked.pem \
	>/dev/null 2>&1
