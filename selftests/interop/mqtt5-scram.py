# SPDX-License-Identifier: GPL-2.0
"""MQTT 5.0 enhanced authentication with SCRAM-SHA-256 (MQTT 5.0 4.12,
RFC 5802, RFC 7677) against kmqttd on 127.0.0.1:$MQTT5_PORT, with raw
packets (mqtt5_packets.py) and the client's side of SCRAM written here
with hashlib and hmac.  The broker needs a listener with a scram_file
that has $SCRAM_USER with password $SCRAM_PASSWORD (defaults: "user",
"pencil", the RFC 7677 example), made with kmqttd --scram-entry, and
allow_anonymous true (for a client without a method that sends AUTH):

  printf 'pencil\\n' | agent/kmqttd --scram-entry user > $DIR/scram
  printf 'listener 18884 127.0.0.1\\nscram_file %s\\nallow_anonymous true\\n' \\
      $DIR/scram > $DIR/conf
  agent/kmqttd -c $DIR/conf &
  MQTT5_PORT=18884 python3 selftests/interop/mqtt5-scram.py

Prints TAP.  `mqtt5-scram.py --self-test` checks the client's side
against RFC 7677's exchange, without a broker.  Client ids start with
m5s-, topics with mqtt5-scram/."""

import base64
import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt5_packets as m5  # noqa: E402
from mqtt5_packets import AUTH, CONNACK, DISCONNECT  # noqa: E402

from tap_checks import Checks, expect  # noqa: E402

PORT = int(os.environ.get("MQTT5_PORT", "1883"))
USER = os.environ.get("SCRAM_USER", "user")
PASSWORD = os.environ.get("SCRAM_PASSWORD", "pencil")
METHOD = "SCRAM-SHA-256"
TIMEOUT = 15
T = "mqtt5-scram/"


# ---- the client's side of SCRAM-SHA-256 (RFC 5802 3) ------------------------

def saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


