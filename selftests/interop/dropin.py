# SPDX-License-Identifier: GPL-2.0
"""kmqtt as a drop-in for Mosquitto: each scenario starts Debian's
/usr/sbin/mosquitto with a configuration file, runs MQTT clients (raw
sockets) against it and records what comes back on the wire (CONNACK
codes, deliveries, acknowledgements, closed connections); then kmqttd
with the same file (other ports) and the same clients.  The two records
must be equal, except for the differences listed in INTENDED, each with
its reason; an intended difference that does not show fails too.  Prints
TAP.

Needs $KMQTT_TEST_CERTS (selftests/certs/mkcerts.sh) for the TLS
scenarios, root, and kmqtt.ko loaded (tools/vm/run).
"""

import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

from mqtt_packets import connect, describe, packet, string
import mqtt5_packets as m5

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KMQTTD = os.environ.get("KMQTTD", os.path.join(ROOT, "agent", "kmqttd"))
KMQTTCTL = os.path.join(ROOT, "tools", "kmqttctl", "kmqttctl")
MOSQUITTO = "/usr/sbin/mosquitto"
CERTS = os.environ.get("KMQTT_TEST_CERTS", "")
# How long to wait for what may still come (a delivery, a close).
QUIET = 0.5
# Passwords of the password file (mosquitto_passwd makes it).
USERS = {"alice": "alice pw", "bob": "bob pw"}


class Client:
    """One connection; read() returns what arrived, 'closed' at the end."""

    def __init__(self, port, tls=None, cert=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(os.path.join(CERTS, "ca.pem"))
            if cert:
                ctx.load_cert_chain(os.path.join(CERTS, cert + ".pem"),
                                    os.path.join(CERTS, cert + ".key"))
            self.sock = ctx.wrap_socket(self.sock,
                                        server_hostname="localhost")
        self.buf = b""
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, ssl.SSLError, OSError):
                data = b""
            if not data:
                self.closed = True
                return False
            self.buf += data
            return True
        return False

    def _packet(self):
        """A whole packet from the buffer, or None."""
        n, mult, i = 0, 1, 1
        while True:
            if i >= len(self.buf):
                return None
            n += (self.buf[i] & 0x7F) * mult
            mult *= 128
            i += 1
            if not self.buf[i - 1] & 0x80:
                break
        if len(self.buf) < i + n:
            return None
        first, body = self.buf[0], self.buf[i:i + n]
        self.buf = self.buf[i + n:]
        return describe(first, body)

    def read(self, quiet=QUIET, first=None):
        """Everything that arrives until nothing has for @quiet seconds
        (@first for the first packet, when one is sure to come)."""
        out = []
        wait = first or quiet
        while True:
            p = self._packet()
            if p:
                out.append(p)
                wait = quiet
                continue
            if not self._fill(time.monotonic() + wait):
                break
        if self.closed and not self.buf:
            out.append("closed")
        return out

    def connect(self, *args, **kw):
        """CONNACK or a closed connection come, maybe after a while: the
        VM may emulate the CPU, and TLS keys take long then."""
        self.send(connect(*args, **kw))
        return self.read(first=10)

    def subscribe(self, topic, qos=1, mid=1):
        self.send(packet(0x82, struct.pack("!H", mid) + string(topic) +
                         bytes([qos])))
        return self.read(first=10)

    def publish(self, topic, payload, qos=0, mid=1, retain=False):
        if isinstance(payload, str):
            payload = payload.encode()
        first = 0x30 | qos << 1 | (1 if retain else 0)
        self.send(packet(first, string(topic) +
                         (struct.pack("!H", mid) if qos else b"") + payload))

    def disconnect(self):
        self.send(packet(0xE0, b""))
        self.sock.close()

    def drop(self):
        """Close without DISCONNECT: the will is published."""
        self.sock.close()


# --- the two brokers ---------------------------------------------------------

