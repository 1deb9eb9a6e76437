#!/usr/bin/python3
"""tests/servers/badsmtp.py: scripted misbehaving SMTP servers for the tests.

Each scenario is a minimal correct SMTP server except for one deliberate
fault, so a client gets exactly to the point under test.  It is not a real
server (use smtpd.py, i.e. aiosmtpd, for delivery tests): nothing is stored.
Standard library only (socket, ssl, threads); run with /usr/bin/python3.

Usage:
  badsmtp.py --scenario NAME --port N|0 [--host 127.0.0.1]
             [--cert FILE --key FILE] [--implicit] [--log FILE]
             [--length N] [--drip-ms N]

Prints exactly one line "PORT <n>" to stdout once listening; serves any number
of connections, one thread each; SIGTERM or SIGINT stops it (exit 0).

--log FILE: every line the client sent outside DATA, verbatim without its
  CRLF, one per line, flushed at once: commands and AUTH continuation lines
  (so credentials appear there).  DATA content is not logged.
--cert/--key: with them the normal server offers and performs STARTTLS
  (starttls-454/502/354 offer it without them: they never handshake);
  --implicit: TLS from the first byte (needs --cert/--key).

The normal server: greeting "220 localhost ESMTP badsmtp"; EHLO answers
  250-localhost, 250-PIPELINING, 250-8BITMIME, [250-STARTTLS], then
  "250 AUTH PLAIN LOGIN ANONYMOUS"; HELO 250; AUTH accepts anything (235,
  after the 334 exchanges PLAIN without initial response and LOGIN need);
  MAIL, RCPT, RSET, NOOP 250; DATA 354, then 250 after the "."; QUIT 221 and
  close; anything else 500.

Scenarios (the one fault each):
  normal          none
  no-starttls     EHLO never offers STARTTLS, even with --cert; AUTH offered
  starttls-454    STARTTLS -> "454 4.7.0 TLS not available", stays plain
  starttls-502    STARTTLS -> "502 5.5.1 STARTTLS not implemented", plain
  starttls-354    STARTTLS -> "354 go ahead", stays plain
  starttls-inject STARTTLS -> "220 go ahead\\r\\n250 injected\\r\\n" in one
                  write, then the TLS handshake (if the client still does one)
  greeting-421    greeting "421 4.3.2 service not available"; then 221 to
                  QUIT, 503 to anything else
  long-line       first EHLO reply line is "250-" + "x"*... : --length octets
                  (default 10000) before the CRLF; then the normal lines
  data-stall      354 to DATA, reads the content and never answers the "."
  close-mid-reply EHLO -> "250-first\\r\\n", then closes the connection
  auth-535        EHLO offers "AUTH PLAIN LOGIN"; AUTH -> "535 5.7.8
                  authentication credentials invalid" (after the 334s)
  rcpt-451        RCPT -> "451 4.3.0 try again later"
  mail-550        MAIL -> "550 5.7.1 sender rejected"
  tls11-only      implicit TLS limited to TLS 1.0 and 1.1 (needs --cert/--key):
                  Python's ssl with minimum TLSv1, maximum TLSv1_1 and
                  ciphers "DEFAULT:@SECLEVEL=0" (OpenSSL 3 refuses them at its
                  default security level); after the handshake, normal.
  data-250        DATA -> "250 2.0.0 OK" instead of 354 (then normal)
  data-close      354 to DATA, reads the data, closes without a reply
  data-noread     354 to DATA, then reads nothing more (and answers nothing)
  auth-echo       every reply to AUTH and to its continuation lines echoes
                  what the client sent: "334 <line>", then
                  "535-5.7.8 you sent <line>" / "535 5.7.8 <AUTH line>"
  auth-echo-long  AUTH -> one invalid reply line (longer than 512 octets)
                  that starts with what the client sent
  drip            the reply to the end of data, "250 2.0.0 " and --length
                  'x's, one byte every --drip-ms (default 100) ms
  drip-tls        no SMTP: a TLS record header, then one byte every
                  --drip-ms ms, forever (for the handshake's time limit)
"""

import argparse
import signal
import socket
import ssl
import sys
import threading
import time
import warnings

