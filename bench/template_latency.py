#!/usr/bin/env python3
"""How fast ``pyconsul template`` follows a KV change, and what it costs the agent.

    python bench/template_latency.py [--changes 100] [--interval 2] [--templates 50]

1. Latency: a dev agent and ``pyconsul template`` with one resource whose
   reload_cmd copies the rendered file into a FIFO that this script reads.
   For each of --changes changes: PUT a new value, and time until the
   reload_cmd has written that value -- i.e. render, check, rename and
   reload all done. Once in watch mode (the default) and once with
   ``-interval`` (where each PUT comes at a random moment of the polling
   period, as real changes do). Prints median and p99.
2. Agent load: --templates resources reading the same prefix, rendering one
   key. The agent runs with debug logging, which writes a line per HTTP
   request; the script counts the KV GETs for that prefix while the store
   is idle, and while it changes (each change waited for in every file).
   In watch mode and in interval mode.

Needs this checkout on PYTHONPATH (done here) and Twisted installed.
"""

import argparse
import json
import os
import random
import select
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
LATENCY_ADDRESS = "127.0.6.200"
LOAD_ADDRESS = "127.0.6.201"


def environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSUL_")}
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def wait_for(condition, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for %s" % what)
        time.sleep(0.01)


class Processes:
    """Everything started here, stopped by pid at the end."""

    def __init__(self):
        self.started = []

    def start(self, argv, log_path, cwd):
        with open(log_path, "ab") as log:
            process = subprocess.Popen(argv, cwd=cwd, env=environment(), stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        for process in reversed(self.started):
            self.stop(process)


class DevAgent:
    def __init__(self, processes, workdir, address, debug=False):
        self.address = address
        self.log_path = os.path.join(workdir, "agent-%s.log" % address)
        argv = [os.path.join(os.path.dirname(sys.executable), "twistd"), "-n", "--pidfile=", "pyconsul",
                "--bind", address, "--client", address, "--dev"]
        if debug:
            argv += ["--log-level", "debug"]
        self.process = processes.start(argv, self.log_path, workdir)
        wait_for(self.has_leader, what="the agent at %s" % address)

    @property
    def http(self):
        return "%s:8500" % self.address

    def request(self, method, path, body=None):
        request = urllib.request.Request("http://%s%s" % (self.http, path), data=body, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def has_leader(self):
        if self.process.poll() is not None:
            raise SystemExit("the agent exited; see %s" % self.log_path)
        try:
            return json.loads(self.request("GET", "/v1/status/leader")) != ""
        except OSError:
            return False

    def put(self, key, value):
        self.request("PUT", "/v1/kv/" + key, value.encode())

    def kv_gets(self, prefix):
        """KV GETs for ``prefix`` the agent has logged (debug logging)."""
        with open(self.log_path, "rb") as f:
            return f.read().count(b"HTTP GET /v1/kv/%s?" % prefix.encode())


def write_resource(confdir, name, keys, dest, template, reload_cmd=""):
    os.makedirs(os.path.join(confdir, "conf.d"), exist_ok=True)
    os.makedirs(os.path.join(confdir, "templates"), exist_ok=True)
    with open(os.path.join(confdir, "templates", name + ".tmpl"), "w") as f:
        f.write(template)
    lines = ["[template]", 'src = "%s.tmpl"' % name, "dest = %s" % json.dumps(dest),
             "keys = [%s]" % ", ".join(json.dumps(k) for k in keys)]
    if reload_cmd:
        lines.append("reload_cmd = %s" % json.dumps(reload_cmd))
    with open(os.path.join(confdir, "conf.d", name + ".toml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def start_template(processes, workdir, name, confdir, agent, mode_flags):
    argv = [sys.executable, "-m", "pyconsul", "template", "-confdir", confdir, "-node", agent.http, *mode_flags]
    return processes.start(argv, os.path.join(workdir, "template-%s.log" % name), workdir)


class Fifo:
    """Lines written by reload_cmd, timed as they arrive."""

    def __init__(self, path):
        os.mkfifo(path)
        self.path = path
        # Read-write, so the pipe stays open between writers.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.buffer = b""

    def next_line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise SystemExit("no reload within %.0f s" % timeout)
            self.buffer += os.read(self.fd, 65536)
        line, self.buffer = self.buffer.split(b"\n", 1)
        return time.perf_counter(), line.decode()


def measure_latency(processes, workdir, mode_flags, changes, random_phase, seed):
    name = "latency" + ("-".join(mode_flags) or "-watch")
    agent = DevAgent(processes, workdir, LATENCY_ADDRESS)
    confdir = os.path.join(workdir, name)
    dest = os.path.join(workdir, name + ".out")
    fifo = Fifo(os.path.join(workdir, name + ".fifo"))
    write_resource(confdir, "value", ["/bench"], dest, '{{getv "/bench/value"}}\n',
                   reload_cmd="cat %s > %s" % (dest, fifo.path))
    template = start_template(processes, workdir, name, confdir, agent, mode_flags)
    agent.put("bench/value", "start")
    wait_for_value(fifo, "start")
    rng = random.Random(seed)
    period = float(mode_flags[1]) if random_phase else 0
    latencies = []
    for n in range(changes):
        if random_phase:
            time.sleep(rng.uniform(0, period))
        value = "v%d" % n
        started = time.perf_counter()
        agent.put("bench/value", value)
        finished = wait_for_value(fifo, value, timeout=period + 30)
        latencies.append(finished - started)
    processes.stop(template)
    processes.stop(agent.process)
    return latencies


def wait_for_value(fifo, value, timeout=30):
    while True:
        moment, line = fifo.next_line(timeout)
        if line == value:
            return moment


def measure_load(processes, workdir, mode_flags, templates, idle_seconds, changes):
    name = "load" + ("-".join(mode_flags) or "-watch")
    agent = DevAgent(processes, workdir, LOAD_ADDRESS, debug=True)
    confdir = os.path.join(workdir, name)
    outdir = os.path.join(workdir, name + "-out")
    os.makedirs(outdir)
    dests = [os.path.join(outdir, "t%02d" % n) for n in range(templates)]
    for n, dest in enumerate(dests):
        write_resource(confdir, "t%02d" % n, ["/rate"], dest, '{{getv "/rate/value"}}\n')
    agent.put("rate/value", "start")
    template = start_template(processes, workdir, name, confdir, agent, mode_flags)

    def everywhere(value):
        expected = (value + "\n").encode()

        def check():
            for dest in dests:
                try:
                    with open(dest, "rb") as f:
                        if f.read() != expected:
                            return False
                except FileNotFoundError:
                    return False
            return True

        return check

    wait_for(everywhere("start"), timeout=60, what="every template rendered")
    time.sleep(0.5)  # let the first requests finish and be logged
    before, started = agent.kv_gets("rate"), time.monotonic()
    time.sleep(idle_seconds)
    idle_rate = (agent.kv_gets("rate") - before) / (time.monotonic() - started)

    before, started = agent.kv_gets("rate"), time.monotonic()
    for n in range(changes):
        agent.put("rate/value", "c%d" % n)
        wait_for(everywhere("c%d" % n), timeout=60, what="change %d in every file" % n)
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # the watch's next query is logged when it returns; count up to now
    busy = agent.kv_gets("rate") - before
    processes.stop(template)
    processes.stop(agent.process)
    return idle_rate, busy / changes, busy / elapsed


def percentile(values, fraction):
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))  # nearest rank
    return ordered[rank - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle store to count requests over")
    parser.add_argument("--load-changes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="template-bench-")
    processes = Processes()
    try:
        print("pyconsul template: time from KV PUT to finished reload_cmd, %d changes" % args.changes)
        for label, flags, random_phase in [
            ("watch", [], False),
            ("interval %d" % args.interval, ["-interval", str(args.interval)], True),
        ]:
            latencies = measure_latency(processes, workdir, flags, args.changes, random_phase, args.seed)
            ms = [x * 1000 for x in latencies]
            print("  %-11s median %7.1f ms   p99 %7.1f ms   (min %.1f, max %.1f)"
                  % (label, statistics.median(ms), percentile(ms, 0.99), min(ms), max(ms)))
        print()
        print("Agent KV requests caused by %d templates reading the same prefix" % args.templates)
        for label, flags in [("watch", []), ("interval %d" % args.interval, ["-interval", str(args.interval)])]:
            idle, per_change, busy_rate = measure_load(processes, workdir, flags, args.templates, args.idle,
                                                       args.load_changes)
            print("  %-11s idle %5.2f req/s   while changing: %5.2f req/s, %.2f req per change (%d changes)"
                  % (label, idle, busy_rate, per_change, args.load_changes))
    finally:
        processes.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