class Broker:
    """mosquitto or kmqttd, with a configuration written from a template
    in which P0, P1, ... are this broker's ports and DIR the work
    directory."""

    def __init__(self, kind, base_port, work):
        self.kind = kind
        self.base = base_port
        self.work = work
        self.proc = None
        self.log_path = os.path.join(work, kind + ".log")
        self.conf = os.path.join(work, kind + ".conf")

    def port(self, i):
        return self.base + i

    def write_conf(self, template):
        text = template.replace("DIR", self.work).replace("CERTS", CERTS)
        text = re.sub(r"P(\d)", lambda m: str(self.port(int(m.group(1)))),
                      text)
        # Mosquitto run as root drops to user "mosquitto" unless told.
        with open(self.conf, "w") as f:
            f.write("user root\n" + text)

    def start(self, template, listeners):
        """Returns None once listening, else how it ended."""
        self.write_conf(template)
        argv = ([MOSQUITTO, "-c", self.conf] if self.kind == "mosquitto"
                else [KMQTTD, "-c", self.conf])
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                status = self.proc.returncode
                self.proc = None
                return "exited with status %d" % status
            if all(self._listening(p) for p in listeners):
                return None
            time.sleep(0.05)
        return "not listening after 20 s"

    def _listening(self, i):
        if self.kind == "kmqttd":
            return self.log().count("kmqttd: listening on") >= i + 1
        try:
            socket.create_connection(("127.0.0.1", self.port(i)), 1).close()
            return True
        except OSError:
            return False

    def hup(self, template=None):
        if template:
            self.write_conf(template)
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(1)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def usernames(self):
        """The u'...' of the connection log lines, in order."""
        return re.findall(r"New client connected from \S+ as \S+ "
                          r"\(p\d, c\d, k\d+, u'(.*)'(?:, kernel TLS)?\)",
                          self.log())

    def client_ids(self):
        return re.findall(r"New client connected from \S+ as (\S+) ",
                          self.log())


# --- scenarios ----------------------------------------------------------------
# Each gets a started Broker and returns its record: (key, observation)
# pairs in order.  Client ids carry the scenario's name: kmqtt.ko keeps
# sessions across kmqttd restarts.

def connack(b, port, client_id, **kw):
    """What a CONNECT to listener @port gets; then the client leaves."""
    c = Client(b.port(port))
    got = c.connect(client_id, **kw)
    c.drop()
    return got


PW = "password_file DIR/pw\n"
EMPTY_ACL = "acl_file DIR/acl.empty\n"


def credentials(b):
    rec = []
    cases = [("anonymous", {}), ("unknown user", dict(user="mallory",
                                                       password="x")),
             ("wrong password", dict(user="alice", password="bob pw")),
             ("user without password", dict(user="alice")),
             ("password without user", dict(password="alice pw")),
             ("empty user name", dict(user="", password="")),
             ("right password", dict(user="alice", password="alice pw"))]
    for label, kw in cases:
        for level in (4, 3):
            rec.append(("%s v%d" % (label, level),
                        connack(b, 0, "cred%d" % level, level=level, **kw)))
    return rec


def credentials_no_password_file(b):
    return [("named user, no password_file, allow_anonymous false",
             connack(b, 0, "nopw", user="alice", password="x"))]


def credentials_anonymous_allowed(b):
    rec = []
    for label, kw in (("anonymous", {}),
                      ("unknown user", dict(user="mallory", password="x")),
                      ("right password", dict(user="bob",
                                              password="bob pw"))):
        rec.append((label, connack(b, 0, "anon-ok", **kw)))
    return rec


def route(b, sub_port, pub_port, topic, tag, qos=1):
    """Subscribe on @sub_port, publish on @pub_port: what each saw."""
    sub = Client(b.port(sub_port))
    sub.connect(tag + "-sub")
    rec = [("P%d: SUBSCRIBE %s" % (sub_port, topic),
            sub.subscribe(topic, qos))]
    pub = Client(b.port(pub_port))
    pub.connect(tag + "-pub")
    pub.publish(topic, tag, qos=qos, mid=7)
    rec.append(("P%d: PUBLISH %s acknowledged" % (pub_port, topic),
                pub.read(first=10 if qos else None)))
    rec.append(("P%d: delivered" % sub_port, sub.read()))
    sub.disconnect()
    pub.disconnect()
    return rec


def empty_acl(b):
    return route(b, 0, 0, "t/1", "acl-empty")


