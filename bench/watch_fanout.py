"""Watch fan-out: thousands of blocking watchers of one service on one client agent.

A server and a client agent on loopback; 5,000 blocking watchers of
/v1/health/service/target?passing on the client agent, and 5,000 more
spread over 100 other services. Each flip turns one target instance's
check critical or passing again (through the server), and the script
measures the time from the flip's answer until every target watcher has
its new answer. Prints the median and maximum over the flips, how many
watchers of other services woke meanwhile (target: 0), how many upstream
queries the server saw per flip (target: 1; counted from its debug log of
RPCs), and the client agent's RSS.

    python bench/watch_fanout.py [--watchers 5000] [--others 5000] [--flips 20]
"""

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import tempfile
import time

from benchlib import PyconsulAgent, http, wait_for

SERVER, CLIENT = "127.0.79.1", "127.0.79.2"
OTHER_SERVICES = 100
UPSTREAM = re.compile(r"RPC Health\.ServiceNodes from %s" % re.escape(CLIENT))


def register(node, number, service, status="passing"):
    body = json.dumps({
        "Node": node, "Address": "10.9.0.%d" % number,
        "Service": {"Service": service, "ID": service + "-" + node, "Port": 80},
        "Check": {"CheckID": service + "-check", "Name": "alive", "Status": status,
                  "ServiceID": service + "-" + node}})
    status_code, answer = http("PUT", "http://%s:8500/v1/catalog/register" % SERVER, body.encode())
    if status_code != 200:
        raise SystemExit("register failed: %s %r" % (status_code, answer))


class Watcher:
    """One blocking watcher on its own connection, asking again after each answer."""

    def __init__(self, service):
        self.path = "/v1/health/service/%s?passing" % service
        self.index = 0
        self.answers = []  # (time, index)

    async def run(self, ready):
        reader, writer = await asyncio.open_connection(CLIENT, 8500, limit=1 << 20)
        first = True
        while True:
            query = "&index=%d&wait=10m" % self.index if self.index else ""
            writer.write(("GET %s%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (self.path, query, CLIENT)).encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line)
            length = int(headers.get("Content-Length") or headers.get("content-length"))
            await reader.readexactly(length)
            index = int(headers.get("X-Consul-Index") or headers.get("x-consul-index"))
            if first:
                first = False
                ready.release()
            else:
                self.answers.append((time.monotonic(), index))
            self.index = index


def upstream_queries(server):
    with open(os.path.join(server.workdir, "agent.log"), errors="replace") as log:
        return len(UPSTREAM.findall(log.read()))


def rss_mib(agent, field="VmRSS"):
    with open("/proc/%d/status" % agent.process.pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024


async def bench(args, server, client):
    target = [Watcher("target") for _ in range(args.watchers)]
    others = [Watcher("other%03d" % (n % OTHER_SERVICES)) for n in range(args.others)]
    ready = asyncio.Semaphore(0)
    tasks = []
    for watcher in target + others:
        tasks.append(asyncio.ensure_future(watcher.run(ready)))
        if len(tasks) % 500 == 0:
            await asyncio.sleep(0.05)  # let the agent accept them at its pace
    for _ in tasks:
        await asyncio.wait_for(ready.acquire(), 120)
    # Every watcher holds a blocking query now (its second request).
    await asyncio.sleep(1)
    before = upstream_queries(server)
    times = []
    for flip in range(args.flips):
        status = "critical" if flip % 2 == 0 else "passing"
        seen = [len(w.answers) for w in target]
        await asyncio.get_running_loop().run_in_executor(None, register, "t1", 1, "target", status)
        flipped = time.monotonic()
        deadline = flipped + 30
        while any(len(w.answers) == n for w, n in zip(target, seen)):
            if time.monotonic() > deadline:
                raise SystemExit("flip %d: not every watcher answered within 30 s" % flip)
            await asyncio.sleep(0.001)
        last = max(w.answers[n][0] for w, n in zip(target, seen))
        times.append(last - flipped)
        await asyncio.sleep(0.5)  # the watchers ask again
    await asyncio.sleep(1)  # the server's log catches up
    woke = sum(len(w.answers) for w in others)
    upstream = upstream_queries(server) - before
    for task in tasks:
        task.cancel()
    return times, woke, upstream


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", type=int, default=5000)
    parser.add_argument("--others", type=int, default=5000)
    parser.add_argument("--flips", type=int, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = tempfile.mkdtemp(prefix="pyconsul-bench-")
    server = PyconsulAgent(workdir, SERVER, ["--server", "--bootstrap", "--log-level", "debug"], node="server1")
    client = PyconsulAgent(workdir, CLIENT, ["--retry-join", SERVER], node="client1")
    server.start()
    wait_for(lambda: server.leader(), what="a leader")
    client.start()
    wait_for(lambda: http("GET", client.url + "/v1/catalog/nodes")[0] == 200, what="the client agent")
    try:
        for number in (1, 2, 3):
            register("t%d" % number, number, "target")
        for number in range(OTHER_SERVICES):
            register("o%03d" % number, 100 + number % 150, "other%03d" % number)
        before_rss = rss_mib(client)
        times, woke, upstream = asyncio.run(bench(args, server, client))
        print("%d target watchers, %d on %d other services, %d flips" % (
            args.watchers, args.others, OTHER_SERVICES, args.flips))
        print("all target watchers answered after a flip: median %.0f ms, max %.0f ms" % (
            statistics.median(times) * 1000, max(times) * 1000))
        print("watchers of other services woken: %d" % woke)
        print("upstream Health.ServiceNodes queries the server saw: %d (%.2f per flip)" % (
            upstream, upstream / args.flips))
        print("client agent RSS: %.0f MiB before the watchers, %.0f MiB peak" % (before_rss, rss_mib(client, "VmHWM")))
    finally:
        client.stop()
        server.stop()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
