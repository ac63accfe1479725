#!/usr/bin/env python3
"""How fast ``pyconsul template`` follows a KV change, and what it costs the agent.

    python bench/template_latency.py [--changes 100] [--templates 50] [--wait 20ms] [--no-interval]

Each run starts a dev agent and ``pyconsul template``, PUTs --changes new
values one at a time at random gaps (--gap-min to --gap-max seconds), and
times each from the PUT's answer until the destination file holds the new
value (the file is polled every --poll seconds). Figures are median, p90 and
p99 (nearest rank) in milliseconds.

1. Reaction time of one template (``{{getv "/bench/value"}}``) in watch
   mode, the default; then with ``-wait=<--wait>`` for comparison (skipped
   with ``--wait ""``); then with ``-interval`` (each PUT at a random moment
   of the polling period), unless --no-interval.
2. Fan-out: --templates resources reading the same prefix, each rendering
   one key, in watch mode: time until the first and until the last of the
   files holds the value. The agent runs with debug logging, which writes a
   line per HTTP request, so the script also counts the KV GETs for that
   prefix: per change (one blocking query answered, one asked again) and
   per second while the store is idle.
3. The same agent-load count in interval mode, unless --no-interval.

Needs this checkout on PYTHONPATH (done here) and Twisted installed.
"""

import argparse
import json
import os
import random
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
        """PUT ``value``; returns the moment its answer came."""
        self.request("PUT", "/v1/kv/" + key, value.encode())
        return time.perf_counter()

    def kv_gets(self, prefix):
        """KV GETs for ``prefix`` the agent has logged (debug logging)."""
        with open(self.log_path, "rb") as f:
            return f.read().count(b"HTTP GET /v1/kv/%s?" % prefix.encode())


def write_resource(confdir, name, keys, dest, template):
    os.makedirs(os.path.join(confdir, "conf.d"), exist_ok=True)
    os.makedirs(os.path.join(confdir, "templates"), exist_ok=True)
    with open(os.path.join(confdir, "templates", name + ".tmpl"), "w") as f:
        f.write(template)
    lines = ["[template]", 'src = "%s.tmpl"' % name, "dest = %s" % json.dumps(dest),
             "keys = [%s]" % ", ".join(json.dumps(k) for k in keys)]
    with open(os.path.join(confdir, "conf.d", name + ".toml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def start_template(processes, workdir, name, confdir, agent, mode_flags):
    argv = [sys.executable, "-m", "pyconsul", "template", "-confdir", confdir, "-node", agent.http, *mode_flags]
    return processes.start(argv, os.path.join(workdir, "template-%s.log" % name), workdir)


class Files:
    """Polls destination files until each holds an expected text.

    A file is replaced by a rename, so a new inode or mtime is the cue to
    read it again; unchanged files cost one stat per poll.
    """

    def __init__(self, paths, poll):
        self.paths = list(paths)
        self.poll = poll
        self.seen = {}  # path -> (inode, mtime) last read

    def _holds(self, path, expected):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return False
        stamp = (st.st_ino, st.st_mtime_ns)
        if self.seen.get(path) == stamp:
            return False
        with open(path, "rb") as f:
            if f.read() != expected:
                self.seen[path] = stamp
                return False
        self.seen[path] = stamp
        return True

    def wait_for(self, value, timeout):
        """Waits until every file holds ``value``; the moments the first and
        the last did."""
        expected = (value + "\n").encode()
        pending, first = list(self.paths), None
        deadline = time.monotonic() + timeout
        while True:
            pending = [p for p in pending if not self._holds(p, expected)]
            now = time.perf_counter()
            if first is None and len(pending) < len(self.paths):
                first = now
            if not pending:
                return first, now
            if time.monotonic() > deadline:
                raise SystemExit("%d files still without %r after %.0f s" % (len(pending), value, timeout))
            time.sleep(self.poll)


class Run:
    """A dev agent and ``pyconsul template`` rendering ``templates`` files
    from the one key ``<prefix>/value``."""

    def __init__(self, processes, workdir, name, address, prefix, templates, mode_flags, poll, debug=False):
        self.processes = processes
        self.prefix = prefix
        self.agent = DevAgent(processes, workdir, address, debug=debug)
        confdir = os.path.join(workdir, name)
        outdir = os.path.join(workdir, name + "-out")
        os.makedirs(outdir)
        dests = [os.path.join(outdir, "t%02d" % n) for n in range(templates)]
        for n, dest in enumerate(dests):
            write_resource(confdir, "t%02d" % n, ["/" + prefix], dest, '{{getv "/%s/value"}}\n' % prefix)
        self.files = Files(dests, poll)
        self.agent.put(prefix + "/value", "start")
        self.template = start_template(processes, workdir, name, confdir, self.agent, mode_flags)
        self.files.wait_for("start", timeout=60)

    def change(self, value, timeout):
        """PUT ``value``: seconds until the first and until the last file held it."""
        answered = self.agent.put(self.prefix + "/value", value)
        first, last = self.files.wait_for(value, timeout)
        return first - answered, last - answered

    def stop(self):
        self.processes.stop(self.template)
        self.processes.stop(self.agent.process)


def percentile(values, fraction):
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))  # nearest rank
    return ordered[rank - 1]