def acl_reload_to_empty(b):
    """Subscribed while the file allows it; the reload empties it."""
    sub = Client(b.port(0))
    sub.connect("acl-reload-sub")
    rec = [("SUBSCRIBE", sub.subscribe("t/#"))]
    pub = Client(b.port(1))
    pub.connect("acl-reload-pub")
    pub.publish("t/1", "before", qos=1, mid=1)
    rec.append(("before: PUBACK", pub.read(first=10)))
    rec.append(("before: delivered", sub.read()))
    os.replace(os.path.join(b.work, "acl.empty.copy"),
               os.path.join(b.work, "acl.reload"))
    b.hup()
    pub.publish("t/1", "after", qos=1, mid=2)
    rec.append(("after: PUBACK", pub.read(first=10)))
    rec.append(("after: delivered", sub.read()))
    sub.disconnect()
    pub.disconnect()
    return rec


def anonymous(b, port):
    return connack(b, port, "plt%d" % port)


def per_listener_auth(b):
    rec = []
    for port in (0, 1):
        rec.append(("P%d anonymous" % port, anonymous(b, port)))
        rec.append(("P%d alice" % port,
                    connack(b, port, "plt-alice%d" % port, user="alice",
                            password="alice pw")))
    return rec


def per_listener_acl(b):
    return (route(b, 0, 0, "t/1", "plt-acl0") +
            route(b, 1, 1, "t/1", "plt-acl1"))


def per_listener_reload(b):
    rec = [("before: P1 anonymous", anonymous(b, 1))]
    b.hup(PER_LISTENER_RELOADED)
    rec.append(("after: P0 anonymous", anonymous(b, 0)))
    rec.append(("after: P1 anonymous", anonymous(b, 1)))
    return rec


def per_listener_default_listener(b):
    return [("default listener, allow_anonymous unset: anonymous",
             anonymous(b, 0)),
            ("listener P1, allow_anonymous unset: anonymous",
             anonymous(b, 1))]


def zero_length_client_id(b):
    rec = []
    for level in (4, 3):
        for clean in (True, False):
            rec.append(("v%d clean %d" % (level, clean),
                        connack(b, 0, "", clean=clean, level=level)))
    return rec


def assigned_client_id(b):
    c = Client(b.port(0))
    rec = [("CONNACK", c.connect(""))]
    c.disconnect()
    time.sleep(0.2)
    ids = b.client_ids()
    shape = [re.sub(r"[0-9A-F]", "X", i) for i in ids]
    rec.append(("assigned id, X for a hex digit", shape))
    return rec


def v31_session_present(b):
    rec = []
    for level in (3, 4):
        c = Client(b.port(0))
        c.connect("v31-%d" % level, clean=False, level=level)
        c.subscribe("v31/#")
        c.disconnect()
        time.sleep(0.2)
        c = Client(b.port(0))
        rec.append(("v%d resumed" % level,
                    c.connect("v31-%d" % level, clean=False, level=level)))
        c.disconnect()
    return rec


def message_size_limit(b):
    sub = Client(b.port(0))
    sub.connect("msl-sub")
    sub.subscribe("big/#", 2)
    rec = []
    for qos in (0, 1, 2):
        c = Client(b.port(0))
        c.connect("msl-pub%d" % qos)
        c.publish("big/t", b"x" * 11, qos=qos, mid=7)
        got = c.read()
        if qos == 2:
            c.send(packet(0x62, struct.pack("!H", 7)))
            got += c.read()
        c.send(packet(0xC0, b""))	# PINGREQ: still connected?
        got += c.read()
        rec.append(("QoS %d, 11 bytes" % qos, got))
        c.publish("big/t", b"y" * 10, qos=qos, mid=8)
        got = c.read()
        if qos == 2:
            # Mosquitto hands a QoS 2 message on at PUBREL, kmqtt at
            # PUBLISH; both are allowed, so finish the flow.
            c.send(packet(0x62, struct.pack("!H", 8)))
            got += c.read()
        rec.append(("QoS %d, 10 bytes" % qos, got))
        c.disconnect()
    rec.append(("delivered", sub.read()))
    sub.disconnect()
    for n in (11, 10):
        rec.append(("will of %d bytes" % n,
                    connack(b, 0, "msl-will%d" % n,
                            will=("w/t", b"w" * n, 0, False))))
    return rec


