#!/usr/bin/python3
"""Data for bench/import.sh.

  gen_profiles.py json N OUT.json
      N varied, valid profiles (SPEC.md sections 3 and 5), indented by two
      spaces like `gwadmin export`, UTF-8; keys left at their default are
      mostly omitted, as in a hand-written file.  Deterministic.

  gen_profiles.py msmtprc N OUT.msmtprc OUT.json
      N profiles as `json` makes them, cut down to what msmtp's
      configuration can express (host, port, TLS mode, certificate check,
      trust file or fingerprint, PLAIN or LOGIN with user and password,
      from, domain, timeout), written twice: as an msmtprc (a "defaults"
      section, then one account each) and as the JSON profile file that
      `gwadmin import --format msmtprc` of it amounts to, so both imports
      must leave the same database.  Ports are always given (msmtp's
      default port is not gwsmtp's).  Deterministic.

  gen_profiles.py sql SCHEMA.db SOURCE.db OUT.sql [--audit]
      The rows SOURCE.db holds (a database gwadmin imported the JSON into) as
      one `BEGIN IMMEDIATE; INSERT ...; COMMIT;` script for the sqlite3
      shell, preceded by the store's pragmas.  The column list is read from
      `PRAGMA table_info` of SCHEMA.db (an empty gwsmtp database), so the
      script follows the schema as it grows.  --audit adds the audit rows the
      import wrote, interleaved one after each profile as the store does.

  gen_profiles.py floor SCHEMA.db SOURCE.db OUT.sql
      For information, the engine's floor: the same profile and audit rows
      copied by two INSERT ... SELECT statements from SOURCE.db attached, with
      the same pragmas, in one transaction (no SQL text per row to parse).
"""
import json
import random
import sqlite3
import sys

WORDS = ("corp relay mail smtp edge gw out mx bulk alerts notify billing "
         "hr ops lab plant north south east west eu us asia backup primary "
         "secondary dmz core branch test prod").split()
DOMAINS = ("example.com example.net example.org mail.example.com "
           "corp.example.net relay.example.org eu.example.com "
           "smtp.example.de post.example.fr").split()
COMMENTS = ("Primary relay for the plant", "Backup: use only when MX is down",
            "Ticket OPS-{n}: moved to the new provider",
            "Alerts from line {n} — don't disable",
            "Relais de secours (bâtiment {n})",
            "Zustellung über Außenstelle {n}",
            "送信サーバ {n}", "Owner: \"mail team\" <mail@example.com>",
            "path C:\\gw\\out\\{n}; tab-free, quotes \"ok\"")
PW_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            "!#$%&()*+,-./:;<=>?@[]^_{|}~\"\\' éß€")


def host(r, n):
    k = r.random()
    if k < 0.06:
        return "192.0.2.%d" % r.randint(1, 254)
    if k < 0.08:
        return "2001:db8::%x" % r.randint(1, 0xffff)
    return "%s%d.%s" % (r.choice(WORDS), n % 97, r.choice(DOMAINS))


def alt_host(r, n):
    k = r.random()
    if k < 0.15:
        return "[2001:db8::%x]:%d" % (r.randint(1, 0xffff),
                                      r.choice((25, 465, 587)))
    h = host(r, n) if k < 0.9 else "198.51.100.%d" % r.randint(1, 254)
    if ":" in h:                       # a bare IPv6 host needs brackets
        h = "[%s]" % h
    if r.random() < 0.5:
        h += ":%d" % r.choice((25, 465, 587, 2525))
    return h


def address(r, n, local=None):
    local = local or "%s.%s%d" % (r.choice(WORDS), r.choice(WORDS), n)
    return "%s@%s" % (local, r.choice(DOMAINS))


