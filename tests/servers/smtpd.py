#!/usr/bin/python3
"""tests/servers/smtpd.py: the real SMTP server the engine's tests talk to.

It only configures aiosmtpd (Debian's python3-aiosmtpd; run it with
/usr/bin/python3): the protocol is aiosmtpd's, so a test against it is a test
against a maintained server, not against our idea of SMTP.  It is not a
misbehaving server (see badsmtp.py) and not a relay: messages go to --maildir.

Usage:
  smtpd.py [--host 127.0.0.1] --port N|0 [--mode plain|starttls|implicit]
           [--cert FILE --key FILE] [--require-starttls]
           [--auth] [--user U --password P] [--mechanisms PLAIN,LOGIN,ANONYMOUS]
           [--auth-require-tls | --no-auth-require-tls] [--auth-required]
           [--maildir DIR] [--log FILE]
           [--mail-reply R] [--rcpt-reply R] [--data-reply R] [--fail-first N]
           [--rcpt-reply-for ADDR=R]... [--data-delay SECONDS] [--die-after N]
           [--pipelining] [--wait-sessions N] [--gate FILE --gate-after N]
           [--wait-max SECONDS] [--peak FILE]

Once listening it prints exactly one line "PORT <n>" to stdout.  SIGTERM or
SIGINT stops it (exit 0).

--maildir DIR: message k (1-based, in order of acceptance) is DIR/%04d.eml
  holding exactly the DATA content as received (dot-unstuffed, CRLF line
  ends, including the final CRLF before "."), and DIR/%04d.json, one key
  per line as '"key": <compact JSON value>' (e.g. '"rcpt_tos": ["a@b",
  "c@d"]', '"tls": true', '"auth_login": null'):
  {"mail_from", "rcpt_tos", "mail_options", "rcpt_options", "ehlo",
   "auth_mechanism" (null if none), "auth_login" (PLAIN/LOGIN authcid),
   "auth_trace" (ANONYMOUS trace, decoded), "tls" (bool), "tls_version",
   "peer" ([host, port]), "transaction" (see --fail-first),
   "size" (octets in the .eml)}.
  The .json is written first, then the .eml, each renamed into place, and
  both before the 250 reply goes out.
--auth: offers AUTH PLAIN LOGIN ANONYMOUS (or --mechanisms).  PLAIN and LOGIN
  succeed only with --user/--password (default user/secret), else 535.
  ANONYMOUS always succeeds and records its trace.  --auth-require-tls
  (default: on in starttls mode, off in plain mode) hides AUTH and answers
  538 to it until STARTTLS.  Implicit TLS is always encrypted, so there AUTH
  is always offered.
--mail-reply/--rcpt-reply/--data-reply "451 4.3.0 try later": that reply
  instead of the normal one, for transactions 1..N with --fail-first N (all
  of them by default).  Transactions are counted across connections: every
  MAIL command starts the next one.  A DATA reply not starting with 2 means
  the message is not stored.
--rcpt-reply-for ADDR=R (repeatable): that reply to RCPT TO:<ADDR> only
  (address compared without regard to case), before --rcpt-reply; counted
  by --fail-first like the others.  A recipient refused is not stored in
  rcpt_tos.
--data-delay SECONDS: waits that long (a float) after the end of the data
  before storing and replying: a slow server, for stopping an engine in
  the middle of a queue.
--die-after N: once N messages are stored, the next MAIL command kills the
  server (os._exit, as a crash would): that connection drops without a
  reply and the port stops listening.  Nothing after the Nth message is
  stored.
--pipelining: offers PIPELINING (RFC 2920) in the EHLO reply.  aiosmtpd
  reads its input as a stream and answers commands in order, so a client
  may send groups of commands (and a message's data followed by the next
  message's commands) without waiting; without this option it does not
  offer the extension.
--wait-sessions N: the MAIL commands wait until N sessions have been
  connected at once (the peak, see --peak), so that a client's N sessions
  are seen to overlap whatever the scheduler does.  A client that never
  opens N at once is answered after --wait-max, and from then on no MAIL
  waits.
--gate FILE --gate-after N: once N messages are stored, the end of the data
  of each later message waits until FILE exists (checked every 10 ms):
  the test holds message N+1 in flight for as long as it needs and lets it
  go by creating FILE.  After --wait-max without FILE the server stops
  waiting for it.
--wait-max SECONDS (default 30, a float): the longest either wait lasts;
  set the client's timeout above it.
--peak FILE: the most sessions connected at once so far, as a number and a
  newline, rewritten (renamed into place) whenever it rises.
--log FILE: every command line received (verbatim, without CRLF), one per
  line; AUTH continuation lines (LOGIN's base64 answers) are not commands.
"""

import argparse
import asyncio
import base64
import binascii
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, MISSING


class AuthInfo:
    """What a successful AUTH left behind, kept in session.auth_data."""

    def __init__(self, mechanism, login=None, trace=None):
        self.mechanism = mechanism
        self.login = login
        self.trace = trace


