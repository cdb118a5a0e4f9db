# SPDX-License-Identifier: GPL-2.0
"""The checks of interop/browser.sh: headless Chromium (chromium.py)
loads page.html, where MQTT.js's browser bundle talks to the broker over
ws:// and wss://, against mosquitto_pub and mosquitto_sub over TCP.
Prints TAP.

usage: checks.py --work DIR --tcp PORT --ws PORT --wss PORT
       checks.py --fail-all REASON

One page load per scheme (a load costs 5 to 40 s in the TCG test VM)
does every exchange, each on topics of its own: mosquitto_sub subscribes
to UP first; the page subscribes to DOWN, then publishes to UP; once its
SUBACK is in, mosquitto_pub publishes to DOWN.  Each direction of each
exchange is a check: the payload sent, exactly, at the QoS asked,
arrived once (and at QoS 1 the page's publish was acknowledged).  With
--fail-all every check fails with REASON (the broker did not start), so
that the results still name what was not tested."""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
from tap_checks import Checks, Fail  # noqa: E402
from chromium import Chromium, Error  # noqa: E402

PAGE = "file://" + os.path.join(here, "page.html")
# Bounds of each wait, generous for the TCG test VM: Chromium takes 10 to
# 45 s to start there, beside other VMs, and the first page load up to
# its SUBACK as long (MQTT.js's files come over 9p and are compiled).
START_TIMEOUT = 150
LOAD_TIMEOUT = 90
TIMEOUT = 60
TEXT = "kmqtt über WebSockets, 25°C. "


class Exchange:
    """One message each way at qos, TEXT repeated repeat times; the
    clients' output goes to files named after tag in work."""

    def __init__(self, work, scheme, tag, what, qos, repeat):
        self.what, self.qos = what, qos
        self.payload = TEXT * repeat
        self.repeat = repeat
        self.down = "browser/%s/%s/down" % (scheme, tag)
        self.up = "browser/%s/%s/up" % (scheme, tag)
        name = os.path.join(work, scheme + "-" + tag)
        self.sub_out, self.pub_out = name + ".sub", name + ".pub"
        self.payload_file = name + ".payload"
        self.sub = self.pub = None


# (tag, what, QoS, repeat of TEXT): 200 KB span many WebSocket frames and
# TCP segments both ways.
EXCHANGES = [
    ("q0", "QoS 0", 0, 1),
    ("q1", "QoS 1", 1, 1),
    ("big", "200 KB at QoS 1", 1, 200000 // len(TEXT.encode())),
]


def differ(got, want):
    """How got differs from want, without printing 200 KB."""
    if got == want:
        return None
    at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
              min(len(got), len(want)))
    return "%d characters where %d were sent, first difference at %d: " \
        "%r" % (len(got), len(want), at, got[at:at + 40])


def read(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def mosquitto_sub(args, x):
    """Start mosquitto_sub for one message on x.up: -d shows its SUBACK
    (stdbuf, as it does not flush)."""
    with open(x.sub_out, "wb") as f:
        x.sub = subprocess.Popen(
            ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1",
             "-p", str(args.tcp), "-t", x.up, "-q", str(x.qos), "-C", "1",
             "-W", str(4 * TIMEOUT), "-d", "-F", "msg %q %p"],
            stdout=f, stderr=subprocess.STDOUT)


def subscribed(x):
    if "\nSubscribed (mid: 1): " in read(x.sub_out):
        return True
    if x.sub.poll() is not None:
        raise Error("mosquitto_sub did not subscribe:\n" + read(x.sub_out))
    return False


def mosquitto_pub(args, x):
    """Start mosquitto_pub with x's payload to x.down."""
    with open(x.payload_file, "w") as f:
        f.write(x.payload)
    with open(x.pub_out, "wb") as f:
        x.pub = subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(args.tcp),
             "-t", x.down, "-q", str(x.qos), "-f", x.payload_file],
            stdout=f, stderr=subprocess.STDOUT)


def page_problem(x, r):
    """What is wrong with what the page got on x.down, None if nothing."""
    if x.pub.returncode != 0:
        return "mosquitto_pub: status %s\n%s" % (x.pub.returncode,
                                                  read(x.pub_out))
    msgs = [m for m in r["messages"] if m["topic"] == x.down]
    if len(msgs) != 1:
        return "the page got %d messages" % len(msgs)
    if msgs[0]["qos"] != x.qos:
        return "the page got it at QoS %d" % msgs[0]["qos"]
    return differ(msgs[0]["payload"], x.payload)


