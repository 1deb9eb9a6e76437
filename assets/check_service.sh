#!/bin/sh
# assets/check_service.sh UNIT SYSUSERS GWENGINE BINDIR: checks the
# gwengine.service that meson generated (UNIT), for the meson test
# "service":
#   - @BINDIR@ was filled in, ExecStart runs BINDIR/gwengine run on the
#     shared database, and every hardening line is there;
#   - nothing that would break the engine is (ProcSubset=pid hides boot_id,
#     ProtectProc=invisible hides other users' engines);
#   - systemd-analyze verify has nothing to say about it (it exits 0 on an
#     unknown key, so any output is a failure), run on a copy whose
#     ExecStart is the built GWENGINE, since the installed one may not exist;
#   - systemd-analyze security rates its exposure 2.0 or better;
#   - systemd-sysusers, given SYSUSERS, creates the user the unit runs as.
# Without systemd-analyze the static checks still run, then the test is
# skipped (77); under CI=true a missing tool is a failure.
set -u

unit=$1 sysusers=$2 engine=$3 bindir=$4
# systemd-analyze and systemd-sysusers want absolute paths.
case $sysusers in /*) ;; *) sysusers=$PWD/$sysusers ;; esac
case $engine in /*) ;; *) engine=$PWD/$engine ;; esac
fail() {
	echo "check_service: $*" >&2
	exit 1
}

[ -r "$unit" ] || fail "$unit: cannot read it"
if grep -n '@[A-Za-z_]*@' "$unit"; then
	fail "$unit: a variable was left unsubstituted"
fi

# Whole lines, so that a commented-out or changed value is noticed.
for line in \
    "ExecStart=$bindir/gwengine --db /var/lib/gwsmtp/gwsmtp.db run" \
    'User=gwsmtp' \
    'Group=gwsmtp' \
    'StateDirectory=gwsmtp' \
    'StateDirectoryMode=0700' \
    'UMask=0077' \
    'KillSignal=SIGTERM' \
    'Restart=on-failure' \
    'NoNewPrivileges=yes' \
    'CapabilityBoundingSet=' \
    'ProtectSystem=strict' \
    'ProtectHome=yes' \
    'PrivateTmp=yes' \
    'PrivateDevices=yes' \
    'ProtectKernelTunables=yes' \
    'ProtectKernelModules=yes' \
    'ProtectKernelLogs=yes' \
    'ProtectControlGroups=yes' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    'RestrictNamespaces=yes' \
    'LockPersonality=yes' \
    'MemoryDenyWriteExecute=yes' \
    'SystemCallArchitectures=native' \
    'SystemCallFilter=@system-service' \
    'WantedBy=multi-user.target'; do
	grep -qxF "$line" "$unit" || fail "$unit: no line '$line'"
done
grep -q '^TimeoutStopSec=[1-9]' "$unit" || fail "$unit: no TimeoutStopSec"
for bad in '^ProcSubset=pid' '^ProtectProc=invisible' '^ProtectProc=noaccess' \
    '^DynamicUser=yes' '^ExecStart=.*--syslog'; do
	if grep -n "$bad" "$unit"; then
		fail "$unit: has '$bad'"
	fi
done

if ! command -v systemd-analyze >/dev/null 2>&1; then
	[ "${CI:-}" = true ] && fail "systemd-analyze is missing (CI=true)"
	echo "check_service: no systemd-analyze: static checks only, skipped"
	exit 77
fi

tmp=$(mktemp -d) || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/unit" "$tmp/root" "$tmp/root/etc"
# The unit's name matters to verify: keep it.
sed "s|^ExecStart=[^ ]*|ExecStart=$engine|" "$unit" >"$tmp/unit/gwengine.service" ||
    fail "sed failed"

# --man=no: the man pages are not installed where verify would look.
out=$(systemd-analyze verify --man=no "$tmp/unit/gwengine.service" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	fail "systemd-analyze verify (exit $rc):
$out"
fi

# --threshold is 0-100: 20 is an exposure of 2.0.
if ! systemd-analyze security --offline=yes --threshold=20 \
    "$tmp/unit/gwengine.service" >"$tmp/security" 2>&1; then
	cat "$tmp/security" >&2
	fail "systemd-analyze security: exposure above 2.0, or it failed"
fi
tail -n 1 "$tmp/security"

if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers --root="$tmp/root" "$sysusers" >"$tmp/sysusers" 2>&1 ||
	    { cat "$tmp/sysusers" >&2; fail "systemd-sysusers refused $sysusers"; }
	grep -q '^gwsmtp:x:[0-9]*:[0-9]*:[^:]*:/var/lib/gwsmtp:' \
	    "$tmp/root/etc/passwd" ||
	    fail "$sysusers: creates no user gwsmtp with home /var/lib/gwsmtp"
	grep -q '^gwsmtp:' "$tmp/root/etc/group" ||
	    fail "$sysusers: creates no group gwsmtp"
elif [ "${CI:-}" = true ]; then
	fail "systemd-sysusers is missing (CI=true)"
fi
exit 0
