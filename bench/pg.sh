#!/bin/bash
# PostgreSQL against SQLite (issue 10), in a private PostgreSQL cluster:
#
# 1. The queue: N (10,000) messages, submitted beforehand, delivered to
#    Postfix's smtp-sink on loopback by ENGINES (3) `gwengine run` daemons
#    sharing one PostgreSQL database, against one daemon on a SQLite file.
#    Target: the engines on PostgreSQL together at least 1x the SQLite
#    engine's msg/s.  For information, one daemon on PostgreSQL.
# 2. The store's share of a delivery on each backend: bench/store_bench
#    claims 128 at a time and records 64 to a transaction, as the engine
#    does, without SMTP: microseconds per message.
# 3. `gwadmin import` of NPROF (100,000) profiles into PostgreSQL against
#    `psql \copy` of the same rows into an empty schema, in one transaction.
#    Target: the import within 3x of the copy.
#
# Speed is reported, never asserted: the script fails only when a program
# fails, the sink did not receive exactly N messages, the queue does not
# show all N sent, or an import is refused.
#
#   BUILD=build-release bash bench/pg.sh          (what ./run bench does)
#   N=1000 NPROF=10000 RUNS=1 bash bench/pg.sh    (a quick run)
#   MAXCONN=4 ENGINES=2 bash bench/pg.sh          (another profile, engines)
#   PG_SYNC=off bash bench/pg.sh                  (the test cluster's settings:
#                                                  fsync and sync commit off)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-release}
N=${N:-10000}
NPROF=${NPROF:-100000}
RUNS=${RUNS:-3}
ENGINES=${ENGINES:-3}
MAXCONN=${MAXCONN:-2}		# the profile's max_connections
SUBMIT_JOBS=${SUBMIT_JOBS:-2}	# submitting processes in parallel
PG_SYNC=${PG_SYNC:-on}		# fsync, synchronous_commit, full_page_writes
TMO=600				# seconds: no delivery may take longer
PY=/usr/bin/python3
GEN=bench/gen_profiles.py
GWENGINE=$PWD/$BUILD/engine/gwengine
GWADMIN=$PWD/$BUILD/tui/gwadmin
HARNESS=$PWD/$BUILD/bench/store_bench
PSQL=$(command -v psql || echo psql)

source bench/lib.bash
SINK=$(find_tool smtp-sink)

for tool in "$GWENGINE" "$GWADMIN" "$PY" "$SINK" "$PSQL" /usr/bin/time; do
	[ -x "$tool" ] || { echo "pg.sh: $tool is missing (./run bench builds and installs)" >&2; exit 1; }