def profile(r, n):
    # Unique by the counter; 1-31 characters of [A-Za-z0-9._-].
    name = "%s-%s.%06d" % (r.choice(WORDS), r.choice(WORDS), n)
    p = {"name": name[:31]}
    assert len(name) <= 31, name
    if r.random() < 0.1:
        p["active"] = False
    p["host"] = host(r, n)
    tls = r.choices(("implicit", "explicit", "none"), (45, 40, 15))[0]
    p["tls"] = tls
    if r.random() < 0.25:
        p["port"] = r.choice({"implicit": (465, 4650),
                              "explicit": (587, 25, 2525),
                              "none": (25, 2525, 10025)}[tls])
    if r.random() < 0.2:
        p["alt_hosts"] = [alt_host(r, n) for _ in range(r.randint(1, 3))]
    if tls == "explicit" and r.random() < 0.3:
        p["starttls"] = "optional"
    if tls != "none":
        if r.random() < 0.05:
            p["verify"] = False
        if r.random() < 0.1:
            p["ca_file"] = "/etc/gwsmtp/ca/%s.pem" % r.choice(WORDS)
        if r.random() < 0.05:
            p["fingerprint"] = "sha256:" + "%064x" % r.getrandbits(256)
        if r.random() < 0.2:
            p["tls_min"] = "1.3"
    auth = r.choices(("none", "plain", "login", "anonymous"),
                     (30, 35, 25, 10))[0]
    p["auth"] = auth
    if auth in ("plain", "login"):
        p["username"] = r.choice((name, address(r, n), "svc_%d" % n))
        p["password"] = "".join(r.choice(PW_CHARS)
                                for _ in range(r.randint(8, 40)))
        if tls == "none":
            p["allow_plain_auth_without_tls"] = True
    elif auth == "anonymous" and r.random() < 0.5:
        p["trace"] = r.choice((address(r, n), "gateway %d" % n))
    if r.random() < 0.8:
        p["from"] = address(r, n, r.choice(("gateway", "noreply", None)))
    if r.random() < 0.3:
        p["to"] = address(r, n, "ops")
    if r.random() < 0.2:
        p["helo"] = "gw%d.%s" % (n % 50, r.choice(DOMAINS))
    if r.random() < 0.3:
        p["timeout"] = r.choice((10, 30, 120, 300))
    if r.random() < 0.3:
        p["retries"] = r.randint(0, 50)
    if r.random() < 0.2:
        p["retry_delay"] = r.choice((5, 30, 60))
        p["retry_max"] = r.choice((60, 600, 3600, 86400))
    if r.random() < 0.2:
        p["max_connections"] = r.randint(1, 8)
    if r.random() < 0.5:
        p["comment"] = r.choice(COMMENTS).format(n=n)[:80]
    return p


def cmd_json(n, out):
    r = random.Random(20240601)
    doc = {"profiles": [profile(r, i) for i in range(n)]}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


# The keys an msmtprc can set (host, port, tls, tls_starttls, tls_certcheck,
# tls_trust_file, tls_fingerprint, auth, user, password, from, domain, timeout).
MSMTP_KEYS = ("name", "host", "port", "tls", "verify", "ca_file",
              "fingerprint", "auth", "username", "password", "from", "helo",
              "timeout")


def msmtp_profile(r, n):
    """profile(r, n) cut down to what an msmtprc can say."""
    p = {k: v for k, v in profile(r, n).items() if k in MSMTP_KEYS}
    # Always given: msmtp's default port is not gwsmtp's.
    p.setdefault("port", {"implicit": 465, "explicit": 587,
                          "none": 25}[p["tls"]])
    # msmtp: certcheck off overrides the trust file and the fingerprint, and
    # a fingerprint the trust file.
    if p.get("verify") is False or "fingerprint" in p:
        p.pop("ca_file", None)
    if p.get("verify") is False:
        p.pop("fingerprint", None)
    # No ANONYMOUS, and no allow_plain_auth_without_tls, in an msmtprc.
    if p["auth"] == "anonymous" or p["tls"] == "none":
        p["auth"] = "none"
        p.pop("username", None)
        p.pop("password", None)
    return p


