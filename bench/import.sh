#!/bin/bash
# Import of N (default 100,000) generated profiles from one JSON file, and
# export of them, against the raw rate of the sqlite3 shell inserting the
# same rows in one transaction.  Then the msmtprc import against the JSON
# import of the same NRC (default 50,000) profiles, side by side.
#
# Targets: the import within 2x of the raw SQLite rate, and its peak memory
# under 4x the file's size; msmtprc about as fast as JSON (linear in the
# accounts).  Speed is reported, never asserted: the script fails only when
# an import is refused, export->import is not the identity, or the msmtprc
# and JSON imports of the same profiles give different databases.
#
#   BUILD=build-release bash bench/import.sh      (what ./run bench does)
#   N=10000 bench/import.sh                       (a smaller run)
#   N=1000 NRC=50000 bench/import.sh              (mostly msmtprc against JSON)
#   RUNS=5 bench/import.sh                        (median of 5, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-release}
N=${N:-100000}
NRC=${NRC:-50000}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
GEN=bench/gen_profiles.py
GWADMIN=$PWD/$BUILD/tui/gwadmin

source bench/lib.bash

for tool in "$GWADMIN" /usr/bin/time "$PY" "$(command -v sqlite3 || echo sqlite3)"; do
	[ -x "$tool" ] || { echo "import.sh: $tool is missing (./run bench builds and installs)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwsmtp-bench-import.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# fresh NAME: an empty gwsmtp database (schema, WAL) at $tmp/NAME.db.
fresh() {
	rm -f "$tmp/$1.db" "$tmp/$1.db-wal" "$tmp/$1.db-shm"
	"$GWADMIN" --db "$tmp/$1.db" list >/dev/null 2>&1
}

echo "generating $N profiles..."
$PY "$GEN" json "$N" "$tmp/profiles.json"

# Validity: every generated profile must be accepted (this database is also
# the source of the raw anchor's rows).
fresh valid
if ! "$GWADMIN" --db "$tmp/valid.db" import "$tmp/profiles.json" >"$tmp/valid.out" 2>&1; then
	echo "import.sh: FAILED: gwadmin refused generated profiles (a generator bug):" >&2
	head -n 20 "$tmp/valid.out" >&2
	exit 1
fi
grep -qx "created $N, updated 0, unchanged 0, deleted 0" "$tmp/valid.out" || {
	echo "import.sh: FAILED: unexpected import summary: $(cat "$tmp/valid.out")" >&2
	exit 1
}

# The raw anchor: the same rows as INSERT statements, column list from the
# schema gwadmin creates, the store's pragmas, one transaction.
fresh schema
$PY "$GEN" sql "$tmp/schema.db" "$tmp/valid.db" "$tmp/raw.sql"
$PY "$GEN" sql "$tmp/schema.db" "$tmp/valid.db" "$tmp/raw_audit.sql" --audit
$PY "$GEN" floor "$tmp/schema.db" "$tmp/valid.db" "$tmp/floor.sql"

echo "measuring (median of $RUNS runs each)..."
for ((i = 0; i < RUNS; i++)); do
	fresh raw
	time_cmd raw sqlite3 "$tmp/raw.db" <"$tmp/raw.sql" >/dev/null
	fresh raw
	time_cmd raw_audit sqlite3 "$tmp/raw.db" <"$tmp/raw_audit.sql" >/dev/null
	[ "$(sqlite3 "$tmp/raw.db" 'SELECT count(*) FROM profiles')" = "$N" ] || {
		echo "import.sh: FAILED: the raw anchor did not insert $N rows" >&2; exit 1; }
	fresh raw
	time_cmd floor sqlite3 "$tmp/raw.db" <"$tmp/floor.sql" >/dev/null

	fresh new
	time_cmd import "$GWADMIN" --db "$tmp/new.db" import "$tmp/profiles.json" >/dev/null
done
for ((i = 0; i < RUNS; i++)); do
	time_cmd export "$GWADMIN" --db "$tmp/new.db" export --include-secrets >"$tmp/out.json"
done

# export -> import -> export is the identity (the import of the exported
# file, which spells out every key, is timed once, for information).
fresh again
identity=FAIL
if time_cmd reimport "$GWADMIN" --db "$tmp/again.db" import "$tmp/out.json" >/dev/null &&
	"$GWADMIN" --db "$tmp/again.db" export --include-secrets >"$tmp/out2.json" &&
	cmp -s "$tmp/out.json" "$tmp/out2.json" &&
	[ "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["profiles"]))' "$tmp/out.json")" = "$N" ]; then
	identity=OK
fi

# msmtprc against JSON: the same NRC profiles written both ways (only what
# an msmtprc can say), each imported into a fresh database, interleaved; the
# two databases must then export the same.
echo "generating $NRC profiles as msmtprc and as JSON..."
$PY "$GEN" msmtprc "$NRC" "$tmp/same.msmtprc" "$tmp/same.json"
for ((i = 0; i < RUNS; i++)); do
	fresh rc
	time_cmd rc_msmtprc "$GWADMIN" --db "$tmp/rc.db" import --format msmtprc "$tmp/same.msmtprc" >/dev/null
	fresh rcjson
	time_cmd rc_json "$GWADMIN" --db "$tmp/rcjson.db" import "$tmp/same.json" >/dev/null
done
same=FAIL
if "$GWADMIN" --db "$tmp/rc.db" export --include-secrets >"$tmp/rc.out" &&
	"$GWADMIN" --db "$tmp/rcjson.db" export --include-secrets >"$tmp/rcjson.out" &&
	cmp -s "$tmp/rc.out" "$tmp/rcjson.out" &&
	[ "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["profiles"]))' "$tmp/rc.out")" = "$NRC" ]; then
	same=OK
fi

$PY - "$tmp" "$N" "$identity" "$(nproc)" "$NRC" "$same" <<'PY'
import os, statistics, sys
tmp, n, identity, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
nrc, same = int(sys.argv[5]), sys.argv[6]

def median(label):
    rows = [l.split() for l in open(os.path.join(tmp, label + ".times"))]
    return (statistics.median(float(s) for s, _ in rows),
            statistics.median(int(k) for _, k in rows) * 1024 / 1e6)   # MB

size = os.path.getsize(os.path.join(tmp, "profiles.json")) / 1e6   # MB, as RSS
raw, _ = median("raw")
raw_a, _ = median("raw_audit")
floor, _ = median("floor")
reimp, reimp_mb = median("reimport") if identity == "OK" else (0, 0)
imp, imp_mb = median("import")
exp, exp_mb = median("export")
out = os.path.getsize(os.path.join(tmp, "out.json")) / 1e6
rate = lambda s: "%10.0f" % (n / s) if s > 0 else "       inf"
ratio = imp / raw if raw > 0 else float("inf")
ratio_a = imp / raw_a if raw_a > 0 else float("inf")
mem = imp_mb / size
met = lambda ok: "met" if ok else "NOT met"

print()
print("gwadmin import/export of %d profiles (%d cores; median of the runs)" % (n, int(cores)))
print("  JSON file               %8.1f MB, %d profiles (export: %.1f MB)" % (size, n, out))
print("                            seconds     rows/s   peak RSS")
print("  sqlite3 shell, raw      %9.2f %s" % (raw, rate(raw)))
print("  sqlite3 shell, +audit   %9.2f %s" % (raw_a, rate(raw_a)))
print("  sqlite3 INSERT..SELECT  %9.2f %s            (+audit; engine floor)" % (floor, rate(floor)))
print("  gwadmin import          %9.2f %s %8.1f MB" % (imp, rate(imp), imp_mb))
print("  gwadmin export          %9.2f %s %8.1f MB" % (exp, rate(exp), exp_mb))
print("  import of the export    %9.2f %s %8.1f MB  (1 run; %.2fx its size)" % (reimp, rate(reimp), reimp_mb, reimp_mb / out))
print("  import / raw            %9.2fx   target <= 2.0x: %s" % (ratio, met(ratio <= 2.0)))
print("  import / raw+audit      %9.2fx   (for information)" % ratio_a)
print("  import / engine floor   %9.2fx   (for information)" % (imp / floor if floor > 0 else float("inf")))
print("  import RSS / file size  %9.2fx   target <  4.0x: %s" % (mem, met(mem < 4.0)))
print("  export -> import -> export identity: %s" % identity)
print("  (gwadmin import also writes one audit row per profile, the product's")
print("   rule: 'raw' inserts the profile rows only, '+audit' both, like gwadmin;")
print("   the shell parses one INSERT statement per row, the floor none)")

rc_s, rc_mb = median("rc_msmtprc")
js_s, js_mb = median("rc_json")
mb = lambda name: os.path.getsize(os.path.join(tmp, name)) / 1e6
rate_rc = lambda s: "%10.0f" % (nrc / s) if s > 0 else "       inf"
print()
print("gwadmin import of the same %d profiles as msmtprc and as JSON (median of the runs)" % nrc)
print("                            seconds profiles/s   peak RSS       file")
print("  import (JSON)           %9.2f %s %8.1f MB %7.1f MB" % (js_s, rate_rc(js_s), js_mb, mb("same.json")))
print("  import --format msmtprc %9.2f %s %8.1f MB %7.1f MB" % (rc_s, rate_rc(rc_s), rc_mb, mb("same.msmtprc")))
print("  msmtprc / JSON          %9.2fx" % (rc_s / js_s if js_s > 0 else float("inf")))
print("  both imports give the same database: %s" % same)
PY

[ "$identity" = OK ] || { echo "import.sh: FAILED: export -> import is not the identity" >&2; exit 1; }
[ "$same" = OK ] || { echo "import.sh: FAILED: the msmtprc and JSON imports of the same profiles differ" >&2; exit 1; }