def figures(seconds):
    ms = [x * 1000 for x in seconds]
    return "median %6.2f ms   p90 %6.2f ms   p99 %6.2f ms   (min %.2f, max %.2f)" % (
        statistics.median(ms), percentile(ms, 0.90), percentile(ms, 0.99), min(ms), max(ms))


def measure_reaction(processes, workdir, args, label, mode_flags, period=0.0):
    """Seconds from each PUT's answer until the one file held its value."""
    run = Run(processes, workdir, "latency-" + label.replace(" ", "").replace("=", ""), LATENCY_ADDRESS,
              "bench", 1, mode_flags, args.poll)
    rng = random.Random(args.seed)
    latencies = []
    try:
        for n in range(args.changes):
            time.sleep(rng.uniform(0, period) if period else rng.uniform(args.gap_min, args.gap_max))
            latencies.append(run.change("v%d" % n, timeout=period + 30)[1])
    finally:
        run.stop()
    return latencies


def measure_fan_out(processes, workdir, args):
    """(first-file and last-file seconds per change, GETs per change, idle GETs/s)."""
    run = Run(processes, workdir, "fanout", LOAD_ADDRESS, "fan", args.templates, [], args.poll, debug=True)
    rng = random.Random(args.seed)
    firsts, lasts = [], []
    try:
        time.sleep(0.5)  # let the first requests finish and be logged
        before, started = run.agent.kv_gets("fan"), time.monotonic()
        time.sleep(args.idle)
        idle_rate = (run.agent.kv_gets("fan") - before) / (time.monotonic() - started)
        before = run.agent.kv_gets("fan")
        for n in range(args.changes):
            time.sleep(rng.uniform(args.gap_min, args.gap_max))
            first, last = run.change("f%d" % n, timeout=60)
            firsts.append(first)
            lasts.append(last)
        time.sleep(0.2)  # the watch's next query is logged when it returns; count up to now
        per_change = (run.agent.kv_gets("fan") - before) / args.changes
    finally:
        run.stop()
    return firsts, lasts, per_change, idle_rate


def measure_interval_load(processes, workdir, args):
    """GETs per second while idle and per change, in interval mode."""
    flags = ["-interval", str(args.interval)]
    run = Run(processes, workdir, "load-interval", LOAD_ADDRESS, "rate", args.templates, flags, args.poll,
              debug=True)
    try:
        time.sleep(0.5)
        before, started = run.agent.kv_gets("rate"), time.monotonic()
        time.sleep(args.idle)
        idle_rate = (run.agent.kv_gets("rate") - before) / (time.monotonic() - started)
        before, started = run.agent.kv_gets("rate"), time.monotonic()
        changes = max(1, args.changes // 10)
        for n in range(changes):
            run.change("c%d" % n, timeout=args.interval + 30)
        per_change = (run.agent.kv_gets("rate") - before) / changes
    finally:
        run.stop()
    return idle_rate, per_change


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--gap-min", type=float, default=0.02, help="seconds, least gap between changes")
    parser.add_argument("--gap-max", type=float, default=0.2, help="seconds, largest gap between changes")
    parser.add_argument("--poll", type=float, default=0.0005, help="seconds between looks at the files")
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--wait", default="20ms", help='-wait to compare with; "" for none')
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--no-interval", action="store_true", help="skip the interval-mode figures")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle store to count requests over")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="template-bench-")
    processes = Processes()
    try:
        print("pyconsul template: time from a KV PUT's answer until the file holds the value, "
              "%d changes %g-%g ms apart" % (args.changes, args.gap_min * 1000, args.gap_max * 1000))
        runs = [("watch", [], 0.0)]
        if args.wait:
            runs.append(("watch -wait=%s" % args.wait, ["-wait=" + args.wait], 0.0))
        if not args.no_interval:
            runs.append(("interval %d" % args.interval, ["-interval", str(args.interval)], args.interval))
        for label, flags, period in runs:
            latencies = measure_reaction(processes, workdir, args, label, flags, period)
            print("  %-18s %s" % (label, figures(latencies)), flush=True)
        print()
        print("Fan-out: %d templates reading one prefix, watch mode" % args.templates)
        firsts, lasts, per_change, idle_rate = measure_fan_out(processes, workdir, args)
        print("  %-18s %s" % ("first file", figures(firsts)))
        print("  %-18s %s" % ("all %d files" % args.templates, figures(lasts)))
        print("  agent KV GETs for the prefix: %.2f per change, %.2f/s while idle" % (per_change, idle_rate))
        if not args.no_interval:
            idle_rate, per_change = measure_interval_load(processes, workdir, args)
            print("  %-18s agent KV GETs: %.2f per change, %.2f/s while idle"
                  % ("(interval %d)" % args.interval, per_change, idle_rate))
    except BaseException:
        processes.stop_all()
        print("logs kept in %s" % workdir, file=sys.stderr)
        raise
    processes.stop_all()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
