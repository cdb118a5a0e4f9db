# SPDX-License-Identifier: GPL-2.0
"""Headless Chromium driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ended by NUL, commands on the
browser's fd 3, replies and events on its fd 4), for interop/browser.sh.

The pipe rather than Selenium with chromedriver: it takes nothing but
Chromium and Python's standard library, so there is no driver whose
version must follow Chromium's, no port to pick, and no timeout but
ours (Chromium takes tens of seconds to start in the TCG test VM); and
the page's console messages, exceptions and network errors (a refused
certificate, a failed WebSocket handshake) arrive on the same pipe, to
explain a failed check."""

import fcntl
import json
import os
import select
import signal
import subprocess
import time

# The binary itself: Debian's /usr/bin/chromium wrapper adds flags of its
# own from /etc/chromium.d (extensions, GPU rasterization).
BINARY = "/usr/lib/chromium/chromium"

FLAGS = [
    "--headless=new",
    "--remote-debugging-pipe",
    # The VM has no GPU, and a small /dev/shm.
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # No traffic but the test's, no first-run work.
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
]


class Error(Exception):
    pass


class Chromium:
    """One headless Chromium with one tab, attached to; console lists what
    the pages logged, threw or failed to load, one string each."""

    def __init__(self, profile, log, timeout):
        """Start Chromium with the user data directory profile, its output
        to the file log, and attach to its tab within timeout seconds."""
        cmd_r, self.cmd_w = os.pipe()
        self.res_r, res_w = os.pipe()

        def child():
            # The pipe's ends go to fds 3 and 4 by way of fds above them,
            # as either may be 3 or 4 already.  Python's fds are
            # close-on-exec; dup2's copies are not.
            r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 5)
            w = fcntl.fcntl(res_w, fcntl.F_DUPFD_CLOEXEC, 5)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [BINARY] + FLAGS + ["--user-data-dir=" + profile,
                                   "about:blank"]
        if os.geteuid() == 0:
            # Chromium refuses to run as root with its sandbox.
            args.insert(1, "--no-sandbox")
        # A session of its own: close() ends all of its processes.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     close_fds=False, preexec_fn=child,
                                     start_new_session=True)
        os.close(cmd_r)
        os.close(res_w)
        self.buf = b""
        self.last_id = 0
        self.session = None
        self.console = []
        try:
            tab = self.call("Target.createTarget", timeout=timeout,
                            url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=tab,
                                     flatten=True)["sessionId"]
            self.call("Runtime.enable")
            self.call("Log.enable")
        except Error:
            self.close()
            raise

    # A busy renderer (parsing MQTT.js under TCG) answers late.
    def call(self, method, timeout=60, **params):
        """The result of a command, to the tab once attached."""
        self.last_id += 1
        msg = {"id": self.last_id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self.receive(deadline, method)
            if reply.get("id") != self.last_id:
                self.event(reply)
            elif "error" in reply:
                raise Error("%s: %s" % (method, reply["error"]))
            else:
                return reply["result"]

    def receive(self, deadline, method):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.res_r], [], [], left)[0]:
                raise Error("no reply to %s from Chromium" % method)
            data = os.read(self.res_r, 1 << 20)
            if not data:
                raise Error("Chromium exited (status %s) before replying "
                            "to %s" % (self.proc.poll(), method))
            self.buf += data
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def event(self, msg):
        p = msg.get("params", {})
        if msg.get("method") == "Runtime.consoleAPICalled":
            self.console.append("console.%s: %s" % (p["type"], " ".join(
                str(a.get("value", a.get("description", "")))
                for a in p["args"])))
        elif msg.get("method") == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.console.append("exception: %s" % d.get(
                "exception", {}).get("description", d["text"]))
        elif msg.get("method") == "Log.entryAdded":
            self.console.append("%s: %s" % (p["entry"]["level"],
                                            p["entry"]["text"]))

    def navigate(self, url):
        """Load url in the tab; returns once its document is there."""
        r = self.call("Page.navigate", url=url)
        if r.get("errorText"):
            raise Error("loading %s: %s" % (url, r["errorText"]))

    def evaluate(self, expression):
        """The value of expression in the page, as JSON makes it."""
        r = self.call("Runtime.evaluate", expression=expression,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise Error("%s: %s" % (expression,
                                    r["exceptionDetails"]["text"]))
        return r["result"].get("value")

    def wait(self, expression, timeout, what):
        """The value of expression in the page once it is truthy,
        evaluated every 0.2 s; what says what was awaited, for the error
        after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise Error("%s: not within %d s" % (what, timeout))
            time.sleep(0.2)

    def close(self):
        self.session = None  # Browser.close goes to the browser
        try:
            self.call("Browser.close", timeout=10)
            self.proc.wait(10)
        except (Error, OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