SCENARIOS = [
    "normal", "no-starttls", "starttls-454", "starttls-502", "starttls-354",
    "starttls-inject", "greeting-421", "long-line", "data-stall",
    "close-mid-reply", "auth-535", "rcpt-451", "mail-550", "tls11-only",
    "data-250", "data-close", "data-noread", "auth-echo", "auth-echo-long",
    "drip", "drip-tls",
]


class Closed(Exception):
    """The client went away, or the scenario closed the connection."""


class Session:
    def __init__(self, sock, opts, ctx, log):
        self.sock = sock
        self.opts = opts
        self.ctx = ctx
        self.log = log
        self.buf = b""
        self.tls = False
        self.sc = opts.scenario

    # I/O -------------------------------------------------------------
    def send(self, data):
        self.sock.sendall(data)

    def reply(self, *lines):
        self.send(b"".join(line.encode() + b"\r\n" for line in lines))

    def drip(self, data):
        for i in range(len(data)):
            self.send(data[i:i + 1])
            time.sleep(self.opts.drip_ms / 1000)

    def readline(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                raise Closed()
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def logged_line(self):
        line = self.readline()
        if self.log is not None:
            with self.log[1]:
                self.log[0].write(line + b"\n")
                self.log[0].flush()
        return line

    def start_tls(self):
        # RFC 3207: what the client sent before the handshake is discarded.
        self.buf = b""
        self.sock = self.ctx.wrap_socket(self.sock, server_side=True)
        self.tls = True

    # The session -------------------------------------------------------
    def run(self):
        try:
            if self.sc == "drip-tls":
                # A handshake record of 16 KiB announced, then a trickle.
                self.send(b"\x16\x03\x03\x40\x00")
                while True:
                    self.drip(b"\x00")
            if self.opts.implicit or self.sc == "tls11-only":
                self.start_tls()
            if self.sc == "greeting-421":
                self.reply("421 4.3.2 service not available")
                while True:
                    cmd = self.logged_line().split(b" ")[0].upper()
                    if cmd == b"QUIT":
                        self.reply("221 2.0.0 bye")
                        return
                    self.reply("503 5.5.1 no service")
            self.reply("220 localhost ESMTP badsmtp")
            while True:
                line = self.logged_line()
                verb, _, arg = line.partition(b" ")
                handler = getattr(self, "cmd_" + verb.decode("ascii", "replace").upper(), None)
                if handler is None:
                    self.reply("500 5.5.2 command not recognized")
                elif handler(arg.strip()) is False:
                    return
        except Closed:
            pass
        except (OSError, ssl.SSLError) as e:
            print(f"badsmtp: {self.sc}: {e}", file=sys.stderr, flush=True)
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def cmd_EHLO(self, arg):
        if self.sc == "close-mid-reply":
            self.send(b"250-first\r\n")
            raise Closed()
        lines = ["250-localhost"]
        if self.sc == "long-line":
            lines = ["250-" + "x" * (self.opts.length - 4)]
        lines += ["250-PIPELINING", "250-8BITMIME"]
        refuses = self.sc in ("starttls-454", "starttls-502", "starttls-354")
        if not self.tls and (self.ctx is not None or refuses) \
                and self.sc != "no-starttls":
            lines.append("250-STARTTLS")
        if self.sc == "auth-535":
            lines.append("250 AUTH PLAIN LOGIN")
        else:
            lines.append("250 AUTH PLAIN LOGIN ANONYMOUS")
        self.reply(*lines)

    def cmd_HELO(self, arg):
        self.reply("250 localhost")

    def cmd_STARTTLS(self, arg):
        if self.sc == "starttls-454":
            self.reply("454 4.7.0 TLS not available")
        elif self.sc == "starttls-502":
            self.reply("502 5.5.1 STARTTLS not implemented")
        elif self.sc == "starttls-354":
            self.reply("354 go ahead")
        elif self.ctx is None or self.tls or self.sc == "no-starttls":
            self.reply("502 5.5.1 STARTTLS not available")
        else:
            if self.sc == "starttls-inject":
                # One write, so the injected reply arrives with the 220.
                self.send(b"220 go ahead\r\n250 injected\r\n")
            else:
                self.reply("220 2.0.0 go ahead")
            self.start_tls()

    def auth_echo(self, arg):
        """Echoes every line the client sends during AUTH."""
        said = [arg.decode("latin-1")]
        if self.sc == "auth-echo-long":
            self.reply("535 " + said[0] + "x" * 600)
            return
        for _ in range(2):
            self.reply("334 " + said[-1])
            said.append(self.logged_line().decode("latin-1"))
            if said[-1] == "*":
                break
        self.reply("535-5.7.8 you sent " + said[-1],
                   "535 5.7.8 " + said[0])

    def cmd_AUTH(self, arg):
        if self.sc in ("auth-echo", "auth-echo-long"):
            return self.auth_echo(arg)
        parts = arg.split()
        mech = parts[0].upper() if parts else b""
        if mech == b"LOGIN":
            if len(parts) < 2:
                self.reply("334 VXNlcm5hbWU6")
                self.logged_line()
            self.reply("334 UGFzc3dvcmQ6")
            self.logged_line()
        elif mech in (b"PLAIN", b"ANONYMOUS") and len(parts) < 2:
            self.reply("334 ")
            self.logged_line()
        elif mech not in (b"PLAIN", b"ANONYMOUS"):
            self.reply("504 5.5.4 unrecognized authentication type")
            return
        if self.sc == "auth-535":
            self.reply("535 5.7.8 authentication credentials invalid")
        else:
            self.reply("235 2.7.0 authentication successful")

    def cmd_MAIL(self, arg):
        if self.sc == "mail-550":
            self.reply("550 5.7.1 sender rejected")
        else:
            self.reply("250 2.1.0 OK")

    def cmd_RCPT(self, arg):
        if self.sc == "rcpt-451":
            self.reply("451 4.3.0 try again later")
        else:
            self.reply("250 2.1.5 OK")

    def cmd_DATA(self, arg):
        if self.sc == "data-250":
            self.reply("250 2.0.0 OK")
            return
        self.reply("354 end data with <CR><LF>.<CR><LF>")
        if self.sc == "data-noread":
            while True:         # the client's writes fill the buffers
                time.sleep(1)
        while self.readline() != b".":
            pass
        if self.sc == "data-stall":
            while True:         # read on, answer nothing, until the client goes
                self.readline()
        if self.sc == "data-close":
            raise Closed()
        if self.sc == "drip":
            self.drip(b"250 2.0.0 " + b"x" * self.opts.length + b"\r\n")
            return
        self.reply("250 2.0.0 queued")

    def cmd_RSET(self, arg):
        self.reply("250 2.0.0 OK")

    def cmd_NOOP(self, arg):
        self.reply("250 2.0.0 OK")

    def cmd_QUIT(self, arg):
        self.reply("221 2.0.0 bye")
        return False


def make_context(opts):
    if not (opts.cert and opts.key):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if opts.scenario == "tls11-only":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        # TLS 1.0/1.1 need SHA-1 in the handshake, refused at SECLEVEL >= 1.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_cert_chain(opts.cert, opts.key)
    return ctx


def main():
    p = argparse.ArgumentParser(description="misbehaving SMTP servers")
    p.add_argument("--scenario", required=True, choices=SCENARIOS)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit", action="store_true")
    p.add_argument("--log")
    p.add_argument("--length", type=int, default=10000)
    p.add_argument("--drip-ms", type=int, default=100)
    opts = p.parse_args()
    if (opts.implicit or opts.scenario in ("tls11-only", "starttls-inject")) \
            and not (opts.cert and opts.key):
        p.error(f"--scenario {opts.scenario} needs --cert and --key")
    if opts.length < 5:
        p.error("--length must be at least 5")
    ctx = make_context(opts)
    log = (open(opts.log, "ab"), threading.Lock()) if opts.log else None

    def stop(signum, frame):
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
    ls = socket.create_server((opts.host, opts.port), family=family)
    print(f"PORT {ls.getsockname()[1]}", flush=True)
    while True:
        conn, _ = ls.accept()
        t = threading.Thread(target=Session(conn, opts, ctx, log).run,
                             daemon=True)
        t.start()


if __name__ == "__main__":
    main()
