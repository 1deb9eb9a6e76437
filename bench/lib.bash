# bench/lib.bash: pieces shared by the bench scripts (import.sh, pg.sh,
# queue.sh, send.sh).  Sourced, not run: not a .sh, since ./run bench runs
# every bench/*.sh.  The script sets PY (python3) and GWENGINE first, and
# tmp (its temporary directory) before it starts a server; servers started
# with start_server (or added to pids) are ended by stop_servers.

pids=()

# fail MESSAGE: the script's name, FAILED and the message; exit 1.
fail() { echo "${0##*/}: FAILED: $*" >&2; exit 1; }

# Postfix installs its test programs in /usr/sbin; older packages kept them
# in the daemon directory.
find_tool() {
	local d
	for d in /usr/sbin /usr/lib/postfix/sbin /usr/libexec/postfix; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return; }
	done
	command -v "$1" || echo "$1"
}

# A port free on 127.0.0.1 now (the server started next may still lose it
# to another program: start_server retries).
free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME VAR CMD...: runs CMD (with @PORT@ replaced by a free port)
# in the background, stderr to $tmp/NAME.err and stdout to $tmp/NAME.out, and
# waits until the port accepts connections; sets VAR to the port.
start_server() {
	local name=$1 var=$2 try port pid i
	shift 2
	for try in 1 2 3 4 5; do
		port=$(free_port)
		"${@//@PORT@/$port}" >"$tmp/$name.out" 2>"$tmp/$name.err" &
		pid=$!
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				pids+=("$pid")
				printf -v "$var" '%s' "$port"
				return 0
			fi
			sleep 0.05
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	cat "$tmp/$name.err" >&2
	fail "$name did not start"
}

# kill_wait PID...: ends each of these children (SIGTERM) and reaps it.
kill_wait() {
	local p
	for p in "$@"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# stop_servers: ends what start_server started.
stop_servers() { kill_wait "${pids[@]}"; }

# start_sink NAME VAR: Postfix's smtp-sink (accepts everything, stores
# nothing) on a free loopback port, as start_server NAME VAR.  -c prints
# "sess=S quit=Q mesg=M" counters to stdout after each message and
# session; as root it must be told which user to become.
start_sink() {
	local user=()
	[ "$(id -u)" -eq 0 ] && user=(-u nobody)
	start_server "$1" "$2" "$(find_tool smtp-sink)" "${user[@]}" -c \
		"127.0.0.1:@PORT@" 256
}

# sink_counter MODE sess|mesg: the current count of the sink started as
# sink_MODE.
sink_counter() {
	tr '\r' '\n' <"$tmp/sink_$1.out" | sed -n "s/.*$2=\([0-9]*\).*/\1/p" | tail -n 1 |
		grep . || echo 0
}

# queue_states DB: "STATE COUNT" lines from gwengine queue --json.
queue_states() {
	"$GWENGINE" --db "$1" queue --json >"$tmp/queue.json" 2>"$tmp/queue.err" ||
		fail "gwengine queue --json failed: $(tail -n 5 "$tmp/queue.err")"
	$PY - "$tmp/queue.json" <<'PY'
import collections, json, sys
entries = json.load(open(sys.argv[1]))
for state, n in sorted(collections.Counter(e["state"] for e in entries).items()):
    print(state, n)
PY
}

# time_cmd LABEL CMD...: runs CMD (stdin/stdout as given) under /usr/bin/time,
# appends "seconds KiB" (or what TIME_FORMAT asks of time -f) to
# $tmp/LABEL.times; if CMD fails, says so and returns 1 (under set -e, the
# script ends).
time_cmd() {
	local label=$1; shift
	if ! /usr/bin/time -f "${TIME_FORMAT:-%e %M}" -o "$tmp/time.out" "$@"; then
		echo "${0##*/}: FAILED: $*" >&2
		return 1
	fi
	tail -n 1 "$tmp/time.out" >>"$tmp/$label.times"
}

# copy_db FROM TO: a SQLite database and its WAL if one is left.
copy_db() {
	rm -f "$2" "$2-wal" "$2-shm"
	cp "$1" "$2"
	if [ -e "$1-wal" ]; then cp "$1-wal" "$2-wal"; fi
}