def msmtp_quoted(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def msmtp_account(p):
    """The msmtprc lines of one profile (after a 'defaults / tls on')."""
    lines = ["", "account " + p["name"], "host " + p["host"],
             "port %d" % p["port"]]
    if p["tls"] == "none":
        lines.append("tls off")
    elif p["tls"] == "implicit":
        lines.append("tls_starttls off")
    if p.get("verify") is False:
        lines.append("tls_certcheck off")
    if "ca_file" in p:
        lines.append("tls_trust_file " + p["ca_file"])
    if "fingerprint" in p:
        hexd = p["fingerprint"][len("sha256:"):].upper()
        lines.append("tls_fingerprint " +
                     ":".join(hexd[i:i + 2] for i in range(0, 64, 2)))
    lines.append("auth " + ("off" if p["auth"] == "none" else p["auth"]))
    if "username" in p:
        lines.append("user " + p["username"])
        lines.append("password " + msmtp_quoted(p["password"]))
    for key, cmd in (("from", "from"), ("helo", "domain"),
                     ("timeout", "timeout")):
        if key in p:
            lines.append("%s %s" % (cmd, p[key]))
    return "\n".join(lines) + "\n"


def cmd_msmtprc(n, out_rc, out_json):
    r = random.Random(20240602)
    profiles = [msmtp_profile(r, i) for i in range(n)]
    with open(out_rc, "w", encoding="utf-8") as f:
        f.write("# %d accounts for bench/import.sh\n"
                "defaults\ntls on\ntls_starttls on\n" % n)
        for p in profiles:
            f.write(msmtp_account(p))
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump({"profiles": profiles}, f, indent=2, ensure_ascii=False)
        f.write("\n")


# The store's connection set-up (store/store_sqlite.c, store_open()).
PRAGMAS = ("PRAGMA journal_mode = WAL;\nPRAGMA synchronous = FULL;\n"
           "PRAGMA secure_delete = ON;\nPRAGMA foreign_keys = ON;\n")


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    raise TypeError("unexpected %r" % (v,))


def columns(db, table, skip=()):
    return [row[1] for row in db.execute("PRAGMA table_info(%s)" % table)
            if row[1] not in skip]


def cmd_sql(schema_db, source_db, out, audit):
    schema = sqlite3.connect("file:%s?mode=ro" % schema_db, uri=True)
    pcols = columns(schema, "profiles")
    acols = columns(schema, "audit", skip=("id",))   # INTEGER PRIMARY KEY
    schema.close()
    src = sqlite3.connect("file:%s?mode=ro" % source_db, uri=True)
    audits = {}
    if audit:
        for row in src.execute("SELECT profile, %s FROM audit ORDER BY id" %
                               ", ".join(acols)):
            audits[row[0]] = row[1:]
    pins = "INSERT INTO profiles (%s) VALUES (" % ", ".join(pcols)
    ains = "INSERT INTO audit (%s) VALUES (" % ", ".join(acols)
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        f.write(PRAGMAS + "BEGIN IMMEDIATE;\n")
        for row in src.execute("SELECT %s FROM profiles ORDER BY rowid" %
                               ", ".join(pcols)):
            f.write(pins + ", ".join(map(lit, row)) + ");\n")
            if audit:
                f.write(ains + ", ".join(map(lit, audits[row[0]])) + ");\n")
            n += 1
        f.write("COMMIT;\n")
    src.close()
    if n == 0:
        sys.exit("gen_profiles.py: %s holds no profiles" % source_db)


def cmd_floor(schema_db, source_db, out):
    schema = sqlite3.connect("file:%s?mode=ro" % schema_db, uri=True)
    pcols = ", ".join(columns(schema, "profiles"))
    acols = ", ".join(columns(schema, "audit", skip=("id",)))
    schema.close()
    with open(out, "w", encoding="utf-8") as f:
        f.write(PRAGMAS + "ATTACH %s AS src;\nBEGIN IMMEDIATE;\n" %
                lit(source_db))
        f.write("INSERT INTO main.profiles (%s) SELECT %s FROM src.profiles "
                "ORDER BY rowid;\n" % (pcols, pcols))
        f.write("INSERT INTO main.audit (%s) SELECT %s FROM src.audit "
                "ORDER BY id;\nCOMMIT;\n" % (acols, acols))


def main(argv):
    if len(argv) == 4 and argv[1] == "json":
        cmd_json(int(argv[2]), argv[3])
    elif len(argv) == 5 and argv[1] == "msmtprc":
        cmd_msmtprc(int(argv[2]), argv[3], argv[4])
    elif len(argv) in (5, 6) and argv[1] == "sql" and \
            argv[5:] in ([], ["--audit"]):
        cmd_sql(argv[2], argv[3], argv[4], len(argv) == 6)
    elif len(argv) == 5 and argv[1] == "floor":
        cmd_floor(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
