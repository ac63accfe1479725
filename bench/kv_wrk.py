#!/usr/bin/env python3
"""KV throughput and latency: a durable single-server pyconsul against a
single-node etcd, both on loopback, under the same wrk load.

    python bench/kv_wrk.py [--rounds 3] [--duration 10] [--keys 100000]

Prints, for PUT and GET at 16 and 64 connections, requests/s with p50 and
p99 latency for each system (the median of the rounds) and the ratio
pyconsul/etcd; then pyconsul's peak RSS with --keys keys stored and the time
it takes to restart with them. Needs wrk and etcd (Debian: wrk, etcd-server)
and pyconsul installed (or this checkout on PYTHONPATH).
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VALUE = "x" * 100
PYCONSUL_ADDR = "127.0.3.1"
ETCD_ADDR = "127.0.3.2"

PYCONSUL_PUT = """
local n = 0
local value = string.rep("x", 100)
request = function()
  n = n + 1
  return wrk.format("PUT", "/v1/kv/bench/key" .. (n %% %(keys)d), nil, value)
end
"""
PYCONSUL_GET = """
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/v1/kv/bench/key" .. (n % 1000))
end
"""
ETCD_REQUEST = """
local keys = {%(keys)s}
local n = 0
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format("POST", "%(path)s", nil, '{"key":"' .. keys[(n %% #keys) + 1] .. '"%(extra)s}')
end
"""


def b64(text):
    return base64.b64encode(text.encode()).decode()


def etcd_script(path, with_value):
    keys = ",".join('"%s"' % b64("bench/key%d" % i) for i in range(1000))
    extra = ',"value":"%s"' % b64(VALUE) if with_value else ""
    return ETCD_REQUEST % {"keys": keys, "path": path, "extra": extra}


def wait_for(condition, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for %s" % what)
        time.sleep(0.05)


def http(method, url, body=None):
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except OSError:
        return None, b""


class Pyconsul:
    name = "pyconsul"

    def __init__(self, workdir):
        self.data_dir = os.path.join(workdir, "pyconsul-data")
        self.log = open(os.path.join(workdir, "pyconsul.log"), "ab")
        self.url = "http://%s:8500" % PYCONSUL_ADDR
        self.process = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        self.process = subprocess.Popen(
            [twistd, "-n", "--pidfile=", "pyconsul", "--server", "--bootstrap",
             "--data-dir", self.data_dir, "--bind", PYCONSUL_ADDR, "--client", PYCONSUL_ADDR,
             "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=os.path.dirname(self.data_dir),
        )
        wait_for(self.ready, what="pyconsul to elect itself")

    def ready(self):
        status, body = http("GET", self.url + "/v1/status/leader")
        return status == 200 and json.loads(body) != ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def seed(self):
        for i in range(1000):
            http("PUT", "%s/v1/kv/bench/key%d" % (self.url, i), VALUE.encode())

    def scripts(self):
        return {"PUT": PYCONSUL_PUT % {"keys": 1000}, "GET": PYCONSUL_GET}

    def peak_rss_mib(self):
        with open("/proc/%d/status" % self.process.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024


class Etcd:
    name = "etcd"

    def __init__(self, workdir):
        self.data_dir = os.path.join(workdir, "etcd-data")
        self.log = open(os.path.join(workdir, "etcd.log"), "ab")
        self.url = "http://%s:2379" % ETCD_ADDR
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["etcd", "--data-dir", self.data_dir, "--name", "bench",
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", "http://%s:2380" % ETCD_ADDR,
             "--initial-advertise-peer-urls", "http://%s:2380" % ETCD_ADDR,
             "--initial-cluster", "bench=http://%s:2380" % ETCD_ADDR],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_for(lambda: http("GET", self.url + "/health")[0] == 200, what="etcd to start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def seed(self):
        for i in range(1000):
            body = json.dumps({"key": b64("bench/key%d" % i), "value": b64(VALUE)}).encode()
            http("POST", self.url + "/v3/kv/put", body)

    def scripts(self):
        return {"PUT": etcd_script("/v3/kv/put", True), "GET": etcd_script("/v3/kv/range", False)}


LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url, script_path, connections, duration):
    threads = min(2, connections)
    output = subprocess.run(
        ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency",
         "-s", script_path, url],
        capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in output:
        raise SystemExit("wrk saw errors:\n" + output)
    latency = {p: float(v) * UNIT_MS[u] for p, v, u in LATENCY.findall(output)}
    return float(RATE.search(output).group(1)), latency["50"], latency["99"]


def measure(systems, workdir, rounds, duration):
    results = {}
    for system in systems:
        for op, source in system.scripts().items():
            path = os.path.join(workdir, "%s-%s.lua" % (system.name, op))
            with open(path, "w") as f:
                f.write(source)
    for round_number in range(rounds):
        for op in ("PUT", "GET"):
            for connections in (16, 64):
                for system in systems:
                    script = os.path.join(workdir, "%s-%s.lua" % (system.name, op))
                    sample = run_wrk(system.url, script, connections, duration)
                    results.setdefault((system.name, op, connections), []).append(sample)
                    print("  round %d %-8s %s c=%-3d %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms"
                          % (round_number + 1, system.name, op, connections, *sample), flush=True)
    return results


def load_keys(pyconsul, workdir, count):
    """Write ``count`` distinct keys with wrk, pass after pass, each pass
    starting where the last one's keys ended."""
    script = os.path.join(workdir, "load.lua")
    with open(script, "w") as f:
        f.write(
            'local n = 0\nlocal value = string.rep("x", 100)\n'
            "init = function(args) n = tonumber(args[1]) end\n"
            'request = function()\n  n = n + 1\n'
            '  return wrk.format("PUT", "/v1/kv/load/" .. (n %% %d), nil, value)\nend\n' % count
        )
    stored = 0
    while stored < count:
        # One wrk thread, so n counts every request once.
        subprocess.run(["wrk", "-t1", "-c64", "-d10s", "-s", script, pyconsul.url, "--", str(stored)],
                       capture_output=True, check=True)
        status, body = http("GET", pyconsul.url + "/v1/kv/load/?keys")
        stored = len(json.loads(body)) if status == 200 else 0
    return stored


def compare(pyconsul, etcd, workdir, options):
    etcd.start()
    pyconsul.seed()
    etcd.seed()
    print("KV benchmark: 1,000 keys, 100-byte values, wrk %d s x %d rounds (medians)"
          % (options.duration, options.rounds), flush=True)
    results = measure([pyconsul, etcd], workdir, options.rounds, options.duration)
    etcd.stop()
    print()
    print("%-4s %4s | %21s | %21s | %6s"
          % ("op", "conn", "pyconsul req/s p50/p99", "etcd req/s p50/p99", "ratio"))
    for op in ("PUT", "GET"):
        for connections in (16, 64):
            row = []
            for name in ("pyconsul", "etcd"):
                samples = results[(name, op, connections)]
                row.append(tuple(statistics.median(s[i] for s in samples) for i in range(3)))
            (pr, p50, p99), (er, e50, e99) = row
            print("%-4s %4d | %7.0f %5.1f/%5.1f ms | %7.0f %5.1f/%5.1f ms | %5.2fx"
                  % (op, connections, pr, p50, p99, er, e50, e99, pr / er), flush=True)


def footprint(pyconsul, workdir, keys):
    stored = load_keys(pyconsul, workdir, keys)
    rss = pyconsul.peak_rss_mib()
    pyconsul.stop()
    started = time.monotonic()
    pyconsul.start()
    wait_for(lambda: http("GET", pyconsul.url + "/v1/kv/load/1?raw")[0] == 200, what="a key")
    restart = time.monotonic() - started
    print()
    print("pyconsul with %d keys: peak RSS %.0f MiB; restart to first answer %.2f s"
          % (stored, rss, restart))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--footprint-only", action="store_true",
                        help="only measure RSS and restart time with --keys keys")
    options = parser.parse_args()
    for tool in ("wrk", "etcd"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed (Debian: apt-get install wrk etcd-server)" % tool)

    workdir = tempfile.mkdtemp(prefix="pyconsul-bench-")
    pyconsul, etcd = Pyconsul(workdir), Etcd(workdir)
    try:
        pyconsul.start()
        if not options.footprint_only:
            compare(pyconsul, etcd, workdir, options)
        footprint(pyconsul, workdir, options.keys)
    finally:
        pyconsul.stop()
        etcd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
