# SPDX-License-Identifier: GPL-2.0
"""Retained messages for selftests/reboot/persist-guest.sh, against the
broker on 127.0.0.1:1883, MQTT 3.1.1 on a plain socket (one Python start
per boot, and no client library between the test and the bytes: this runs
under TCG).

  persist_client.py [--check TOTAL] [--bulk N --log KMQTTD_LOG] [--churn]
                    [--acks]

--check TOTAL  read every retained message under bulk/# and seq/#, TOTAL of
               them: each payload must be the one published, and the
               numbered ones must be 0 to M with none missing; prints
               "retained: total T bulk B seq S" (S = M + 1)
--bulk N       publish N retained messages bulk/00000 ... of 1 KiB, QoS 1,
               then wait until KMQTTD_LOG says a save had them all
--churn        publish numbered retained messages, QoS 1, from M + 1 on (0
               without --check), each acknowledged before the next is sent,
               until killed; prints "churning from N" once the first is
               acknowledged
--acks         with --churn, print "acked N" for each one acknowledged

Every payload is a function of its topic (payload()): a byte of it changed
is seen.  Numbered message N goes to seq/(999999 - N): the numbers count
down in topic order, which is the order of the module's retained store
(a tree sorted by topic) and of its dump into a snapshot.  A dump that runs
while they are published sees a message only if it sees every earlier one
(those sort after it, and were stored first), so that every snapshot holds
0 to M, for some M.  The bulk is whole in every snapshot (--bulk waits for
a save of it before the churn begins).
"""

import hashlib
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "interop"))
from mqtt_packets import packet, string  # noqa: E402

HOST, PORT = "127.0.0.1", 1883
SEQ_TOP = 999999


def payload(topic):
    digest = hashlib.sha256(topic.encode()).hexdigest()
    return ((topic + "|" + digest + "|") * 20)[:1024].encode()


def seq_topic(n):
    return "seq/%06d" % (SEQ_TOP - n)


class Conn:
    def __init__(self, client_id):
        self.sock = socket.create_connection((HOST, PORT), timeout=30)
        self.buf = bytearray()
        self.pos = 0
        body = string(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60)
        self.sock.sendall(packet(0x10, body + string(client_id.encode())))
        first, body = self.read()
        if first != 0x20 or body[1] != 0:
            sys.exit("CONNACK %02x %s" % (first, body.hex()))

    def read(self):
        """One packet: (first byte, body)."""
        while True:
            buf, pos = self.buf, self.pos
            n, mult, i = 0, 1, pos + 1
            while i < len(buf) and i < pos + 5:
                n += (buf[i] & 0x7F) * mult
                mult *= 128
                i += 1
                if not buf[i - 1] & 0x80:
                    if len(buf) >= i + n:
                        self.pos = i + n
                        return buf[pos], bytes(buf[i:i + n])
                    break
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("connection closed")
            del buf[:pos]
            self.pos = 0
            buf += data

    def publish(self, pid, topic):
        t = topic.encode()
        return packet(0x33, string(t) + struct.pack("!H", pid) +
                      payload(topic))

    def puback(self, pid):
        first, body = self.read()
        if first != 0x40 or struct.unpack("!H", body)[0] != pid:
            sys.exit("expected PUBACK %d, got %02x %s" %
                     (pid, first, body.hex()))


def check(total):
    c = Conn("reboot-check")
    # QoS 0: kmqttd runs with max_queued_messages 0, so that none of them
    # is dropped however slowly this reads.
    filters = string(b"bulk/#") + b"\0" + string(b"seq/#") + b"\0"
    c.sock.sendall(packet(0x82, struct.pack("!H", 1) + filters))
    got, bad = {}, []
    c.sock.settimeout(15)
    while len(got) < total:
        try:
            first, body = c.read()
        except (socket.timeout, EOFError):
            break
        if first >> 4 == 9:
            continue
        if first >> 4 != 3:
            bad.append("unexpected packet %02x" % first)
            continue
        tlen = struct.unpack("!H", body[:2])[0]
        topic = body[2:2 + tlen].decode()
        if first & 0x06:
            bad.append("%s: not at QoS 0" % topic)
            continue
        if not first & 1:
            bad.append("%s: not retained" % topic)
        if topic in got:
            bad.append("%s: twice" % topic)
        got[topic] = body[2 + tlen:]
    c.sock.close()

    nbulk, seqs = 0, []
    for topic, p in got.items():
        if p != payload(topic):
            bad.append("%s: payload of %d bytes differs" % (topic, len(p)))
        if topic.startswith("bulk/"):
            nbulk += 1
        else:
            seqs.append(SEQ_TOP - int(topic[4:]))
    seqs.sort()
    if seqs != list(range(len(seqs))):
        missing = sorted(set(range(seqs[-1] + 1)) - set(seqs))
        bad.append("numbered messages 0 to %d lack %d: %s" %
                   (seqs[-1], len(missing), missing[:10]))
    if len(got) != total:
        bad.append("%d retained messages, not %d" % (len(got), total))
    print("retained: total %d bulk %d seq %d" % (len(got), nbulk, len(seqs)),
          flush=True)
    for b in bad[:20]:
        print("error: " + b, flush=True)
    return len(seqs), not bad


def bulk(n, log):
    c = Conn("reboot-bulk")
    window = 256
    for start in range(0, n, window):
        pids = range(start + 1, min(start + window, n) + 1)
        c.sock.sendall(b"".join(c.publish(p, "bulk/%05d" % (p - 1))
                                for p in pids))
        for p in pids:
            c.puback(p)
    c.sock.close()
    # A save holding them all, before anything else is published.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(log) as f:
            saved = [int(x) for x in
                     re.findall(r"Saved (\d+) retained", f.read())]
        if saved and saved[-1] >= n:
            return
        time.sleep(0.1)
    sys.exit("no save of the %d bulk messages within 60 s" % n)


def churn(first, acks):
    c = Conn("reboot-churn")
    n = first
    while True:
        pid = n % 65535 + 1
        c.sock.sendall(c.publish(pid, seq_topic(n)))
        c.puback(pid)
        if n == first:
            print("churning from %d" % first, flush=True)
        if acks:
            print("acked %d" % n, flush=True)
        n += 1
        # About 200 a second: the state grows by a few hundred messages
        # a cycle, and the checks stay short.
        time.sleep(0.005)


def main():
    # No argparse: every import counts when Python starts under TCG.
    opts, args = {}, sys.argv[1:]
    while args:
        name = args.pop(0)
        if name in ("--churn", "--acks"):
            opts[name[2:]] = True
        elif name in ("--check", "--bulk", "--log") and args:
            opts[name[2:]] = args.pop(0)
        else:
            sys.exit(__doc__)
    first = 0
    if "check" in opts:
        first, ok = check(int(opts["check"]))
        if not ok:
            sys.exit(1)
    if "bulk" in opts:
        bulk(int(opts["bulk"]), opts["log"])
    if opts.get("churn"):
        churn(first, opts.get("acks", False))


if __name__ == "__main__":
    main()