class LoggingSMTP(SMTP):
    """aiosmtpd's SMTP, recording each command line to --log and telling
    the handler when a session starts and ends."""

    log_file = None
    gw_counted = False

    def connection_made(self, transport):
        # Called again on the same object after STARTTLS: counted once.
        super().connection_made(transport)
        if not self.gw_counted:
            self.gw_counted = True
            self.event_handler.session_started()

    def connection_lost(self, error):
        super().connection_lost(error)
        if self.gw_counted:
            self.gw_counted = False
            self.event_handler.session_ended()

    async def _log_and_call(self, name, arg):
        if self.log_file is not None:
            line = name if arg is None else f"{name} {arg}"
            self.log_file.write(line.encode("utf-8", "surrogateescape") + b"\n")
            self.log_file.flush()
        return await getattr(super(), "smtp_" + name)(arg)


def _wrap(name):
    async def method(self, arg):
        return await self._log_and_call(name, arg)
    method.__name__ = "smtp_" + name
    # aiosmtpd's HELP reads the syntax attributes of the method.
    orig = getattr(SMTP, "smtp_" + name)
    for attr in ("__smtp_syntax__", "__smtp_syntax_extended__",
                 "__smtp_syntax_when__"):
        if hasattr(orig, attr):
            setattr(method, attr, getattr(orig, attr))
    return method


for _name in [n[5:] for n in dir(SMTP) if n.startswith("smtp_")]:
    setattr(LoggingSMTP, "smtp_" + _name, _wrap(_name))


class Handler:
    def __init__(self, opts):
        self.opts = opts
        self.transactions = 0   # MAIL commands seen, across connections
        self.stored = 0
        self.sessions = 0       # connected now
        self.peak = 0           # the most connected at once
        # Set once --wait-sessions is met or given up: MAIL waits no more.
        self.together = asyncio.Event()
        if opts.wait_sessions is None:
            self.together.set()
        self.gate_given_up = False

    def session_started(self):
        self.sessions += 1
        if self.sessions > self.peak:
            self.peak = self.sessions
            if self.opts.peak:
                _write_atomic(self.opts.peak, f"{self.peak}\n".encode())
            if (self.opts.wait_sessions is not None
                    and self.peak >= self.opts.wait_sessions):
                self.together.set()

    def session_ended(self):
        self.sessions -= 1

    async def _wait_together(self):
        if self.together.is_set():
            return
        try:
            await asyncio.wait_for(self.together.wait(), self.opts.wait_max)
        except asyncio.TimeoutError:
            sys.stderr.write(f"smtpd.py: --wait-sessions "
                             f"{self.opts.wait_sessions}: only {self.peak} "
                             f"at once after {self.opts.wait_max} s\n")
            sys.stderr.flush()
            self.together.set()

    async def _wait_gate(self):
        opts = self.opts
        if (opts.gate is None or self.gate_given_up
                or self.stored < opts.gate_after):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + opts.wait_max
        while not os.path.exists(opts.gate):
            if loop.time() >= deadline:
                sys.stderr.write(f"smtpd.py: --gate {opts.gate}: not there "
                                 f"after {opts.wait_max} s\n")
                sys.stderr.flush()
                self.gate_given_up = True
                return
            await asyncio.sleep(0.01)

    def _forced(self, reply, session):
        if reply is None:
            return None
        n = self.opts.fail_first
        if n is not None and getattr(session, "gw_transaction", 0) > n:
            return None
        return reply

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        # With every mechanism excluded aiosmtpd would still send "AUTH ".
        responses = [r for r in responses if r.rstrip() != "250-AUTH"]
        if self.opts.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        if (self.opts.die_after is not None
                and self.stored >= self.opts.die_after):
            os._exit(0)
        await self._wait_together()
        self.transactions += 1
        session.gw_transaction = self.transactions
        forced = self._forced(self.opts.mail_reply, session)
        if forced is not None:
            return forced
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.opts.rcpt_reply_for.get(address.lower(),
                                             self.opts.rcpt_reply)
        forced = self._forced(reply, session)
        if forced is not None:
            return forced
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await self._wait_gate()
        if self.opts.data_delay > 0:
            await asyncio.sleep(self.opts.data_delay)
        forced = self._forced(self.opts.data_reply, session)
        if forced is not None and not forced.startswith("2"):
            return forced
        if self.opts.maildir:
            self._store(server, session, envelope)
        return forced or "250 OK"

    def _store(self, server, session, envelope):
        self.stored += 1
        base = os.path.join(self.opts.maildir, "%04d" % self.stored)
        sslobj = server.transport.get_extra_info("ssl_object")
        auth = session.auth_data if session.authenticated else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "ehlo": session.host_name,
            "auth_mechanism": auth.mechanism if auth else None,
            "auth_login": auth.login if auth else None,
            "auth_trace": auth.trace if auth else None,
            "tls": sslobj is not None,
            "tls_version": sslobj.version() if sslobj is not None else None,
            "peer": list(session.peer[:2]) if session.peer else None,
            "transaction": getattr(session, "gw_transaction", None),
            "size": len(envelope.original_content),
        }
        # One key per line, each value compact, so a C test can match
        # '"rcpt_tos": ["a@b", "c@d"]' as a substring.
        text = "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}"
                                   for k, v in meta.items()) + "\n}\n"
        _write_atomic(base + ".json", text.encode())
        _write_atomic(base + ".eml", envelope.original_content)

    async def auth_ANONYMOUS(self, server, args):
        """RFC 4505: the trace is the initial response or the answer to an
        empty challenge; any trace is accepted."""
        if len(args) == 1:
            trace = await server.challenge_auth("")
            if trace is MISSING:
                return AuthResult(success=False)
        elif args[1] == "=":
            trace = b""
        else:
            try:
                trace = base64.b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        text = trace.decode("utf-8", "replace")
        return AuthResult(success=True,
                          auth_data=AuthInfo("ANONYMOUS", trace=text))

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        """aiosmtpd's authenticator for its built-in PLAIN and LOGIN."""
        login = auth_data.login.decode("utf-8", "replace")
        if (auth_data.login == self.opts.user.encode()
                and auth_data.password == self.opts.password.encode()):
            return AuthResult(success=True,
                              auth_data=AuthInfo(mechanism, login=login))
        return AuthResult(success=False, handled=False)