class Scram:
    def __init__(self, user, password, nonce=None):
        self.password = password.encode()
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (saslname(user), self.nonce)
        self.server_signature = None

    def first(self):
        return ("n,," + self.bare).encode()

    def final(self, server_first):
        text = server_first.decode()
        attrs = dict(a.split("=", 1) for a in text.split(","))
        expect(attrs["r"].startswith(self.nonce) and
               len(attrs["r"]) > len(self.nonce),
               "server-first nonce %r does not extend ours", attrs["r"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password,
                                     base64.b64decode(attrs["s"]),
                                     int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        without_proof = "c=biws,r=" + attrs["r"]
        message = ",".join((self.bare, text, without_proof)).encode()
        signature = hmac.new(stored_key, message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_signature = hmac.new(server_key, message,
                                         "sha256").digest()
        return (without_proof + ",p=" +
                base64.b64encode(proof).decode()).encode()

    def verify(self, server_final):
        return server_final == b"v=" + base64.b64encode(self.server_signature)


def self_test():
    """RFC 7677 section 3."""
    s = Scram("user", "pencil", "rOprNGfwEbeRWgbNEkqO")
    assert s.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    final = s.final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    assert final == (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
                     b"hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    assert s.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    print("ok - the client's side of SCRAM-SHA-256 gives RFC 7677's messages")


# ---- the exchange -------------------------------------------------------------

def method_props(data):
    return (("authentication_method", METHOD),
            ("authentication_data", data))


def begin(client_id, scram, method=METHOD, **kwargs):
    """A connection that sent its CONNECT with @scram's client-first, and
    the server's first answer."""
    c = m5.Client(PORT, timeout=TIMEOUT)
    c.send(m5.connect(client_id, props=(
        ("authentication_method", method),
        ("authentication_data", scram.first())), **kwargs))
    return c, c.recv()


def server_first(client_id, scram, **kwargs):
    c, p = begin(client_id, scram, **kwargs)
    expect(p.kind == AUTH and p.reason == 0x18,
           "expected AUTH 0x18, got %r", p)
    expect(p.prop("authentication_method") == METHOD,
           "AUTH without the method: %r", p)
    return c, p.prop("authentication_data")


def refused_with(c, code):
    p = c.recv()
    expect(p.kind == CONNACK and p.reason == code,
           "expected CONNACK 0x%02x, got %r", code, p)
    expect(not c.wait_closed(), "packets after the refusal")
    return repr(p)


def connected(client_id, scram):
    """A connection @scram authenticated, and its CONNACK."""
    c, first = server_first(client_id, scram)
    c.send(m5.auth(0x18, method_props(scram.final(first))))
    ack = c.recv()
    expect(ack.kind == CONNACK and ack.reason == 0, "%r", ack)
    return c, ack


def signed(p, scram):
    """@p carries the method and @scram's server signature."""
    expect(p.prop("authentication_method") == METHOD,
           "%s without the method: %r", m5.NAMES[p.kind], p)
    expect(scram.verify(p.prop("authentication_data")),
           "server-final %r is not the server's signature",
           p.prop("authentication_data"))


def message_to_itself(c, topic, pid):
    """The session is the module's: a message to itself comes back."""
    c.send(m5.subscribe(pid, [(topic, m5.sub_options(1))]))
    suback, _ = c.until(m5.SUBACK)
    expect(suback.reasons == [1], "%r", suback)
    c.send(m5.publish(topic, "hello", qos=0))
    msg, _ = c.until(m5.PUBLISH)
    expect(msg.payload == b"hello", "%r", msg)


def right_password():
    scram = Scram(USER, PASSWORD)
    c, ack = connected("m5s-right", scram)
    signed(ack, scram)
    message_to_itself(c, T + "self", 1)
    c.send(m5.disconnect(0))
    c.close()
    return repr(ack)


def wrong_password():
    scram = Scram(USER, PASSWORD + "x")
    c, first = server_first("m5s-wrong", scram)
    c.send(m5.auth(0x18, method_props(scram.final(first))))
    return refused_with(c, 0x87)


def unknown_user():
    scram = Scram("m5s-nobody", PASSWORD)
    c, first = server_first("m5s-unknown", scram)
    attrs = dict(a.split("=", 1) for a in first.decode().split(","))
    expect(len(base64.b64decode(attrs["s"])) == 16 and attrs["i"] == "4096",
           "server-first for an unknown user: %r", first)
    c.send(m5.auth(0x18, method_props(scram.final(first))))
    return refused_with(c, 0x87)


def unknown_method():
    c, p = begin("m5s-method", Scram(USER, PASSWORD), method="SCRAM-SHA-1")
    expect(p.kind == CONNACK and p.reason == 0x8C, "%r", p)
    return repr(p)


def other_method_in_auth():
    scram = Scram(USER, PASSWORD)
    c, first = server_first("m5s-other", scram)
    c.send(m5.auth(0x18, (("authentication_method", "SCRAM-SHA-512"),
                          ("authentication_data", scram.final(first)))))
    return refused_with(c, 0x82)


def publish_while_authenticating():
    c, _ = server_first("m5s-publish", Scram(USER, PASSWORD))
    c.send(m5.publish(T + "early", "x"))
    return refused_with(c, 0x82)


def other_user_name():
    scram = Scram(USER, PASSWORD)
    c, first = server_first("m5s-name", scram, user=USER + "x")
    c.send(m5.auth(0x18, method_props(scram.final(first))))
    return refused_with(c, 0x87)


def disconnect_while_authenticating():
    c, _ = server_first("m5s-disconnect", Scram(USER, PASSWORD))
    c.send(m5.disconnect(0))
    got = c.wait_closed()
    expect(not got, "expected no packet, got %r", got)
    return "closed"


# ---- re-authentication (4.12.1) ---------------------------------------------

def reauth_server_first(c, scram):
    """AUTH 0x19 with @scram's client-first; the server's AUTH 0x18."""
    c.send(m5.auth(0x19, method_props(scram.first())))
    p, _ = c.until(AUTH)
    expect(p.reason == 0x18, "expected AUTH 0x18, got %r", p)
    expect(p.prop("authentication_method") == METHOD,
           "AUTH without the method: %r", p)
    return p.prop("authentication_data")


def disconnected_with(c, code):
    p, _ = c.until(DISCONNECT)
    expect(p.reason == code, "expected DISCONNECT 0x%02x, got %r", code, p)
    expect(not c.wait_closed(), "packets after the DISCONNECT")
    return repr(p)


def reauthenticate():
    c, _ = connected("m5s-reauth", Scram(USER, PASSWORD))
    message_to_itself(c, T + "reauth", 1)
    scram = Scram(USER, PASSWORD)
    first = reauth_server_first(c, scram)
    c.send(m5.auth(0x18, method_props(scram.final(first))))
    done, _ = c.until(AUTH)
    expect(done.reason == 0x00, "expected AUTH 0x00, got %r", done)
    signed(done, scram)
    # The subscription stayed; publishing still works.
    c.send(m5.publish(T + "reauth", "again", qos=0))
    msg, _ = c.until(m5.PUBLISH)
    expect(msg.payload == b"again", "%r", msg)
    message_to_itself(c, T + "reauth-after", 2)
    c.send(m5.disconnect(0))
    c.close()
    return repr(done)


def reauth_wrong_password():
    c, _ = connected("m5s-reauth-wrong", Scram(USER, PASSWORD))
    scram = Scram(USER, PASSWORD + "x")
    first = reauth_server_first(c, scram)
    c.send(m5.auth(0x18, method_props(scram.final(first))))
    return disconnected_with(c, 0x87)


def reauth_without_method():
    c = m5.Client(PORT, timeout=TIMEOUT)
    c.connect("m5s-reauth-none")
    expect(c.connack.reason == 0, "%r", c.connack)
    c.send(m5.auth(0x19, method_props(Scram(USER, PASSWORD).first())))
    return disconnected_with(c, 0x82)


def main():
    checks = [
        ("4.12: the right password: AUTH 0x18 with the method and "
         "server-first, CONNACK 0x00 with the method and the server's "
         "signature (RFC 5802 3), then the session works", right_password),
        ("4.12: a wrong password: CONNACK 0x87, closed", wrong_password),
        ("4.12: an unknown user: a server-first like a known user's "
         "(16 byte salt, 4096 iterations), then CONNACK 0x87",
         unknown_user),
        ("4.12: a method not offered: CONNACK 0x8C [MQTT-4.12.0-1]",
         unknown_method),
        ("4.12: AUTH with another method: CONNACK 0x82 [MQTT-4.12.0-5]",
         other_method_in_auth),
        ("4.12: PUBLISH while authenticating: CONNACK 0x82 "
         "[MQTT-3.1.2-30]", publish_while_authenticating),
        ("4.12: a User Name other than the SCRAM user: CONNACK 0x87",
         other_user_name),
        ("4.12: DISCONNECT while authenticating: closed, no CONNACK",
         disconnect_while_authenticating),
        ("4.12.1: re-authentication: AUTH 0x19 with client-first, AUTH "
         "0x18 with server-first, AUTH 0x00 with the server's signature; "
         "subscriptions stay, publishing works", reauthenticate),
        ("4.12.1: re-authentication with a wrong password: DISCONNECT "
         "0x87, closed", reauth_wrong_password),
        ("4.12.1: AUTH from a client that connected without a method: "
         "DISCONNECT 0x82, closed", reauth_without_method),
    ]
    run = Checks(TIMEOUT)
    print("1..%d" % len(checks))
    for desc, func in checks:
        run.check(desc, func)
    return 0 if all(run.results) else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    sys.exit(main())