def mount_point(b):
    plain = Client(b.port(1))
    plain.connect("mp-plain")
    plain.subscribe("#", 0)
    mounted = Client(b.port(0))
    mounted.connect("mp-mounted", will=("w/1", "will", 0, False))
    mounted.subscribe("t/#", 0)
    plain.publish("mp/t/1", "from plain")
    rec = [("mounted client gets", mounted.read())]
    mounted.publish("t/2", "from mounted")
    rec.append(("plain client gets", plain.read()))
    mounted.read()
    mounted.drop()
    rec.append(("will, plain client gets", plain.read()))
    plain.disconnect()
    return rec


def max_keepalive(b):
    """3.1.1 and 3.1 CONNACKs, and 5.0's reason and Server Keep Alive, for
    keepalives around max_keepalive 30 and none (0)."""
    rec = []
    for level in (4, 3):
        for keepalive in (0, 30, 31):
            rec.append(("v%d keepalive %d" % (level, keepalive),
                        connack(b, 0, "mka%d-%d" % (level, keepalive),
                                level=level, keepalive=keepalive)))
    for keepalive in (0, 30, 31):
        c = m5.Client(b.port(0), timeout=10)
        ack = c.connect("mka5-%d" % keepalive, keepalive=keepalive)
        c.close()
        rec.append(("v5 keepalive %d: reason, Server Keep Alive" % keepalive,
                    [ack.reason, ack.prop("server_keep_alive")]))
    return rec


def tls_connect(b, port, cert, client_id):
    """The CONNACK, or that TLS refused the client: with TLS 1.3 the client
    learns it in the handshake or at its first read, as timing has it."""
    try:
        c = Client(b.port(port), tls=True, cert=cert)
        r = c.connect(client_id)
        c.drop()
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        r = ["closed"]
    return ["refused in TLS"] if r == ["closed"] else r


def tls_identities(b):
    rec = []
    for cert in ("client1", "revoked", None):
        rec.append(("crlfile, %s" % cert,
                    tls_connect(b, 0, cert, "tls-crl")))
    for cert in ("client1", None):
        rec.append(("use_identity_as_username without require_certificate,"
                    " %s" % cert, tls_connect(b, 1, cert, "tls-id")))
    rec.append(("use_identity_as_username, no CN",
                tls_connect(b, 2, "nocn", "tls-nocn")))
    rec.append(("use_subject_as_username",
                tls_connect(b, 3, "subject", "tls-subject")))
    time.sleep(0.2)
    rec.append(("user names", b.usernames()))
    return rec


PER_LISTENER_RELOADED = (
    "per_listener_settings true\nlistener P0 127.0.0.1\n"
    "allow_anonymous true\nlistener P1 127.0.0.1\nallow_anonymous false\n")

TLS_LISTENER = ("listener P%d 127.0.0.1\ncertfile CERTS/server.pem\n"
                "keyfile CERTS/server.key\ncafile CERTS/ca.pem\n")

