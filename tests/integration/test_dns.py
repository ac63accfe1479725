"""The DNS interface of real agents, asked with dig and raw sockets.

* Every recorded Consul answer, from a fresh ``--dev`` agent (twice: the
  second time from the prepared replies).
* Health: a check turns critical and the answer changes at once.
* Truncation over UDP (with ``enable_truncate``) and the full answer over
  TCP; EDNS sizes.
* A recursor: a small DNS server in the test, on loopback.
* Malformed packets from a fuzzer, each followed by a well-formed query
  that must still be answered, and a flood of garbage that stops no answer.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

from hypothesis import HealthCheck, given, settings, strategies as st
from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from tests.dns.messages import query
from tests.integration.agent import NET, Agent, wait_for
from tests.vectors.dns import run_all

DIG = shutil.which("dig")


def dig(*args):
    if DIG is None:
        raise AssertionError("these tests run dig: install it (on Debian: apt-get install dnsutils)")
    completed = subprocess.run([DIG, *args], capture_output=True, text=True, timeout=30)
    return completed.stdout


def dig_at(agent, *args):
    return dig("@" + agent.address, "-p", "8600", "+time=2", "+tries=1", *args)


def status_of(output):
    for line in output.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    return None


def flags_of(output):
    for line in output.splitlines():
        if line.startswith(";; flags:"):
            return set(line.split("flags:")[1].split(";")[0].split())
    return set()


def answers_of(output):
    """The answer section's records as (name, type, data)."""
    records, inside = [], False
    for line in output.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            name, _ttl, _cls, rtype, data = line.split(None, 4)
            records.append((name, rtype, data))
    return records


def write_config(directory, values):
    path = os.path.join(directory, "dns.json")
    with open(path, "w") as f:
        json.dump(values, f)
    return path


def register(agent, body, path="/v1/catalog/register"):
    status, answer = agent.request("PUT", path, json.dumps(body).encode())
    assert status == 200, (status, answer)


def dev_agent(testcase, address, *args):
    agent = Agent(testcase, address, ["--dev", "--node", "s1", *args]).start()
    agent.wait_until_leader()
    wait_for(lambda: status_of(dig_at(agent, "consul.service.consul")) == "NOERROR",
             what="the agent's DNS to answer")
    return agent


class RecordedVectorsTests(SynchronousTestCase):
    def test_every_recorded_answer_from_a_real_agent(self):
        agent = dev_agent(self, f"{NET}.5.1")
        failures = run_all(f"{NET}.5.1:8600", agent.http, agent_ip=f"{NET}.5.1")
        self.assertEqual(failures, [])
        # Again: now answered from the prepared replies.
        failures = run_all(f"{NET}.5.1:8600", agent.http, agent_ip=f"{NET}.5.1")
        self.assertEqual(failures, [])


class HealthTests(SynchronousTestCase):
    def test_a_check_that_turns_critical_takes_the_instance_out_at_once(self):
        agent = dev_agent(self, f"{NET}.5.2")
        for number in (1, 2):
            register(agent, {"ID": "web-%d" % number, "Name": "web", "Port": 80, "Address": "10.5.0.%d" % number,
                             "Check": {"CheckID": "web-%d-ttl" % number, "TTL": "10m", "Status": "passing"}},
                     path="/v1/agent/service/register")

        def addresses():
            return sorted(data for _, rtype, data in answers_of(dig_at(agent, "web.service.consul")) if rtype == "A")

        wait_for(lambda: addresses() == ["10.5.0.1", "10.5.0.2"], what="both instances over DNS")
        for _ in range(3):
            addresses()  # answered from the prepared reply now
        status, _ = agent.request("PUT", "/v1/agent/check/fail/web-2-ttl")
        self.assertEqual(status, 200)
        started = time.monotonic()
        wait_for(lambda: addresses() == ["10.5.0.1"], timeout=5, what="the failed instance to leave the answer")
        self.assertLess(time.monotonic() - started, 2.0)
        agent.request("PUT", "/v1/agent/check/fail/web-1-ttl")
        wait_for(lambda: status_of(dig_at(agent, "web.service.consul")) == "NXDOMAIN", timeout=5,
                 what="NXDOMAIN once no instance is healthy")
        agent.request("PUT", "/v1/agent/check/pass/web-2-ttl")
        wait_for(lambda: addresses() == ["10.5.0.2"], timeout=5, what="the instance to come back")