done
case $PG_SYNC in on | off) ;; *) echo "pg.sh: PG_SYNC is on or off" >&2; exit 64 ;; esac
# The harness is not built by default: build it (and what it links).
ninja -C "$BUILD" bench/store_bench >/dev/null ||
	{ echo "pg.sh: cannot build $BUILD/bench/store_bench" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwsmtp-bench-pg.XXXXXX")
# The cluster's own directory: pgcluster.sh opens it to the postgres user.
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/gwsmtp-bench-pgdb.XXXXXX")
# The script's own background processes: the submitting loops or the
# engines, and the reader of the sink's counters.
bg=()
poller=
cleanup() {
	trap '' INT TERM
	kill_wait "${bg[@]}" $poller
	stop_servers
	tests/servers/pgcluster.sh stop "$pgdir" || true
	rm -rf "$tmp" "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

load() { uptime | sed 's/.*load average: //'; }
echo "load average: $(load)"
echo "load $(load)" >"$tmp/load.start"

# The cluster: tests/servers/pgcluster.sh (Unix socket only, trust), with
# durability back on unless PG_SYNC=off: SQLite runs synchronous=FULL.
PGURI=$(tests/servers/pgcluster.sh start "$pgdir")
# pg_uri NAME: the URI of database NAME in the cluster.
pg_uri() { echo "postgresql:///$1?${PGURI#*\?}"; }
# pg NAME SQL...: runs each SQL in database NAME; the rows on stdout.
pg() {
	local db=$1 args=()
	shift
	for sql in "$@"; do args+=(-c "$sql"); done
	PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$(pg_uri "$db")" "${args[@]}"
}
# pg_fresh NAME [TEMPLATE]: an empty database NAME with gwsmtp's schema, or
# a copy of database TEMPLATE.
pg_fresh() {
	pg postgres "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
	if [ $# -gt 1 ]; then
		pg postgres "CREATE DATABASE $1 TEMPLATE $2"
	else
		pg postgres "CREATE DATABASE $1"
		"$GWADMIN" --db "$(pg_uri "$1")" list >/dev/null 2>&1
	fi
}
pg postgres "ALTER SYSTEM SET fsync = $PG_SYNC" \
	"ALTER SYSTEM SET synchronous_commit = $PG_SYNC" \
	"ALTER SYSTEM SET full_page_writes = $PG_SYNC" "SELECT pg_reload_conf()" >/dev/null
for ((i = 0; i < 100; i++)); do
	[ "$(pg postgres 'SHOW fsync')" = "$PG_SYNC" ] && break
	sleep 0.05
done
pg postgres "SELECT version()" \
	"SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings
	 WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method',
	 'shared_buffers', 'max_connections', 'wal_level')" >"$tmp/pg.settings"
grep -q "fsync=$PG_SYNC " "$tmp/pg.settings" || fail "the cluster did not take fsync=$PG_SYNC"

start_sink sink_plain sink_port
sink_pid=${pids[-1]}

# cpu_now ENGINE_PID...: "engines postgres sink", the CPU seconds used so
# far by these engines (all threads), by the PostgreSQL server (the
# postmaster, the children it reaped and those alive: the backends of
# connected engines among them) and by the sink.
cpu_now() {
	$PY - "$(head -n 1 "$pgdir/data/postmaster.pid")" "$sink_pid" "$@" <<'PY'
import os, sys
tck = os.sysconf("SC_CLK_TCK")
def stat(pid):
    try:
        f = open("/proc/%s/stat" % pid).read()
    except OSError:
        return None
    rest = f[f.rindex(")") + 2:].split()          # fields from the 3rd on
    return int(rest[1]), [int(x) for x in rest[11:15]]   # ppid; utime..cstime
def cpu(pid, reaped=False):
    st = stat(pid)
    return 0 if st is None else sum(st[1][:4 if reaped else 2])
pm, sink, engines = sys.argv[1], sys.argv[2], sys.argv[3:]
kids = [p for p in os.listdir("/proc") if p.isdigit() and (stat(p) or (0,))[0] == int(pm)]
print("%.2f %.2f %.2f" % (sum(cpu(p) for p in engines) / tck,
                          (cpu(pm, True) + sum(cpu(p) for p in kids)) / tck, cpu(sink) / tck))
PY
}

# 1. The queue.  Each backend gets the profile "bench" (plain SMTP to the
# sink, max_connections=MAXCONN) and N messages, submitted once by
# SUBMIT_JOBS loops of one `gwengine submit` each, timed (not part of the
# figures); each run delivers a fresh copy.
SQ=$tmp/queue.db
pg_fresh qsrc
set_profile() {
	"$GWADMIN" --db "$1" set bench host=127.0.0.1 port="$sink_port" tls=none \
		from=a@example.org to=b@example.org max_connections="$MAXCONN" >/dev/null
}
set_profile "$SQ"
set_profile "$(pg_uri qsrc)"
echo "The quick brown fox jumps over the lazy dog, again and again. 0123456789" |
	sed 'p;p;p' >"$tmp/body.txt"		# 4 lines, 292 bytes

# submit NAME DB: N messages into DB; the seconds in $tmp/submit_NAME.
submit() {
	local name=$1 db=$2 t0 t1 j states
	rm -f "$tmp"/ids.*
	t0=$EPOCHREALTIME
	for ((j = 0; j < SUBMIT_JOBS; j++)); do
		(
			for ((i = j; i < N; i += SUBMIT_JOBS)); do
				"$GWENGINE" --db "$db" submit --profile bench --subject bench \
					<"$tmp/body.txt" >>"$tmp/ids.$j" 2>>"$tmp/submit.err" ||
					fail "gwengine submit failed: $(tail -n 5 "$tmp/submit.err")"
			done
		) &
		bg+=($!)
	done
	for j in "${bg[@]}"; do
		wait "$j" || fail "submitting to $name failed"
	done
	bg=()
	t1=$EPOCHREALTIME
	echo "$t0 $t1" >"$tmp/submit_$name"
	[ "$(sort -u "$tmp"/ids.* | grep -c .)" -eq "$N" ] ||
		fail "gwengine submit printed $(sort -u "$tmp"/ids.* | grep -c .) distinct ids, not $N"
	states=$(queue_states "$db")
	[ "$states" = "queued $N" ] || fail "$name after $N submits: $(tr '\n' ' ' <<<"$states")"
}
echo "submitting $N messages to each backend ($SUBMIT_JOBS processes at a time)..."
submit sqlite "$SQ"
submit pg "$(pg_uri qsrc)"

# deliver LABEL ENGINES DB: starts ENGINES `gwengine run` daemons on DB and
# waits until the sink has counted N more messages (polled every 5 ms by
# a reader of its counters); then stops them (SIGTERM, status 0).  Appends
# "launch first_message last_message sessions CPU0 CPU1" to $tmp/LABEL.res
# (epoch seconds: the engines' launch, the sink's first and Nth message;
# the sessions the sink saw; cpu_now at the launch and at the Nth message).
deliver() {
	local label=$1 count=$2 db=$3 m0 s0 m1 s1 t0 k p st states cpu0 cpu1
	m0=$(sink_counter plain mesg)
	s0=$(sink_counter plain sess)
	rm -f "$tmp/poll.ready" "$tmp/poll.out"
	$PY - "$tmp/sink_plain.out" "$m0" "$N" "$TMO" "$tmp/poll.ready" "$tmp/poll.out" <<'PY' &
import re, sys, time
path, base, n, tmo, ready, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5], sys.argv[6]
f = open(path, "rb")
f.seek(0, 2)
open(ready, "w").close()
tail, first, count, end = b"", None, base, time.time() + tmo
while count < base + n and time.time() < end:
    chunk = f.read()
    if chunk:
        found = re.findall(rb"mesg=(\d+)", tail + chunk)
        tail = (tail + chunk)[-64:]
        now = time.time()
        if found:
            count = max(count, int(found[-1]))
            if first is None and count > base:
                first = now
    else:
        time.sleep(0.005)
if count >= base + n:
    open(out, "w").write("%.6f %.6f\n" % (first, time.time()))
PY
	poller=$!
	while [ ! -e "$tmp/poll.ready" ]; do sleep 0.01; done
	cpu0=$(cpu_now)
	t0=$EPOCHREALTIME
	for ((k = 0; k < count; k++)); do
		"$GWENGINE" --db "$db" run 2>"$tmp/$label.$k.err" &
		bg+=($!)
	done
	wait "$poller" || true
	poller=
	cpu1=$(cpu_now "${bg[@]}")
	for p in "${bg[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	k=0
	for p in "${bg[@]}"; do
		st=0
		wait "$p" || st=$?
		[ "$st" -eq 0 ] || fail "$label: gwengine run $k exited $st: $(tail -n 5 "$tmp/$label.$k.err")"
		k=$((k + 1))
	done
	bg=()
	[ -s "$tmp/poll.out" ] ||
		fail "$label: the sink did not count $N messages within $TMO s ($(sink_counter plain mesg) - $m0)"
	sleep 0.1
	m1=$(sink_counter plain mesg)
	s1=$(sink_counter plain sess)
	[ $((m1 - m0)) -eq "$N" ] || fail "$label: the sink received $((m1 - m0)) messages, not $N"
	states=$(queue_states "$db")
	[ "$states" = "sent $N" ] ||
		fail "$label: the queue shows $(tr '\n' ' ' <<<"$states")(want sent $N)"
	echo "$t0 $(cat "$tmp/poll.out") $((s1 - s0)) $cpu0 $cpu1" >>"$tmp/$label.res"
	cat "$tmp/$label".*.err >>"$tmp/$label.log"
}

# harness LABEL DB: bench/store_bench on DB; it must do N messages, and the
# queue then show them sent.
harness() {
	local label=$1 db=$2 out states
	out=$("$HARNESS" "$db" bench) || fail "$label: store_bench failed"
	[ "$(cut -d' ' -f2 <<<"$out")" = "$N" ] || fail "$label: store_bench: $out (want $N messages)"
	states=$(queue_states "$db")
	[ "$states" = "sent $N" ] || fail "$label: after store_bench: $(tr '\n' ' ' <<<"$states")"
	echo "$out" >>"$tmp/$label.res"
}

echo "load $(load)" >"$tmp/load.queue"
echo "delivering $N messages, $RUNS round(s): 1 engine on SQLite, $ENGINES on PostgreSQL, 1 on PostgreSQL..."
for ((r = 1; r <= RUNS; r++)); do
	copy_db "$SQ" "$tmp/run.db"
	deliver sqlite 1 "$tmp/run.db"
	pg_fresh qrun qsrc
	deliver pg_many "$ENGINES" "$(pg_uri qrun)"
	pg_fresh qrun qsrc
	deliver pg_one 1 "$(pg_uri qrun)"
	echo "  round $r done, load $(load)"
done

# 2. Claim and record without SMTP.
echo "load $(load)" >"$tmp/load.store"
echo "claiming and recording $N messages with store_bench, $RUNS round(s)..."
for ((r = 1; r <= RUNS; r++)); do
	copy_db "$SQ" "$tmp/run.db"
	harness h_sqlite "$tmp/run.db"
	pg_fresh qrun qsrc
	harness h_pg "$(pg_uri qrun)"
done
pg postgres "DROP DATABASE qrun WITH (FORCE)" "DROP DATABASE qsrc WITH (FORCE)"

# 3. Import against \copy.  The rows are those gwadmin stored (and the
# audit rows it wrote, for the '+audit' anchor), copied out of a first
# import; each anchor copies them into a fresh schema in one transaction.
echo "load $(load)" >"$tmp/load.import"
echo "generating $NPROF profiles..."
$PY "$GEN" json "$NPROF" "$tmp/profiles.json"
pg_fresh isrc
"$GWADMIN" --db "$(pg_uri isrc)" import "$tmp/profiles.json" >"$tmp/valid.out" 2>&1 || {
	head -n 20 "$tmp/valid.out" >&2
	fail "gwadmin refused generated profiles (a generator bug)"
}
grep -qx "created $NPROF, updated 0, unchanged 0, deleted 0" "$tmp/valid.out" ||
	fail "unexpected import summary: $(cat "$tmp/valid.out")"
pg isrc "\\copy (SELECT * FROM profiles) TO '$tmp/profiles.copy'" \
	"\\copy (SELECT * FROM audit) TO '$tmp/audit.copy'"
[ "$(wc -l <"$tmp/profiles.copy")" -eq "$NPROF" ] || fail "\\copy TO wrote $(wc -l <"$tmp/profiles.copy") profiles"
pg postgres "DROP DATABASE isrc WITH (FORCE)"
printf 'BEGIN;\n\\copy profiles FROM %s\nCOMMIT;\n' "'$tmp/profiles.copy'" >"$tmp/copy.sql"
printf 'BEGIN;\n\\copy profiles FROM %s\n\\copy audit FROM %s\nCOMMIT;\n' \
	"'$tmp/profiles.copy'" "'$tmp/audit.copy'" >"$tmp/copy_audit.sql"
# into DB LABEL CMD...: CMD timed (wall, peak RSS, its user and system CPU),
# and the server's CPU meanwhile (its backend has exited and been reaped
# 0.2 s later): $tmp/LABEL.times and $tmp/LABEL.cpu, a line each.
into() {
	local db=$1 label=$2 cpu0 cpu1
	shift 2
	cpu0=$(cpu_now)
	TIME_FORMAT='%e %M %U %S' time_cmd "$label" "$@" >/dev/null
	sleep 0.2
	cpu1=$(cpu_now)
	echo "$(cut -d' ' -f2 <<<"$cpu0") $(cut -d' ' -f2 <<<"$cpu1")" >>"$tmp/$label.cpu"
}
# copy LABEL SCRIPT: an empty schema, then SCRIPT timed.
copy() {
	pg_fresh iraw
	pg iraw "TRUNCATE profiles, audit"
	into iraw "$1" "$PSQL" -X -q -v ON_ERROR_STOP=1 -f "$2" "$(pg_uri iraw)"
	[ "$(pg iraw 'SELECT count(*) FROM profiles')" = "$NPROF" ] ||
		fail "$1: \\copy did not insert $NPROF rows"
}
echo "importing $NPROF profiles, $RUNS round(s)..."
for ((r = 1; r <= RUNS; r++)); do
	copy copy "$tmp/copy.sql"
	copy copy_audit "$tmp/copy_audit.sql"
	pg_fresh iimp
	into iimp import "$GWADMIN" --db "$(pg_uri iimp)" import "$tmp/profiles.json"
done
echo "load $(load)" >"$tmp/load.end"

$PY - "$tmp" "$N" "$RUNS" "$ENGINES" "$MAXCONN" "$NPROF" "$(nproc)" "$SUBMIT_JOBS" \
	"$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')" \
	"$(dpkg-query -W -f='${Version}' postfix 2>/dev/null || echo '?')" <<'PY'
import os, statistics, sys
tmp = sys.argv[1]
n, runs, engines, maxconn, nprof, cores, jobs = map(int, sys.argv[2:9])
sqlite_v, postfix_v = sys.argv[9], sys.argv[10]
med = statistics.median
met = lambda ok: "met" if ok else "NOT met"
rd = lambda name: open(os.path.join(tmp, name)).read()
lines = lambda name: [l.split() for l in rd(name).splitlines() if l.strip()]
loads = {k: rd("load." + k).split(" ", 1)[1].strip()
         for k in ("start", "queue", "store", "import", "end")}
pg_version, pg_settings = rd("pg.settings").splitlines()

print()
print("PostgreSQL against SQLite: %d cores, %s" % (cores, pg_version.split(" on ")[0]))
print("  PostgreSQL: a private cluster, Unix socket; %s" % pg_settings)
print("  SQLite %s: the store's pragmas (journal_mode=WAL, synchronous=FULL, secure_delete)"
      % sqlite_v)
print("  load average: start %s; queue %s; store %s; import %s; end %s"
      % (loads["start"], loads["queue"], loads["store"], loads["import"], loads["end"]))

print()
print("1. The queue: %d messages to smtp-sink (Postfix %s) on 127.0.0.1, gwengine run"
      % (n, postfix_v))
print("   daemons; profile max_connections=%d (sessions per engine); %d run(s) each."
      % (maxconn, runs))
print("   Timed from the engines' launch to the sink's %dth message (its -c counters," % n)
print("   polled every 5 ms); 'from 1st' starts at the sink's first message instead.")
for backend in ("sqlite", "pg"):
    a, b = lines("submit_" + backend)[0]
    t = float(b) - float(a)
    print("   submitted beforehand, not timed in the runs: %-10s %6.1f s, %5.0f msg/s (%d processes at a time)"
          % (backend, t, n / t, jobs))
print("  %-28s %8s %8s %9s %8s  %s" % ("", "s", "msg/s", "from 1st", "sessions", "each run: s (msg/s)"))
rate, cpu = {}, {}
queue_rows = (("sqlite", "SQLite, 1 engine"),
              ("pg_many", "PostgreSQL, %d engines" % engines),
              ("pg_one", "PostgreSQL, 1 engine (info)"))
for label, name in queue_rows:
    rs = [[float(x) for x in l] for l in lines(label + ".res")]
    secs = [r[2] - r[0] for r in rs]
    first = [r[2] - r[1] for r in rs]
    rate[label] = n / med(secs)
    # CPU per message: engines, server, sink, and all three over the
    # machine's capacity (cores x wall) in that run.
    per = [[r[7 + i] - r[4 + i] for i in range(3)] for r in rs]
    cpu[label] = [med(1e6 * p[i] / n for p in per) for i in range(3)] + \
        [med(1e6 * sum(p) / n for p in per),
         med(100 * sum(p) / (cores * w) for p, w in zip(per, secs))]
    print("  %-28s %8.2f %8.0f %9.0f %8s  %s"
          % (name, med(secs), n / med(secs), n / med(first),
             "/".join(sorted(set(str(int(r[3])) for r in rs))),
             " ".join("%.2f (%.0f)" % (s, n / s) for s in secs)))
ratio = rate["pg_many"] / rate["sqlite"]
print("  %d engines on PostgreSQL / 1 on SQLite: %.2fx   target >= 1x: %s"
      % (engines, ratio, met(ratio >= 1)))
print("  1 engine on PostgreSQL / 1 on SQLite: %.2fx   (information)"
      % (rate["pg_one"] / rate["sqlite"]))
print("  CPU from the launch to the %dth message, µs per message (median; the share is" % n)
print("  of the %d cores over that time, the rest went to other work on the machine):" % cores)
print("  %-28s %8s %8s %8s %8s %8s" % ("", "engines", "server", "sink", "total", "share"))
for label, name in queue_rows:
    print("  %-28s %8.0f %8.0f %8.0f %8.0f %7.0f%%" % ((name,) + tuple(cpu[label])))

print()
print("2. The store's share of a delivery: store_bench claims 128 at a time, asks")
print("   store_changed() before each message and records 64 outcomes (250) a")
print("   transaction, as gwengine's workers do, without SMTP; %d messages, median of %d."
      % (n, runs))
print("  %-12s %9s %9s %9s %9s %9s" % ("µs/message", "claim", "check", "record", "total", "msg/s"))
for label, name in (("h_sqlite", "SQLite"), ("h_pg", "PostgreSQL")):
    rs = [(float(c), float(k), float(r)) for _, _, _, c, _, k, _, r in lines(label + ".res")]
    c, k, r = (med(x[i] for x in rs) for i in range(3))
    tot = med(sum(x) for x in rs)
    print("  %-12s %9.1f %9.2f %9.1f %9.1f %9.0f"
          % (name, 1e6 * c / n, 1e6 * k / n, 1e6 * r / n, 1e6 * tot / n, n / tot))

print()
print("3. gwadmin import of %d profiles into PostgreSQL against psql \\copy of the" % nprof)
print("   same rows into an empty schema, one transaction; median of %d." % runs)
print("   CPU: the client's (user + system) and the server's, in seconds.")
times = {k: [[float(x) for x in t + c] for t, c in zip(lines(k + ".times"), lines(k + ".cpu"))]
         for k in ("copy", "copy_audit", "import")}
print("  %-30s %7s %8s %9s %7s %7s" % ("", "s", "rows/s", "peak RSS", "client", "server"))
for k, name in (("copy", "psql \\copy profiles"),
                ("copy_audit", "psql \\copy profiles + audit"),
                ("import", "gwadmin import")):
    rs = times[k]
    s = med(r[0] for r in rs)
    mb = med(r[1] for r in rs) * 1024 / 1e6
    print("  %-30s %7.2f %8.0f %6.1f MB %7.2f %7.2f  each: %s"
          % (name, s, nprof / s, mb, med(r[2] + r[3] for r in rs), med(r[5] - r[4] for r in rs),
             " ".join("%.2f" % r[0] for r in rs)))
imp = med(r[0] for r in times["import"])
cp = med(r[0] for r in times["copy"])
cpa = med(r[0] for r in times["copy_audit"])
print("  import / \\copy           %6.2fx   target <= 3x: %s" % (imp / cp, met(imp / cp <= 3)))
print("  import / \\copy + audit   %6.2fx   (information: gwadmin writes an audit row"
      % (imp / cpa))
print("                                     per profile too)")
if max(float(v.split(",")[0]) for v in loads.values()) > cores:
    print("note: the machine was busy (load above %d): the figures move with other work"
          % cores)
PY