# name, configuration template, listeners, scenario
SCENARIOS = [
    ("credentials: password_file, allow_anonymous false",
     "listener P0 127.0.0.1\nallow_anonymous false\n" + PW, 1,
     credentials),
    ("credentials: no password_file, allow_anonymous false",
     "listener P0 127.0.0.1\nallow_anonymous false\n", 1,
     credentials_no_password_file),
    ("credentials: password_file, allow_anonymous true",
     "listener P0 127.0.0.1\nallow_anonymous true\n" + PW, 1,
     credentials_anonymous_allowed),
    ("acl_file without rules: nothing delivered",
     "listener P0 127.0.0.1\nallow_anonymous true\n" + EMPTY_ACL, 1,
     empty_acl),
    ("acl_file emptied by a reload: deliveries denied",
     "per_listener_settings true\n"
     "listener P0 127.0.0.1\nallow_anonymous true\nacl_file DIR/acl.reload\n"
     "listener P1 127.0.0.1\nallow_anonymous true\n", 2,
     acl_reload_to_empty),
    ("per_listener_settings: allow_anonymous and password_file",
     "per_listener_settings true\nport P0\nbind_address 127.0.0.1\n"
     "allow_anonymous false\n" + PW +
     "listener P1 127.0.0.1\nallow_anonymous true\n", 2,
     per_listener_auth),
    ("per_listener_settings: acl_file on one listener",
     "per_listener_settings true\nlistener P0 127.0.0.1\n"
     "allow_anonymous true\n" + EMPTY_ACL +
     "listener P1 127.0.0.1\nallow_anonymous true\n", 2,
     per_listener_acl),
    ("per_listener_settings: SIGHUP changes one listener",
     "per_listener_settings true\nlistener P0 127.0.0.1\n"
     "allow_anonymous true\nlistener P1 127.0.0.1\nallow_anonymous true\n",
     2, per_listener_reload),
    ("per_listener_settings after a security setting: refused at start",
     "listener P0 127.0.0.1\nallow_anonymous true\n"
     "per_listener_settings true\n", 1, None),
    ("per_listener_settings: default listener's allow_anonymous",
     "per_listener_settings true\nport P0\nbind_address 127.0.0.1\n" + PW +
     "listener P1 127.0.0.1\n", 2, per_listener_default_listener),
    ("allow_zero_length_clientid false",
     "listener P0 127.0.0.1\nallow_anonymous true\n"
     "allow_zero_length_clientid false\n", 1, zero_length_client_id),
    ("allow_zero_length_clientid true (default)",
     "listener P0 127.0.0.1\nallow_anonymous true\n", 1,
     zero_length_client_id),
    ("auto_id_prefix",
     "listener P0 127.0.0.1\nallow_anonymous true\nauto_id_prefix pre-\n"
     "log_type all\n", 1, assigned_client_id),
    ("crlfile, use_identity_as_username, use_subject_as_username",
     "allow_anonymous true\nlog_type all\n" +
     TLS_LISTENER % 0 + "require_certificate true\ncrlfile CERTS/crl.pem\n" +
     TLS_LISTENER % 1 + "use_identity_as_username true\n" +
     TLS_LISTENER % 2 + "require_certificate true\n"
     "use_identity_as_username true\n" +
     TLS_LISTENER % 3 + "require_certificate true\n"
     "use_subject_as_username true\n", 4, tls_identities),
    ("max_keepalive 30",
     "listener P0 127.0.0.1\nallow_anonymous true\nmax_keepalive 30\n", 1,
     max_keepalive),
    ("max_keepalive unset (65535)",
     "listener P0 127.0.0.1\nallow_anonymous true\n", 1, max_keepalive),
    ("MQTT 3.1 CONNACK: no session present",
     "listener P0 127.0.0.1\nallow_anonymous true\n", 1,
     v31_session_present),
    ("mount_point",
     "allow_anonymous true\nlistener P0 127.0.0.1\nmount_point mp/\n"
     "listener P1 127.0.0.1\n", 2, mount_point),
    # Last: kmqtt.ko keeps the limit after kmqttd exits (reset below).
    ("message_size_limit",
     "listener P0 127.0.0.1\nallow_anonymous true\nmessage_size_limit 10\n",
     1, message_size_limit),
]

# The differences meant to be: (scenario, key) -> (Mosquitto's record,
# kmqtt's, why).
INTENDED = {
    ("acl_file without rules: nothing delivered", "P0: SUBSCRIBE t/1"):
        (["SUBACK 01"], ["SUBACK 80"],
         "kmqtt refuses a SUBSCRIBE no read rule overlaps; Mosquitto "
         "grants it and delivers nothing (Documentation/security.rst)"),
    ("per_listener_settings: acl_file on one listener",
     "P0: SUBSCRIBE t/1"):
        (["SUBACK 01"], ["SUBACK 80"],
         "the same refusal, on the listener with the empty ACL file"),
    ("per_listener_settings: default listener's allow_anonymous",
     "default listener, allow_anonymous unset: anonymous"):
        (["CONNACK 0 sp0"], ["CONNACK 5 sp0", "closed"],
         "Mosquitto 2.0.11 leaves the default listener's allow_anonymous "
         "unset, which lets anonymous clients in; kmqtt applies 2.0's "
         "default, false, as on every other listener"),
    ("mount_point", "mounted client gets"):
        (["PUBLISH q0 r0 mp/t/1 b'from plain'"],
         ["PUBLISH q0 r0 t/1 b'from plain'"],
         "Mosquitto 2.0.11 does not strip the mount point from the topics "
         "it delivers (fixed in 2.0.12); kmqtt does"),
}