class TruncationTests(SynchronousTestCase):
    def test_udp_answers_are_cut_and_flagged_and_tcp_has_them_all(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        config = write_config(directory, {"dns_config": {"enable_truncate": True}})
        agent = dev_agent(self, f"{NET}.5.3", "--config-file", config)
        for number in range(1, 11):
            register(agent, {"Node": "many-%02d" % number, "Address": "10.6.0.%d" % number,
                             "Service": {"Service": "many", "Port": 7000}})
        wait_for(lambda: len(answers_of(dig_at(agent, "+tcp", "many.service.consul"))) == 10,
                 what="ten instances over TCP")
        plain = dig_at(agent, "+noedns", "+ignore", "many.service.consul")
        self.assertEqual(len(answers_of(plain)), 3)
        self.assertIn("tc", flags_of(plain))
        # dig retries over TCP when it sees TC: the whole answer.
        retried = dig_at(agent, "+noedns", "many.service.consul")
        self.assertEqual(len(answers_of(retried)), 10)
        srv = dig_at(agent, "+tcp", "many.service.consul", "SRV")
        self.assertEqual(len(answers_of(srv)), 10)
        self.assertNotIn("tc", flags_of(srv))
        # EDNS: a larger UDP size holds all ten, and the size is echoed.
        edns = dig_at(agent, "+bufsize=4096", "+ignore", "many.service.consul")
        self.assertEqual(len(answers_of(edns)), 10)
        self.assertIn("udp: 4096", edns)
        self.assertNotIn("tc", flags_of(edns))


class TinyDNSServer:
    """A recursor for the tests: answers example.test A over UDP, NXDOMAIN
    for anything else."""

    def __init__(self, testcase, address):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((address, 0))
        self.address = "%s:%d" % self.socket.getsockname()
        self.asked = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        testcase.addCleanup(self.socket.close)

    def serve(self):
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                return
            request = dns.Message()
            request.fromStr(data)
            question = request.queries[0]
            self.asked.append(question.name.name)
            reply = dns.Message(id=request.id, answer=1, recDes=request.recDes, recAv=1)
            reply.queries = request.queries
            if question.name.name == b"example.test":
                reply.answers = [dns.RRHeader(b"example.test", dns.A, dns.IN, 300,
                                              dns.Record_A("192.0.2.55", 300))]
            else:
                reply.rCode = dns.ENAME
            self.socket.sendto(reply.toStr(), peer)


class RecursorTests(SynchronousTestCase):
    def test_names_outside_the_domain_go_to_the_recursor(self):
        recursor = TinyDNSServer(self, f"{NET}.5.5")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        # The first recursor never answers (nothing listens there); the
        # second is asked once it times out.
        config = write_config(directory, {"dns_config": {"recursor_timeout": "300ms"}})
        agent = dev_agent(self, f"{NET}.5.4", "--config-file", config, "--recursor", f"{NET}.5.6:9",
                          "--recursor", recursor.address)
        answer = dig_at(agent, "example.test")
        self.assertEqual(answers_of(answer), [("example.test.", "A", "192.0.2.55")])
        self.assertIn("ra", flags_of(answer))
        self.assertEqual(status_of(dig_at(agent, "nothing.test")), "NXDOMAIN")
        # Names of the domain are still answered by the agent itself.
        own = dig_at(agent, "consul.service.consul")
        self.assertEqual(status_of(own), "NOERROR")
        self.assertEqual({"aa", "ra"} & flags_of(own), {"aa", "ra"})
        self.assertNotIn(b"consul.service.consul", recursor.asked)


# -- malformed input -----------------------------------------------------------------

HEADER = struct.Struct("!HBBHHHH")
WELL_FORMED = query(b"consul.service.consul", message_id=0x7777)


def _label(data):
    return bytes([len(data)]) + data


malformed_packets = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=11),  # shorter than a header
    # A header claiming some count of everything, and random bytes after it.
    st.builds(lambda counts, tail: HEADER.pack(1, 0x01, 0, *counts) + tail,
              st.tuples(*[st.sampled_from([0, 1, 2, 65535])] * 4), st.binary(max_size=100)),
    # A question whose name points at itself, or forward past the end.
    st.builds(lambda pointer: HEADER.pack(2, 1, 0, 1, 0, 0, 0) + struct.pack("!H", 0xC000 | pointer) + b"\x00\x01\x00\x01",
              st.integers(0, 0x3FFF)),
    # A label longer than what follows.
    st.builds(lambda size, body: HEADER.pack(3, 1, 0, 1, 0, 0, 0) + bytes([size]) + body,
              st.integers(1, 63), st.binary(max_size=20)),
    # Questions counted 0 or 65535 around one real question.
    st.builds(lambda count: HEADER.pack(4, 1, 0, count, 0, 0, 0) + _label(b"web") + _label(b"service")
              + _label(b"consul") + b"\x00\x00\x01\x00\x01", st.sampled_from([0, 2, 65535])),
)


class MalformedPacketTests(SynchronousTestCase):
    address = f"{NET}.5.7"

    def setUp(self):
        self.agent = dev_agent(self, self.address)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.settimeout(2)
        self.socket.connect((self.address, 8600))
        self.addCleanup(self.socket.close)

    def answered(self):
        """A well-formed query gets its answer (stale replies to garbage are skipped)."""
        self.socket.send(WELL_FORMED)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            reply = self.socket.recv(4096)
            if reply[:2] == WELL_FORMED[:2]:
                return True
        return False

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(malformed_packets)
    def test_malformed_packets_never_stop_an_answer(self, packet):
        self.socket.send(packet)
        self.assertTrue(self.answered(), "no answer after %r" % packet)

    def test_a_flood_of_garbage_stops_no_answer(self):
        flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(flood.close)
        garbage = [os.urandom(n % 300) for n in range(1000)]
        started = time.monotonic()
        for _ in range(20):
            for packet in garbage:
                flood.sendto(packet, (self.address, 8600))
            self.assertTrue(self.answered())
        self.assertLess(time.monotonic() - started, 60)
        self.assertIsNone(self.agent.process.poll())

    def test_a_bad_message_gets_formerr_and_a_response_gets_nothing(self):
        self.socket.send(HEADER.pack(0x1234, 0x01, 0, 1, 0, 0, 0) + b"\x05abc")
        reply = self.socket.recv(4096)
        message_id, first, second, *counts = HEADER.unpack(reply[:12])
        self.assertEqual((message_id, second & 0xF, counts), (0x1234, dns.EFORMAT, [0, 0, 0, 0]))
        self.assertTrue(first & 0x80)
        # A response (QR set) is never answered: no reflection loops.
        self.socket.send(HEADER.pack(0x4321, 0x80, 0, 1, 0, 0, 0) + WELL_FORMED[12:])
        self.assertTrue(self.answered())
