#!/bin/bash
# gwengine send of N (default 200) messages, one process each, over STARTTLS +
# AUTH PLAIN and over implicit TLS + AUTH PLAIN, against msmtp sending the same
# messages to the same servers (tests/servers/smtpd.py) in the same run.
#
# Target: gwengine at least 8x msmtp's message rate with TLS.  Speed is
# reported, never asserted: the script fails only when a send fails or a
# server did not store exactly the messages sent.
#
#   BUILD=build-release bash bench/send.sh      (what ./run bench does)
#   N=20 bash bench/send.sh                     (a quick run)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-release}
N=${N:-200}
PY=/usr/bin/python3
GWENGINE=$PWD/$BUILD/engine/gwengine
GWADMIN=$PWD/$BUILD/tui/gwadmin
MSMTP=$(command -v msmtp || echo /usr/bin/msmtp)
USER_=bench
PASS_='s3cret-bench'

for tool in "$GWENGINE" "$GWADMIN" "$PY" "$MSMTP" "$(command -v certtool || echo certtool)"; do
	[ -x "$tool" ] || { echo "send.sh: $tool is missing (./run bench builds and installs)" >&2; exit 1; }
done

source bench/lib.bash
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwsmtp-bench-send.XXXXXX")
cleanup() {
	stop_servers
	rm -rf "$tmp"
}
trap cleanup EXIT

bash tests/servers/make_certs.sh "$tmp/pki"

# server MODE: starts smtpd.py in MODE with AUTH, maildir $tmp/MODE.mail;
# sets port_MODE once it has printed "PORT n".
server() {
	local mode=$1 line
	mkfifo "$tmp/$mode.fifo"
	$PY tests/servers/smtpd.py --port 0 --mode "$mode" \
		--cert "$tmp/pki/good.pem" --key "$tmp/pki/good-key.pem" \
		--auth --user "$USER_" --password "$PASS_" \
		--maildir "$tmp/$mode.mail" \
		>"$tmp/$mode.fifo" 2>"$tmp/$mode.err" &
	pids+=($!)
	if ! read -r -t 30 line <"$tmp/$mode.fifo" || [[ $line != "PORT "* ]]; then
		cat "$tmp/$mode.err" >&2
		fail "smtpd.py --mode $mode did not start"
	fi
	printf -v "port_$mode" '%s' "${line#PORT }"
}
server starttls
server implicit

# stored MODE: how many messages the MODE server has stored.
stored() {
	find "$tmp/$1.mail" -name '*.eml' | wc -l
}

# The body: ~1 KiB of text, the same for every message and both programs.
$PY - "$tmp/body.txt" <<'PY'
import sys
line = "The quick brown fox jumps over the lazy dog, again and again. 0123456789\n"
open(sys.argv[1], "w").write(line * 14)          # 14 * 73 = 1022 bytes
PY

# gwengine: one database, a profile per mode.
db=$tmp/gw.db
"$GWADMIN" --db "$db" set bench-starttls host=127.0.0.1 port="$port_starttls" \
	tls=explicit ca_file="$tmp/pki/ca.pem" auth=plain username="$USER_" \
	from=a@example.com to=b@example.com --password-stdin <<<"$PASS_" >/dev/null
"$GWADMIN" --db "$db" set bench-implicit host=127.0.0.1 port="$port_implicit" \
	tls=implicit ca_file="$tmp/pki/ca.pem" auth=plain username="$USER_" \
	from=a@example.com to=b@example.com --password-stdin <<<"$PASS_" >/dev/null

# msmtp: an rc file with an account per mode, and a whole message (msmtp
# sends what it is given; gwengine builds the header itself).
rc=$tmp/msmtprc
(umask 077; cat >"$rc") <<EOF
defaults
auth plain
user $USER_
password $PASS_
from a@example.com
host 127.0.0.1
tls on
tls_trust_file $tmp/pki/ca.pem
syslog off

account bench-starttls
port $port_starttls
tls_starttls on