# Mosquitto 2.0.11 applies max_keepalive to 5.0 clients only; 2.0.12 on
# refuses a 3.1.x client over it, or without keepalive, and so does kmqtt
# when the file sets it (Documentation/configuration.rst).
INTENDED.update({
    ("max_keepalive 30", "v%d keepalive %d" % (level, keepalive)):
        (["CONNACK 0 sp0"], ["CONNACK 2 sp0", "closed"],
         "a 3.1.x client over max_keepalive or without keepalive is "
         "refused, as by Mosquitto 2.0.12 on")
    for level in (4, 3) for keepalive in (0, 31)})


def record_of(kind, base, work, scenario):
    name, template, listeners, run = scenario
    b = Broker(kind, base, work)
    failed = b.start(template, range(listeners))
    if failed or not run:
        b.stop()
        return [("start", [failed or "listening"])], b
    try:
        return run(b), b
    except Exception as e:	# a client that cannot even connect
        return [("exception", ["%s: %s" % (type(e).__name__, e)])], b
    finally:
        b.stop()


def prepare(work):
    subprocess.run(["mosquitto_passwd", "-c", "-b", os.path.join(work, "pw"),
                    "alice", USERS["alice"]], check=True)
    subprocess.run(["mosquitto_passwd", "-b", os.path.join(work, "pw"),
                    "bob", USERS["bob"]], check=True)
    for name, text in (("acl.empty", "# no rules\n\n# at all\n"),
                       ("acl.empty.copy", "# no rules\n"),
                       ("acl.reload", "topic read t/#\n")):
        with open(os.path.join(work, name), "w") as f:
            f.write(text)


def compare(name, mosq, kmqtt):
    """Lines of TAP comment; True when the records agree as intended."""
    lines, ok = [], True
    kmqtt_d = dict(kmqtt)
    if [k for k, _ in mosq] != [k for k, _ in kmqtt] or \
            "exception" in kmqtt_d:
        lines.append("different steps: %r / %r" % (mosq, kmqtt))
        return lines, False
    for key, m in mosq:
        k = kmqtt_d[key]
        want = INTENDED.get((name, key))
        if want:
            if (m, k) == want[:2]:
                lines.append("intended: %s: mosquitto %r, kmqtt %r (%s)" %
                             (key, m, k, want[2]))
            else:
                ok = False
                lines.append("%s: mosquitto %r, kmqtt %r; expected the "
                             "intended difference %r / %r" %
                             (key, m, k, want[0], want[1]))
        elif m != k:
            ok = False
            lines.append("%s: mosquitto %r, kmqtt %r" % (key, m, k))
        else:
            lines.append("%s: %r" % (key, m))
    return lines, ok


def main():
    print("1..%d" % len(SCENARIOS))
    failed = 0
    limit_set = False
    with tempfile.TemporaryDirectory(prefix="kmqtt-dropin.") as work:
        prepare(work)
        for n, scenario in enumerate(SCENARIOS, 1):
            name = scenario[0]
            if "CERTS" in scenario[1] and not CERTS:
                print("ok %d %s # SKIP no $KMQTT_TEST_CERTS" % (n, name))
                continue
            limit_set |= "message_size_limit" in scenario[1]
            prepare(work)
            mosq, mb = record_of("mosquitto", 21000, work, scenario)
            prepare(work)
            kmqtt, kb = record_of("kmqttd", 22000, work, scenario)
            lines, ok = compare(name, mosq, kmqtt)
            for line in lines:
                print("# " + line)
            if not ok:
                for b in (mb, kb):
                    print("# %s log:" % b.kind)
                    for line in b.log().splitlines()[-40:]:
                        print("#   " + line)
            print("%sok %d %s" % ("" if ok else "not ", n, name))
            failed += not ok
    if limit_set:
        subprocess.run([KMQTTCTL, "set", "message_size_limit", "0"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