def _write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def parse_args(argv):
    p = argparse.ArgumentParser(description="aiosmtpd server for the tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["plain", "starttls", "implicit"],
                   default="plain")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--require-starttls", action="store_true",
                   help="530 to commands other than EHLO/STARTTLS/QUIT... "
                        "before STARTTLS")
    p.add_argument("--auth", action="store_true")
    p.add_argument("--user", default="user")
    p.add_argument("--password", default="secret")
    p.add_argument("--mechanisms", default="PLAIN,LOGIN,ANONYMOUS")
    p.add_argument("--auth-require-tls", action=argparse.BooleanOptionalAction,
                   default=None)
    p.add_argument("--auth-required", action="store_true",
                   help="530 to MAIL before AUTH")
    p.add_argument("--maildir")
    p.add_argument("--log")
    p.add_argument("--mail-reply")
    p.add_argument("--rcpt-reply")
    p.add_argument("--data-reply")
    p.add_argument("--fail-first", type=int)
    p.add_argument("--rcpt-reply-for", action="append", default=[],
                   metavar="ADDR=REPLY")
    p.add_argument("--data-delay", type=float, default=0)
    p.add_argument("--die-after", type=int)
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--wait-sessions", type=int)
    p.add_argument("--gate")
    p.add_argument("--gate-after", type=int, default=0)
    p.add_argument("--wait-max", type=float, default=30)
    p.add_argument("--peak")
    p.add_argument("--timeout", type=float, default=300)
    opts = p.parse_args(argv)
    if opts.mode != "plain" and not (opts.cert and opts.key):
        p.error(f"--mode {opts.mode} needs --cert and --key")
    replies = {}
    for item in opts.rcpt_reply_for:
        addr, sep, reply = item.partition("=")
        if not sep or not addr or not reply:
            p.error(f"--rcpt-reply-for {item!r}: expected ADDR=REPLY")
        replies[addr.lower()] = reply
    opts.rcpt_reply_for = replies
    if opts.auth_require_tls is None:
        opts.auth_require_tls = opts.mode == "starttls"
    return opts


async def serve(opts):
    loop = asyncio.get_running_loop()
    handler = Handler(opts)
    ctx = None
    if opts.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts.cert, opts.key)
    offered = [m.strip().upper() for m in opts.mechanisms.split(",") if m.strip()]
    exclude = ["PLAIN", "LOGIN", "ANONYMOUS"]
    if opts.auth:
        exclude = [m for m in exclude if m not in offered]
    log_file = open(opts.log, "ab") if opts.log else None
    if opts.maildir:
        os.makedirs(opts.maildir, exist_ok=True)

    def factory():
        s = LoggingSMTP(
            handler,
            hostname="localhost",
            loop=loop,
            tls_context=ctx if opts.mode == "starttls" else None,
            require_starttls=opts.require_starttls,
            # aiosmtpd only knows about STARTTLS: on an implicit-TLS
            # connection it would refuse AUTH as unencrypted.
            auth_require_tls=(opts.auth_require_tls
                              and opts.mode != "implicit"),
            auth_required=opts.auth_required,
            auth_exclude_mechanism=exclude,
            authenticator=handler.authenticate,
            timeout=opts.timeout,
        )
        s.log_file = log_file
        return s

    server = await loop.create_server(
        factory, host=opts.host, port=opts.port,
        ssl=ctx if opts.mode == "implicit" else None)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()
    await stop
    server.close()


def main():
    opts = parse_args(sys.argv[1:])
    # aiosmtpd warns about AUTH without TLS (which plain-mode tests want)
    # and about its own deprecations; errors still reach stderr.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
