#!/bin/bash
# tests/servers/make_certs.sh DIR: the test PKI, made with certtool (GnuTLS).
#
# Creates in DIR (made if missing), each file only if it is absent, so a
# second run is a no-op and a half-made DIR is completed:
#   ca.pem, ca-key.pem              the test CA (give this to the client)
#   good.pem, good-key.pem          by ca; SAN localhost, 127.0.0.1, ::1; valid now
#   expired.pem, expired-key.pem    by ca; valid 2020-01-01 .. 2021-01-01
#   notyet.pem, notyet-key.pem      by ca; valid from 1 January next year
#   wronghost.pem, wronghost-key.pem by ca; SAN wrong.example only
#   selfsigned.pem, selfsigned-key.pem  self-signed; SAN localhost, 127.0.0.1, ::1
#   other-ca.pem, other-ca-key.pem  a second CA, never given to the client
#   untrusted.pem, untrusted-key.pem by other-ca; SAN localhost, 127.0.0.1, ::1
#   chain-NAME.pem                  NAME.pem followed by NAME-key.pem, for
#                                   servers that want one file (good, expired,
#                                   notyet, wronghost, selfsigned, untrusted)
# Keys are ECDSA P-256 (fast).  Prints nothing on success; on failure prints
# certtool's output to stderr and exits non-zero.  It is not a general PKI
# tool: the validity periods are fixed for the tests' needs.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 64
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/make_certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Runs certtool quietly; shows its output only if it fails.
ct() {
	if ! certtool "$@" >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		exit 1
	fi
}

# key NAME: NAME-key.pem, written atomically.
key() {
	[ -s "$1-key.pem" ] && return 0
	ct --generate-privkey --key-type=ecdsa --curve=secp256r1 --no-text \
		--outfile "$tmp/$1-key.pem"
	mv "$tmp/$1-key.pem" "$1-key.pem"
}

next_year=$(( $(date -u +%Y) + 1 ))
# The CAs start before the expired leaf so only the leaf's own dates matter.
ca_dates='activation_date = "2019-01-01 00:00:00"
expiration_date = "2049-12-31 00:00:00"'
# A day back, so a clock a little behind still finds the "valid now" ones valid.
now_dates="activation_date = \"$(date -u -d '1 day ago' '+%Y-%m-%d %H:%M:%S')\"
expiration_date = \"$(date -u -d '+10 years' '+%Y-%m-%d %H:%M:%S')\""
local_names='dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"'

# ca NAME CN: a self-signed CA certificate.
ca() {
	key "$1"
	[ -s "$1.pem" ] && return 0
	cat >"$tmp/$1.tmpl" <<-T
	cn = "$2"
	organization = "gwsmtp tests"
	$ca_dates
	ca
	cert_signing_key
	crl_signing_key
	T
	ct --generate-self-signed --no-text --load-privkey "$1-key.pem" \
		--template "$tmp/$1.tmpl" --outfile "$tmp/$1.pem"
	mv "$tmp/$1.pem" "$1.pem"
}

# leaf NAME ISSUER DATES NAMES: a TLS server certificate; ISSUER "self" for
# a self-signed one.
leaf() {
	key "$1"
	if [ ! -s "$1.pem" ]; then
		cat >"$tmp/$1.tmpl" <<-T
		cn = "$1 test server"
		organization = "gwsmtp tests"
		$3
		$4
		signing_key
		tls_www_server
		T
		if [ "$2" = self ]; then
			ct --generate-self-signed --no-text --load-privkey "$1-key.pem" \
				--template "$tmp/$1.tmpl" --outfile "$tmp/$1.pem"
		else
			ct --generate-certificate --no-text --load-privkey "$1-key.pem" \
				--load-ca-certificate "$2.pem" \
				--load-ca-privkey "$2-key.pem" \
				--template "$tmp/$1.tmpl" --outfile "$tmp/$1.pem"
		fi
		mv "$tmp/$1.pem" "$1.pem"
	fi
	if [ ! -s "chain-$1.pem" ]; then
		cat "$1.pem" "$1-key.pem" >"$tmp/chain-$1.pem"
		mv "$tmp/chain-$1.pem" "chain-$1.pem"
	fi
}

umask 077
ca ca "gwsmtp test CA"
ca other-ca "gwsmtp other CA"
leaf good ca "$now_dates" "$local_names"
leaf expired ca 'activation_date = "2020-01-01 00:00:00"
expiration_date = "2021-01-01 00:00:00"' "$local_names"
leaf notyet ca "activation_date = \"$next_year-01-01 00:00:00\"
expiration_date = \"$((next_year + 5))-01-01 00:00:00\"" "$local_names"
leaf wronghost ca "$now_dates" 'dns_name = "wrong.example"'
leaf selfsigned self "$now_dates" "$local_names"
leaf untrusted other-ca "$now_dates" "$local_names"
