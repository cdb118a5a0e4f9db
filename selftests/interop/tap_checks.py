# SPDX-License-Identifier: GPL-2.0
"""TAP checks for the raw-packet interop scripts (mqtt5-raw.py,
mqtt5-scram.py): each check runs a function that raises Fail, or
anything, to fail and returns what it saw, printed on failure and, with
MQTT5_VERBOSE=1, on success too."""

import os
import socket
import sys
import traceback

BROKER = os.environ.get("KMQTT_TEST_BROKER", "kmqttd")
# MQTT5_VERBOSE=1: what was seen, also for the checks that pass.
VERBOSE = os.environ.get("MQTT5_VERBOSE") == "1"


class Fail(Exception):
    pass


def expect(cond, fmt, *args):
    if not cond:
        raise Fail(fmt % args if args else fmt)


class Checks:
    """The results so far; timeout: the bound of anything awaited, for
    the message of a check that timed out."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.results = []

    def check(self, desc, func, *args, todo=None):
        """Run func(*args) as the next check.  todo: how Mosquitto
        departs from the statement checked; the result is then a TODO
        when the broker is Mosquitto."""
        detail = None
        try:
            detail = func(*args)
            ok = True
        except Fail as e:
            ok, detail = False, str(e)
        except socket.timeout:
            ok, detail = False, "timed out after %d s:\n%s" % (
                self.timeout, traceback.format_exc(limit=-2))
        except Exception as e:  # a broken packet, a closed connection...
            ok, detail = False, "%s: %s\n%s" % (
                type(e).__name__, e, traceback.format_exc(limit=-2))
        mosquitto_todo = todo is not None and BROKER == "mosquitto"
        self.results.append(ok or mosquitto_todo)
        line = "%s %d - %s" % ("ok" if ok else "not ok", len(self.results),
                               desc)
        if mosquitto_todo:
            line += " # TODO mosquitto: " + todo
        print(line)
        if detail and (not ok or VERBOSE):
            for d in str(detail).rstrip().splitlines():
                print("# " + d)
        sys.stdout.flush()
