#!/usr/bin/env python3
"""Opens a page in headless Chromium and reports what a test needs of it.

Drives Debian's `chromium` over the DevTools protocol with a small WebSocket
client of its own (standard library only):

    browser_page.py PAGE.html --probe PROBE.js [--screenshot OUT.png]
                    [--full-page] [--width 1400] [--height 1000]
                    [--ready 'window.qprofReport && window.qprofReport.ready']

It opens PAGE.html, waits until the ready expression is true, evaluates the
probe (a JavaScript expression, which may be a Promise, whose value is
JSON), optionally saves a PNG screenshot, and prints one JSON object:

    {"ready_ms": ..., "probe": <the probe's value>,
     "errors": [...],        # uncaught exceptions, console.error/assert, and
                             # the browser's own error log entries
     "requests": [...]}      # every URL the page asked for besides itself

The browser runs with a new profile in a temporary folder, without sandbox
(root and the test user alike), GPU, sync, component updates or background
networking, and is killed on exit.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse


class WebSocket:
    """The client side of RFC 6455, enough for DevTools: text frames,
    fragmentation, ping and close."""

    def __init__(self, url, timeout_s):
        parsed = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parsed.path} HTTP/1.1\r\n"
            f"Host: {parsed.hostname}:{parsed.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the browser closed the connection during the handshake")
            response += chunk
        head, rest = response.split(b"\r\n\r\n", 1)
        self.buffer = bytearray(rest)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError("handshake refused: " + head.decode(errors="replace"))

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise ConnectionError("the browser closed the connection")
            self.buffer += chunk
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def receive(self):
        """The next text message."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            if second & 0x80:
                mask = self._read(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(length)))
            else:
                payload = self._read(length)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("the browser closed the connection")
            if opcode in (0x0, 0x1):
                message += payload
                if first & 0x80:
                    return message.decode()


class DevTools:
    """One page target over the browser's DevTools socket (flat sessions)."""

    def __init__(self, socket_url, timeout_s):
        self.ws = WebSocket(socket_url, timeout_s)
        self.next_id = 0
        self.events = []
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.receive())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for index, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(index)
            self.events.append(json.loads(self.ws.receive()))
        raise TimeoutError(f"no {method} within {timeout_s} s")

    def evaluate(self, expression, await_promise=True):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"evaluating {expression[:60]!r}: {text}")
        return result["result"].get("value")


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("browser_page.py: no chromium on PATH (Debian package `chromium`)")


def start_browser(profile_dir, width, height):
    command = [
        find_chromium(),
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile_dir}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    env = dict(os.environ, HOME=profile_dir)
    log = open(os.path.join(profile_dir, "chromium.log"), "wb")
    browser = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
    )
    # The browser writes its port and socket path here once it listens.
    port_file = os.path.join(profile_dir, "DevToolsActivePort")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            log.close()
            with open(os.path.join(profile_dir, "chromium.log"), errors="replace") as f:
                sys.exit("chromium exited at start:\n" + f.read()[-3000:])
        try:
            with open(port_file) as f:
                lines = f.read().split()
            if len(lines) >= 2:
                return browser, f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    browser.kill()
    sys.exit("chromium did not open its DevTools port within 60 s")


def stop_browser(browser):
    if browser.poll() is None:
        os.killpg(browser.pid, signal.SIGTERM)
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()


def page_errors(events):
    """The page's errors among the DevTools events seen."""
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(
                "uncaught: "
                + (details.get("exception", {}).get("description") or details.get("text", "?"))
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
            errors.append(f"console.{params['type']}: " + " ".join(args))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append("log: " + params["entry"].get("text", ""))
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page")
    parser.add_argument("--probe", help="file with a JavaScript expression to evaluate")
    parser.add_argument("--ready", default="window.qprofReport && window.qprofReport.ready")
    parser.add_argument("--screenshot", help="PNG file to write")
    parser.add_argument("--full-page", action="store_true", help="screenshot the whole page")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=120, help="seconds for each step")
    args = parser.parse_args()

    page_url = "file://" + urllib.parse.quote(os.path.abspath(args.page))
    profile_dir = tempfile.mkdtemp(prefix="qprof-chromium-")
    browser = None
    try:
        browser, socket_url = start_browser(profile_dir, args.width, args.height)
        tools = DevTools(socket_url, args.timeout)
        target = tools.call("Target.createTarget", {"url": "about:blank"})
        attached = tools.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        tools.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable")
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": False},
        )

        started = time.monotonic()
        tools.call("Page.navigate", {"url": page_url})
        tools.wait_event("Page.loadEventFired", args.timeout)
        deadline = time.monotonic() + args.timeout
        while not tools.evaluate(f"!!({args.ready})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page was not ready within {args.timeout} s")
            time.sleep(0.05)
        ready_wall_ms = (time.monotonic() - started) * 1000

        result = {"ready_wall_ms": round(ready_wall_ms, 1)}
        result["ready_ms"] = tools.evaluate(
            "(window.qprofReport && window.qprofReport.readyMs) || null"
        )
        if args.probe:
            with open(args.probe) as f:
                result["probe"] = tools.evaluate(f.read())
        if args.screenshot:
            params = {"format": "png"}
            if args.full_page:
                metrics = tools.call("Page.getLayoutMetrics")
                size = metrics.get("cssContentSize") or metrics["contentSize"]
                params["captureBeyondViewport"] = True
                params["clip"] = {
                    "x": 0, "y": 0, "width": size["width"],
                    "height": min(size["height"], 16000), "scale": 1,
                }
            shot = tools.call("Page.captureScreenshot", params)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            result["screenshot"] = os.path.abspath(args.screenshot)
        # Let late errors (timers, animation frames) arrive.
        tools.evaluate("new Promise(r => setTimeout(r, 200))")
        result["errors"] = page_errors(tools.events)
        result["requests"] = sorted(
            {
                e["params"]["request"]["url"]
                for e in tools.events
                if e["method"] == "Network.requestWillBeSent"
                and e["params"]["request"]["url"] != page_url
            }
        )
        print(json.dumps(result))
    finally:
        if browser:
            stop_browser(browser)
        shutil.rmtree(profile_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
