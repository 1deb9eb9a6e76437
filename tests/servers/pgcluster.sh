#!/bin/bash
# tests/servers/pgcluster.sh: a private PostgreSQL cluster for the tests'
# PostgreSQL variants (meson suite 'postgresql').
#
#   pgcluster.sh start DIR   makes a cluster in DIR (made if missing, else
#                            empty) and starts it, listening only on a Unix
#                            socket in DIR; prints its URI, the value the
#                            tests take from $GWSMTP_TEST_PG
#   pgcluster.sh stop DIR    stops that cluster and removes DIR
#   pgcluster.sh run CMD...  runs CMD with $GWSMTP_TEST_PG set: to the
#                            cluster already named there (./run test starts
#                            one for the whole run), else to one of its own,
#                            started before CMD and stopped after it
#
# A PostgreSQL server refuses to run as root: as root the cluster belongs to
# the postgres user (Debian's postgresql package makes it), else to the
# caller.  Its superuser is called postgres either way, trusted on the
# socket, so the URI is the same for every caller.  It is a throwaway for
# tests and nothing else: no TCP, no password, no fsync.
#
# Without PostgreSQL's server programs it exits 77 (meson's skip), except
# under CI=true, where a missing tool is a failure.
set -euo pipefail
shopt -s inherit_errexit

# Debian 12's PostgreSQL 15; elsewhere initdb and pg_ctl from PATH.
bindir=${GWSMTP_PG_BINDIR:-/usr/lib/postgresql/15/bin}
[ -x "$bindir/initdb" ] || bindir=$(dirname "$(command -v initdb || echo .)")

usage() {
	sed -n '5,12s/^# \{0,1\}//p' "$0" >&2
	exit 64
}

need_postgresql() {
	[ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] && return 0
	if [ "${CI:-}" = true ]; then
		echo "pgcluster: PostgreSQL is not installed (CI=true: not skipping)" >&2
		exit 1
	fi
	echo "pgcluster: PostgreSQL is not installed: skipped" >&2
	exit 77
}

# as_owner CMD...: CMD as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start() {
	local dir=$1
	need_postgresql
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# A Unix socket's path is at most 107 bytes: DIR/.s.PGSQL.5432.
	if [ $(( ${#dir} + 17 )) -gt 107 ]; then
		echo "pgcluster: $dir is too long a path for the socket" >&2
		exit 1
	fi
	if [ -n "$(ls -A "$dir")" ]; then
		echo "pgcluster: $dir is not empty" >&2
		exit 1
	fi
	# Open to all for the socket (a test may connect as nobody); the data
	# directory inside is the owner's alone (initdb's 0700).
	chmod 0755 "$dir"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
	if ! as_owner test -w "$dir"; then
		echo "pgcluster: the postgres user cannot write to $dir (its" \
			"parent directories must let it in)" >&2
		exit 1
	fi
	if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres \
		--auth-local=trust --auth-host=reject -E UTF8 --locale=C \
		--no-sync >"$dir/initdb.log" 2>&1; then
		echo "pgcluster: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	# fsync, synchronous commit and full pages off: a crash of the machine
	# may lose this cluster, which is thrown away after the run anyway,
	# and the tests run much faster on a loaded machine.
	cat >>"$dir/data/postgresql.conf" <<-EOF

		# tests/servers/pgcluster.sh
		listen_addresses = ''
		unix_socket_directories = '$dir'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = 300
		shared_buffers = 32MB
	EOF
	if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		-w -t 120 start >/dev/null; then
		echo "pgcluster: the server did not start:" >&2
		tail -n 20 "$dir/server.log" >&2
		exit 1
	fi
	echo "postgresql:///?host=$dir&user=postgres"
}

stop() {
	local dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 \
			stop >/dev/null || {
			echo "pgcluster: the server in $dir did not stop" >&2
			return 1
		}
	fi
	rm -rf "$dir"
}

run() {
	local pid status
	[ $# -gt 0 ] || usage
	[ -z "${GWSMTP_TEST_PG:-}" ] || exec "$@"
	need_postgresql
	# Global: the EXIT trap runs after run() has returned.
	run_dir=$(mktemp -d "${TMPDIR:-/tmp}/gwsmtp-pg.XXXXXX")
	trap 'stop "$run_dir"' EXIT
	GWSMTP_TEST_PG=$(start "$run_dir")
	export GWSMTP_TEST_PG
	# In the background, so that a TERM (meson's timeout) is passed on at
	# once and the cluster stopped by the EXIT trap.
	"$@" &
	pid=$!
	trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT HUP
	while :; do
		status=0
		wait "$pid" || status=$?
		kill -0 "$pid" 2>/dev/null || break
	done
	return "$status"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start)	[ $# -eq 1 ] || usage; start "$1" ;;
stop)	[ $# -eq 1 ] || usage; stop "$1" ;;
run)	run "$@" ;;
*)	usage ;;
esac
