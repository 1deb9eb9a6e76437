#!/bin/bash
# The menu's speed as an administrator sees it, with 10 and with 10,000
# profiles in the store: start-up to the first full screen, and opening the
# SMTP screen (from Enter on "SMTP" in the MAIL menu to the screen showing
# the profile count and the first profile loaded).
#
# Target: each under 50 ms, and flat in the number of profiles (only what
# is on screen is loaded).  Printed, never asserted: the script fails only
# when the menu does not show what it should.
#
# Measured with tmux: gwadmin runs in a detached tmux pane, and the time is
# from the key that starts the step to the first capture-pane showing the
# expected screen, polled in a tight loop (each look costs a tmux client,
# about 1-3 ms: that is the resolution).  Start-up is timed from the Enter
# that lets a waiting shell exec gwadmin, so tmux's own start is not counted.
#
#   BUILD=build-release bash bench/menu.sh     (what ./run bench does)
#   RUNS=9 bash bench/menu.sh                  (median of 9, default 5)
#   SIZES="10 1000 100000" bash bench/menu.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-release}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"10 10000"}
TARGET_MS=50
PY=/usr/bin/python3
GWADMIN=$PWD/$BUILD/tui/gwadmin

for tool in "$GWADMIN" "$PY" "$(command -v tmux || echo tmux)"; do
	[ -x "$tool" ] || { echo "menu.sh: $tool is missing (./run bench builds and installs)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwsmtp-bench-menu.XXXXXX")
# A fresh tmux server (and socket) per run: a killed server may still be
# going away when the next one would reuse its socket.
sock=$tmp/tmux.0
fresh_server() {
	tm kill-server 2>/dev/null || true
	sock=$tmp/tmux.$BASHPID.$(now_us)
}
tm() { tmux -S "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=${TERM:-xterm-256color}

now_us() { local t=${EPOCHREALTIME/./}; echo "$((10#$t))"; }

# wait_screen REGEX [TIMEOUT_S]: polls capture-pane until it matches.
wait_screen() {
	local re=$1 end=$(( $(now_us) + ${2:-20} * 1000000 ))
	while :; do
		if tm capture-pane -p -t b | grep -Eq -- "$re"; then
			return 0
		fi
		if [ "$(now_us)" -gt "$end" ]; then
			echo "menu.sh: the screen never matched '$re':" >&2
			tm capture-pane -p -t b >&2
			exit 1
		fi
	done
}

ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# one_run DB COUNT: prints "startup_us smtp_us".
one_run() {
	local db=$1 count=$2 t0 t1 t2
	fresh_server
	# A shell that waits for Enter, then becomes gwadmin.
	tm -f /dev/null new-session -d -s b -x 80 -y 24 -- \
		/bin/sh -c 'read x; exec "$0" --db "$1"' "$GWADMIN" "$db"
	wait_screen '^$' 5 >/dev/null
	t0=$(now_us)
	tm send-keys -t b Enter
	wait_screen 'F10 quit'
	wait_screen 'Connectivity'
	t1=$(now_us)
	tm send-keys -t b c Enter
	wait_screen '^ Main menu > Connectivity$'
	tm send-keys -t b i Enter
	wait_screen '^ Main menu > Connectivity > Internet protocols$'
	tm send-keys -t b m Enter
	wait_screen '^ Main menu > Connectivity > Internet protocols > MAIL$'
	t2=$(now_us)
	tm send-keys -t b Enter
	# The count, and the first profile loaded (its fields, "Profile").
	wait_screen "Profiles \\($count\\)"
	wait_screen '│ Profile *$'
	echo "$(( t1 - t0 )) $(( $(now_us) - t2 ))"
	tm send-keys -t b F10
	tm kill-server 2>/dev/null || true
}

# The floor of this method: Enter to a shell, which prints one word.
baseline() {
	local t0
	fresh_server
	tm -f /dev/null new-session -d -s b -x 80 -y 24 -- \
		/bin/sh -c 'read x; echo READY; exec cat'
	wait_screen '^$' 5 >/dev/null
	t0=$(now_us)
	tm send-keys -t b Enter
	wait_screen '^READY$'
	echo $(( $(now_us) - t0 ))
	tm kill-server 2>/dev/null || true
}
: >"$tmp/base"
for _ in $(seq "$RUNS"); do baseline >>"$tmp/base"; done
echo "tmux floor (Enter to a shell's echo on screen): $(ms "$(median <"$tmp/base")") ms"

printf '%-10s %14s %14s   (median of %d; target < %d ms, flat)\n' \
	profiles "start-up ms" "SMTP screen ms" "$RUNS" "$TARGET_MS"
declare -A up smtp
for n in $SIZES; do
	db=$tmp/menu-$n.db
	$PY bench/gen_profiles.py json "$n" "$tmp/p.json"
	"$GWADMIN" --db "$db" import "$tmp/p.json" >/dev/null
	: >"$tmp/up" ; : >"$tmp/smtp"
	for _ in $(seq "$RUNS"); do
		read -r a b < <(one_run "$db" "$n")
		echo "$a" >>"$tmp/up"
		echo "$b" >>"$tmp/smtp"
	done
	up[$n]=$(median <"$tmp/up")
	smtp[$n]=$(median <"$tmp/smtp")
	printf '%-10s %14s %14s\n' "$n" "$(ms "${up[$n]}")" "$(ms "${smtp[$n]}")"
done

verdict() {	# verdict LABEL ARRAY-NAME
	local -n a=$2
	local worst=0 lo= hi= v
	for n in $SIZES; do
		v=${a[$n]}
		[ "$v" -gt "$worst" ] && worst=$v
		[ -z "$lo" ] && lo=$v
		hi=$v
	done
	local ok="met"
	[ "$worst" -ge $(( TARGET_MS * 1000 )) ] && ok="NOT met"
	# Flat: the largest store within 2x (and 10 ms) of the smallest.
	local flat="flat"
	if [ "$hi" -gt $(( 2 * lo )) ] && [ $(( hi - lo )) -gt 10000 ]; then
		flat="NOT flat"
	fi
	printf '%-14s < %d ms: %s; %s (%s -> %s ms)\n' "$1" "$TARGET_MS" \
		"$ok" "$flat" "$(ms "$lo")" "$(ms "$hi")"
}
verdict "start-up" up
verdict "SMTP screen" smtp