account bench-implicit
port $port_implicit
tls_starttls off
EOF
chmod 600 "$rc"
{
	printf 'From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\n'
	printf 'Date: %s\r\nMessage-ID: <bench.%s@example.com>\r\n' \
		"$(date -R)" "$$"
	printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
	sed 's/$/\r/' "$tmp/body.txt"
} >"$tmp/message.eml"

gw_send() {
	"$GWENGINE" --db "$db" send --profile "bench-$1" --from a@example.com \
		--to b@example.com --subject bench <"$tmp/body.txt" 2>>"$tmp/gw.log"
}
ms_send() {
	"$MSMTP" -C "$rc" -a "bench-$1" b@example.com <"$tmp/message.eml" 2>>"$tmp/ms.log"
}

# run PROG MODE: one untimed warm-up send, then N timed sends, one process
# each; checks the server stored N+1 more messages.  Appends each send's wall
# time to $tmp/PROG_MODE.times and the loop's total to $tmp/PROG_MODE.total.
run() {
	local prog=$1 mode=$2 before t0 t1 a b i who
	who=$([ "$prog" = gw ] && echo gwengine || echo msmtp)
	before=$(stored "$mode")
	"${prog}_send" "$mode" || fail "$who ($mode): warm-up send failed:
$(tail -n 5 "$tmp/$prog.log")"
	t0=$EPOCHREALTIME
	for ((i = 0; i < N; i++)); do
		a=$EPOCHREALTIME
		"${prog}_send" "$mode" || fail "$who ($mode): send $((i + 1)) failed:
$(tail -n 5 "$tmp/$prog.log")"
		b=$EPOCHREALTIME
		echo "$a $b" >>"$tmp/${prog}_$mode.times"
	done
	t1=$EPOCHREALTIME
	echo "$t0 $t1" >"$tmp/${prog}_$mode.total"
	local got=$(( $(stored "$mode") - before ))
	[ "$got" -eq $((N + 1)) ] ||
		fail "$who ($mode): the server stored $got messages, not $((N + 1))"
}

echo "sending $N messages per program and mode, one process each..."
for mode in starttls implicit; do
	run gw "$mode"
	run ms "$mode"
done

$PY - "$tmp" "$N" "$(nproc)" "$(wc -c <"$tmp/message.eml")" <<'PY'
import os, statistics, sys
tmp, n, cores, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
met = lambda ok: "met" if ok else "NOT met"

def total(label):                       # seconds for the N sends
    a, b = open(os.path.join(tmp, label + ".total")).read().split()
    return float(b) - float(a)

def median_ms(label):                   # median of one send's wall time
    return 1000 * statistics.median(
        float(b) - float(a) for a, b in
        (l.split() for l in open(os.path.join(tmp, label + ".times"))))

print()
print("gwengine send vs msmtp: %d messages each (msmtp's ~%d bytes; the same body), one"
      % (n, size))
print("process per message, sequential, to tests/servers/smtpd.py (aiosmtpd); %d cores" % cores)
print("  mode                   gwengine msg/s  msmtp msg/s   ratio  target >= 8x")
for mode, name in (("starttls", "STARTTLS + AUTH PLAIN "), ("implicit", "implicit TLS + PLAIN  ")):
    g, m = total("gw_" + mode), total("ms_" + mode)
    print("  %s %14.1f  %11.1f  %5.2fx  %s" % (name, n / g, n / m, m / g, met(m / g >= 8)))
for prog, label in (("gw", "gwengine"), ("ms", "msmtp")):
    print("  %-8s ms per message, mean (median): STARTTLS %.1f (%.1f), implicit %.1f (%.1f)"
          % (label, 1000 * total(prog + "_starttls") / n, median_ms(prog + "_starttls"),
             1000 * total(prog + "_implicit") / n, median_ms(prog + "_implicit")))
for mode, name in (("starttls", "STARTTLS"), ("implicit", "implicit")):
    rate = n / total("ms_" + mode)
    if not 5 <= rate <= 20:
        print("  note: msmtp (%s) ran at %.0f msg/s, far from the issue's anchor of"
              " ~10 msg/s (bench/README.md explains)" % (name, rate))
PY
