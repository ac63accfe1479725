"""What the benchmarks share: starting pyconsul agents and etcd members on
loopback, wrk scripts for both, and running wrk.

Not a test helper: benchmarks print figures and never pass or fail.
"""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VALUE = "x" * 100
KEYS = 1000


def wait_for(condition, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for %s" % what)
        time.sleep(0.02)


def http(method, url, body=None, timeout=10):
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None, b""


def b64(text):
    return base64.b64encode(text.encode()).decode()


class PyconsulAgent:
    """One ``twistd -n pyconsul`` process on ``address`` (default ports)."""

    name = "pyconsul"

    def __init__(self, workdir, address, args, node=None):
        self.address = address
        self.node = node or address
        self.workdir = os.path.join(workdir, "pyconsul-" + self.node)
        os.makedirs(self.workdir, exist_ok=True)
        self.data_dir = os.path.join(self.workdir, "data")
        self.args = list(args)
        self.url = "http://%s:8500" % address
        self.process = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        log = open(os.path.join(self.workdir, "agent.log"), "ab")
        self.process = subprocess.Popen(
            [twistd, "-n", "--pidfile=", "pyconsul", "--data-dir", self.data_dir,
             "--bind", self.address, "--client", self.address, "--node", self.node,
             "--log-level", "warn", *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
        )
        log.close()
        return self

    def leader(self):
        status, body = http("GET", self.url + "/v1/status/leader", timeout=2)
        return json.loads(body) if status == 200 else ""

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)
        self.process.wait(timeout=60)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def peak_rss_mib(self):
        with open("/proc/%d/status" % self.process.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

    def seed(self):
        for i in range(KEYS):
            http("PUT", "%s/v1/kv/bench/key%d" % (self.url, i), VALUE.encode())

    @staticmethod
    def scripts():
        put = (
            'local n = 0\nlocal value = string.rep("x", 100)\n'
            "request = function()\n  n = n + 1\n"
            '  return wrk.format("PUT", "/v1/kv/bench/key" .. (n %% %d), nil, value)\nend\n' % KEYS
        )
        get = (
            "local n = 0\nrequest = function()\n  n = n + 1\n"
            '  return wrk.format("GET", "/v1/kv/bench/key" .. (n %% %d))\nend\n' % KEYS
        )
        return {"PUT": put, "GET": get}


class EtcdMember:
    """One etcd member (Debian's etcd-server) serving its v3 JSON gateway."""

    name = "etcd"

    def __init__(self, workdir, name, address, cluster):
        self.member = name
        self.address = address
        self.cluster = cluster  # {name: address} of every member
        self.data_dir = os.path.join(workdir, "etcd-" + name)
        self.log_path = os.path.join(workdir, "etcd-%s.log" % name)
        self.url = "http://%s:2379" % address
        self.process = None

    def start(self):
        initial = ",".join("%s=http://%s:2380" % (n, a) for n, a in sorted(self.cluster.items()))
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            ["etcd", "--name", self.member, "--data-dir", self.data_dir,
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", "http://%s:2380" % self.address,
             "--initial-advertise-peer-urls", "http://%s:2380" % self.address,
             "--initial-cluster", initial, "--initial-cluster-state", "new"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def healthy(self):
        return http("GET", self.url + "/health", timeout=2)[0] == 200

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def seed(self):
        for i in range(KEYS):
            body = json.dumps({"key": b64("bench/key%d" % i), "value": b64(VALUE)}).encode()
            http("POST", self.url + "/v3/kv/put", body)

    @staticmethod
    def scripts():
        keys = ",".join('"%s"' % b64("bench/key%d" % i) for i in range(KEYS))
        template = (
            "local keys = {%s}\nlocal n = 0\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            "request = function()\n  n = n + 1\n"
            "  return wrk.format(\"POST\", \"%s\", nil, '{\"key\":\"' .. keys[(n %% #keys) + 1] .. '\"%s}')\nend\n"
        )
        value = ',"value":"%s"' % b64(VALUE)
        return {"PUT": template % (keys, "/v3/kv/put", value), "GET": template % (keys, "/v3/kv/range", "")}


LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def require_wrk():
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")


def run_wrk(url, script_path, connections, duration):
    """(requests/s, p50 ms, p99 ms) of one wrk run."""
    output = subprocess.run(
        ["wrk", "-t%d" % min(2, connections), "-c%d" % connections, "-d%ds" % duration,
         "--latency", "-s", script_path, url],
        capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in output:
        raise SystemExit("wrk saw errors:\n" + output)
    latency = {p: float(v) * UNIT_MS[u] for p, v, u in LATENCY.findall(output)}
    return float(RATE.search(output).group(1)), latency["50"], latency["99"]


def write_script(workdir, name, source):
    path = os.path.join(workdir, name + ".lua")
    with open(path, "w") as f:
        f.write(source)
    return path
