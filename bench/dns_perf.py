"""DNS throughput: pyconsul against dnsmasq serving the same names.

One durable server with a 1,000-instance service (``big``, each on its own
node with a passing check) and 100 single-instance services (``solo-NNN``),
and Debian's dnsmasq on another loopback address answering the same names
from a hosts file and srv-host lines. dnsperf drives each at 4 and 32
clients with three query mixes:

- all: A and SRV of the large service, node A and single-instance A,
- large: A and SRV of the large service only,
- small: node A and single-instance A only,

and the figures are queries per second, average and maximum latency, lost
queries and the server's CPU (user + system time over the run's wall
time; 100% is one core). With ``--profile`` a py-spy profile of pyconsul
under the full mix prints where its time goes.

    python bench/dns_perf.py [--duration 10] [--profile]
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import PyconsulAgent, wait_for

AGENT_ADDRESS = "127.0.77.1"
DNSMASQ_ADDRESS = "127.0.77.2"
DNS_PORT = 8600
BIG = 1000
SOLOS = 100


def address_of(i):
    return "10.1.%d.%d" % (i // 250, i % 250 + 1)


def solo_address(i):
    return "10.2.0.%d" % (i + 1)


def register_catalog(address):
    connection = http.client.HTTPConnection(address, 8500, timeout=60)

    def put(body):
        connection.request("PUT", "/v1/catalog/register", body=json.dumps(body))
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit("register failed: %d" % response.status)

    for i in range(BIG):
        put({"Node": "big-%04d" % i, "Address": address_of(i),
             "Service": {"ID": "big", "Service": "big", "Port": 9000},
             "Check": {"CheckID": "big-alive", "Name": "alive", "Status": "passing", "ServiceID": "big"}})
    for i in range(SOLOS):
        name = "solo-%03d" % i
        put({"Node": name, "Address": solo_address(i), "Service": {"ID": name, "Service": name, "Port": 80}})
    connection.close()


def dig_count(address, name, qtype="A"):
    out = subprocess.run(["dig", "+short", "+tcp", "-p", str(DNS_PORT), "@" + address, name, qtype],
                         capture_output=True, text=True, timeout=10).stdout
    return len(out.split())


def start_dnsmasq(workdir):
    hosts, srv = [], []
    for i in range(BIG):
        hosts.append("%s big.service.consul" % address_of(i))
        hosts.append("%s big-%04d.node.consul big-%04d.node.dc1.consul" % (address_of(i), i, i))
        srv.append("srv-host=big.service.consul,big-%04d.node.dc1.consul,9000,1,1" % i)
    for i in range(SOLOS):
        hosts.append("%s solo-%03d.service.consul solo-%03d.node.consul" % (solo_address(i), i, i))
    with open(os.path.join(workdir, "hosts"), "w") as f:
        f.write("\n".join(hosts) + "\n")
    with open(os.path.join(workdir, "dnsmasq.conf"), "w") as f:
        f.write("\n".join(srv) + "\n")
    process = subprocess.Popen([
        "dnsmasq", "--keep-in-foreground", "--port=%d" % DNS_PORT, "--listen-address=" + DNSMASQ_ADDRESS,
        "--bind-interfaces", "--no-resolv", "--no-hosts", "--addn-hosts=" + os.path.join(workdir, "hosts"),
        "--conf-file=" + os.path.join(workdir, "dnsmasq.conf"), "--local=/consul/", "--cache-size=10000",
        "--user=" + os.environ.get("USER", "root"), "--pid-file=" + os.path.join(workdir, "dnsmasq.pid"),
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: dig_count(DNSMASQ_ADDRESS, "solo-001.service.consul") == 1, what="dnsmasq")
    return process


def query_files(workdir):
    rng = random.Random(7)
    large = ["big.service.consul A", "big.service.consul SRV"]
    small = []
    for _ in range(200):
        small.append("big-%04d.node.consul A" % rng.randrange(BIG))
        small.append("solo-%03d.service.consul A" % rng.randrange(SOLOS))
    mixes = {
        "all": large * 100 + small[:200],
        "large": large,
        "small": small,
    }
    paths = {}
    for name, lines in mixes.items():
        paths[name] = os.path.join(workdir, "queries-%s.txt" % name)
        with open(paths[name], "w") as f:
            f.write("\n".join(lines) + "\n")
    return paths


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dnsperf(address, queries, clients, duration, pid):
    before, started = cpu_seconds(pid), time.monotonic()
    out = subprocess.run(["dnsperf", "-s", address, "-p", str(DNS_PORT), "-d", queries, "-c", str(clients),
                          "-l", str(duration)], capture_output=True, text=True, timeout=duration + 60).stdout
    cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started)

    def number(pattern):
        match = re.search(pattern, out)
        if match is None:
            raise SystemExit("unexpected dnsperf output:\n" + out)
        return float(match.group(1))

    return {
        "qps": number(r"Queries per second:\s+([\d.]+)"),
        "avg_ms": number(r"Average Latency \(s\):\s+([\d.]+)") * 1000,
        "max_ms": number(r"Average Latency \(s\):\s+[\d.]+ \(min [\d.]+, max ([\d.]+)\)") * 1000,
        "lost": int(number(r"Queries lost:\s+(\d+)")),
        "cpu": cpu * 100,
    }


def profile(pid, queries, duration):
    """The functions pyconsul spends its own time in under load, by share."""
    out = tempfile.mktemp(suffix=".txt")
    load = subprocess.Popen(["dnsperf", "-s", AGENT_ADDRESS, "-p", str(DNS_PORT), "-d", queries, "-c", "4",
                             "-l", str(duration + 2)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    subprocess.run([py_spy, "record", "-p", str(pid), "-d", str(duration), "-f", "raw", "-o", out],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load.wait()
    own, total = collections.Counter(), 0
    with open(out) as f:
        for line in f:
            stack, _, samples = line.rstrip().rpartition(" ")
            total += int(samples)
            own[stack.split(";")[-1]] += int(samples)
    os.unlink(out)
    return [(100.0 * n / total, frame) for frame, n in own.most_common(12)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for tool in ("dnsperf", "dnsmasq", "dig"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is needed: apt-get install dnsperf dnsmasq-base dnsutils" % tool)
    workdir = tempfile.mkdtemp(prefix="pyconsul-dns-bench-")
    agent = PyconsulAgent(workdir, AGENT_ADDRESS, ["--server", "--bootstrap"], node="bench").start()
    dnsmasq = None
    try:
        wait_for(lambda: agent.leader(), what="a leader")
        register_catalog(AGENT_ADDRESS)
        wait_for(lambda: dig_count(AGENT_ADDRESS, "big.service.consul") == BIG, what="the catalog over DNS")
        dnsmasq = start_dnsmasq(workdir)
        paths = query_files(workdir)
        servers = {"pyconsul": (AGENT_ADDRESS, agent.process.pid), "dnsmasq": (DNSMASQ_ADDRESS, dnsmasq.pid)}
        results = {}
        print("%-6s %7s  %-9s %10s %9s %9s %6s %6s" % ("mix", "clients", "server", "qps", "avg ms", "max ms",
                                                      "lost", "cpu%"))
        for mix in ("all", "large", "small"):
            for clients in (4, 32):
                for server, (address, pid) in servers.items():
                    r = results[mix, clients, server] = dnsperf(address, paths[mix], clients, args.duration, pid)
                    print("%-6s %7d  %-9s %10.0f %9.2f %9.2f %6d %6.0f" % (
                        mix, clients, server, r["qps"], r["avg_ms"], r["max_ms"], r["lost"], r["cpu"]))
        print()
        for mix in ("all", "large", "small"):
            for clients in (4, 32):
                ratio = results[mix, clients, "pyconsul"]["qps"] / results[mix, clients, "dnsmasq"]["qps"]
                print("%-6s %2d clients: pyconsul / dnsmasq = %.2fx" % (mix, clients, ratio))
        print("pyconsul peak RSS: %.0f MiB" % agent.peak_rss_mib())
        if args.profile:
            print("\npyconsul's own time under the full mix (py-spy):")
            for share, frame in profile(agent.process.pid, paths["all"], args.duration):
                print("%5.1f%%  %s" % (share, frame))
    finally:
        if dnsmasq is not None:
            dnsmasq.terminate()
            dnsmasq.wait()
        agent.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