def sub_problem(x, r):
    """What is wrong with what mosquitto_sub got on x.up."""
    got = [line[4:] for line in read(x.sub_out).split("\n")
           if line.startswith("msg ")]
    if len(got) != 1:
        return "mosquitto_sub got %d messages" % len(got)
    if not r["published"].get(x.up):
        return "the page's publish did not complete"
    return differ(got[0], "%d %s" % (x.qos, x.payload))


def run(browser, args, scheme, port, exchanges):
    """One page load for every exchange; returns for each what was wrong
    with each direction, [(down, up)], None when right."""
    times = [time.monotonic()]
    try:
        for x in exchanges:
            mosquitto_sub(args, x)
        deadline = time.monotonic() + TIMEOUT
        while not all(subscribed(x) for x in exchanges):
            if time.monotonic() > deadline:
                raise Error("mosquitto_sub: no SUBACK within %d s" % TIMEOUT)
            time.sleep(0.1)
        times.append(time.monotonic())
        del browser.console[:]
        browser.navigate(PAGE + "?" + urllib.parse.urlencode({
            "url": "%s://127.0.0.1:%d" % (scheme, port), "text": TEXT,
            "exchanges": json.dumps([{"sub": x.down, "pub": x.up,
                                      "qos": x.qos, "repeat": x.repeat}
                                     for x in exchanges])}))
        r = browser.wait("window.result && (window.result.granted || "
                         "window.result.errors.length) && window.result",
                         LOAD_TIMEOUT, "the page's SUBACK")
        if not r["granted"]:
            raise Error("the page did not subscribe: %s" % r["errors"])
        times.append(time.monotonic())
        for x in exchanges:
            mosquitto_pub(args, x)
        # One bound for every message both ways: what is not there by
        # then fails its check below.
        deadline = time.monotonic() + TIMEOUT
        clients = [x.sub for x in exchanges] + [x.pub for x in exchanges]
        while time.monotonic() < deadline:
            if browser.evaluate("window.result.messages.length >= %d || "
                                "window.result.errors.length > 0"
                                % len(exchanges)) and \
                    all(c.poll() is not None for c in clients):
                break
            time.sleep(0.2)
        r = browser.evaluate("window.result")
        times.append(time.monotonic())
        print("# %s: mosquitto_sub subscribed after %.1f s, the page after "
              "%.1f s more, messages both ways %.1f s later"
              % (scheme, times[1] - times[0], times[2] - times[1],
                 times[3] - times[2]))
    except (Error, OSError) as e:
        problem = "%s\n%s" % (e, "\n".join(browser.console))
        return [(problem, problem)] * len(exchanges)
    finally:
        for c in [x.sub for x in exchanges] + [x.pub for x in exchanges]:
            if c:
                c.kill()
                c.wait()

    # Whatever went wrong, the page's errors and console may say why.
    why = "\n".join(r["errors"] + browser.console)
    results = []
    for x in exchanges:
        down, up = page_problem(x, r), sub_problem(x, r)
        results.append((down and down + "\n" + why, up and up + "\n" + why))
    return results


def verdict(problem):
    if problem:
        raise Fail(problem)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--ws", type=int)
    ap.add_argument("--wss", type=int)
    ap.add_argument("--fail-all")
    args = ap.parse_args()
    checks = Checks(TIMEOUT)
    plan = 4 * len(EXCHANGES)
    print("1..%d" % plan)
    browser = None
    failed = args.fail_all
    if not failed:
        log = open(os.path.join(args.work, "chromium.log"), "w")
        start = time.monotonic()
        try:
            browser = Chromium(os.path.join(args.work, "profile"), log,
                               START_TIMEOUT)
            print("# Chromium started in %.1f s" % (time.monotonic() - start))
        except (Error, OSError) as e:  # OSError: no Chromium to run
            failed = "Chromium did not start: %s\n%s" % (e, read(log.name))
    try:
        for scheme, port in (("ws", args.ws), ("wss", args.wss)):
            exchanges = [Exchange(args.work, scheme, *e) for e in EXCHANGES]
            if failed:
                results = [(failed, failed)] * len(exchanges)
            else:
                results = run(browser, args, scheme, port, exchanges)
            for x, (down, up) in zip(exchanges, results):
                checks.check("%s, %s: MQTT.js in Chromium gets "
                             "mosquitto_pub's message over TCP, exact "
                             "payload" % (scheme, x.what), verdict, down)
                checks.check("%s, %s: mosquitto_sub over TCP gets the "
                             "message MQTT.js in Chromium published, exact "
                             "payload" % (scheme, x.what), verdict, up)
    finally:
        if browser:
            browser.close()
    sys.exit(0 if len(checks.results) == plan and all(checks.results)
             else 1)


main()
