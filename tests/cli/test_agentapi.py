"""The membership calls: the requests they send and how they read the answers."""

import json

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.cli.agentapi import Agent, DecodeError, Member, decode_members
from pyconsul.cli.http import Client, ClientConfig, Response, UnexpectedStatus

from tests.cli.test_http import ScriptedTransport


def decode(value):
    return decode_members(json.dumps(value).encode() if not isinstance(value, bytes) else value)


class DecodeMembersTests(SynchronousTestCase):
    def assertDecodeError(self, body, message):
        with self.assertRaises(DecodeError) as caught:
            decode(body)
        self.assertEqual(str(caught.exception), message)

    def test_all_fields(self):
        item = {"Name": "n1", "Addr": "10.0.0.1", "Port": 8301, "Tags": {"role": "node"}, "Status": 1,
                "ProtocolMin": 1, "ProtocolMax": 5, "ProtocolCur": 2, "DelegateMin": 2, "DelegateMax": 5,
                "DelegateCur": 4}
        self.assertEqual(decode([item]), [Member("n1", "10.0.0.1", 8301, {"role": "node"}, 1, 1, 5, 2, 2, 5, 4)])

    def test_as_go_decodes_a_struct(self):
        # Names match without regard to case (an exact match preferred), unknown
        # fields are ignored, null leaves the zero value, and null Tags values are "".
        members = decode([{"name": "a", "NAME": "b", "Extra": [1], "Addr": None, "Port": 8301,
                           "tags": {"dc": None, "role": "consul"}}])
        self.assertEqual(members, [Member(name="b", port=8301, tags={"dc": "", "role": "consul"})])

    def test_empty_and_null(self):
        self.assertEqual(decode([]), [])
        self.assertEqual(decode(b"null"), [])
        self.assertEqual(decode([None, {"Name": "x"}]), [Member(name="x")])
        self.assertEqual(decode([{"Name": "x", "Tags": None}]), [Member(name="x")])

    def test_type_errors_are_worded_as_go(self):
        field = "into Go struct field AgentMember."
        cases = [
            ({"a": 1}, "json: cannot unmarshal object into Go value of type []*api.AgentMember"),
            ([5], "json: cannot unmarshal number into Go value of type api.AgentMember"),
            ([{"Status": "alive"}], "json: cannot unmarshal string " + field + "Status of type int"),
            ([{"Status": 1.5}], "json: cannot unmarshal number 1.5 " + field + "Status of type int"),
            ([{"Port": 70000}], "json: cannot unmarshal number 70000 " + field + "Port of type uint16"),
            ([{"Port": -1}], "json: cannot unmarshal number -1 " + field + "Port of type uint16"),
            (b'[{"Port": -0}]', "json: cannot unmarshal number -0 " + field + "Port of type uint16"),
            ([{"ProtocolCur": 256}],
             "json: cannot unmarshal number 256 " + field + "ProtocolCur of type uint8"),
            ([{"Name": 7}], "json: cannot unmarshal number " + field + "Name of type string"),
            ([{"Addr": True}], "json: cannot unmarshal bool " + field + "Addr of type string"),
            ([{"Tags": ["a"]}],
             "json: cannot unmarshal array " + field + "Tags of type map[string]string"),
            ([{"Tags": {"vsn": 2}}], "json: cannot unmarshal number " + field + "Tags of type string"),
        ]
        for body, message in cases:
            self.assertDecodeError(body, message)

    def test_the_first_type_error_is_reported(self):
        self.assertDecodeError([{"Name": 1, "Status": "x"}, {"Port": "y"}],
                               "json: cannot unmarshal number into Go struct field AgentMember.Name of type string")

    def test_syntax_errors(self):
        self.assertDecodeError(b"", "EOF")
        self.assertDecodeError(b" \n", "EOF")
        self.assertDecodeError(b'[{"Name": "a"', "unexpected EOF")
        self.assertDecodeError(b"<html>", "invalid character '<' looking for beginning of value")


class AgentCallTests(SynchronousTestCase):
    def setUp(self):
        self.transport = ScriptedTransport(lambda request: Response(200, {}, b"[]"))
        self.agent = Agent(Client(ClientConfig(address="127.0.0.1:8500"), transport=self.transport))

    def sent(self):
        return [(request.method, request.target) for request in self.transport.requests]

    def test_requests_are_those_of_the_go_api(self):
        self.agent.members()
        self.agent.members(wan=True)
        self.agent.members(segment="")
        self.agent.join("10.0.0.2")
        self.agent.join("[::1]:8302", wan=True)
        self.agent.leave()
        self.agent.force_leave("node 1")
        self.agent.force_leave("web.dc2", prune=True, wan=True)
        self.assertEqual(self.sent(), [
            ("GET", "/v1/agent/members?segment=_all"),
            ("GET", "/v1/agent/members?segment=_all&wan=1"),
            ("GET", "/v1/agent/members?segment="),
            ("PUT", "/v1/agent/join/10.0.0.2"),
            ("PUT", "/v1/agent/join/%5B::1%5D:8302?wan=1"),
            ("PUT", "/v1/agent/leave"),
            ("PUT", "/v1/agent/force-leave/node%201"),
            ("PUT", "/v1/agent/force-leave/web.dc2?prune=1&wan=1"),
        ])

    def test_only_200_is_a_success(self):
        self.transport.answer = lambda request: Response(204, {}, b"")
        for call in (self.agent.members, self.agent.leave, lambda: self.agent.join("x")):
            with self.assertRaises(UnexpectedStatus) as caught:
                call()
            self.assertEqual(str(caught.exception), "Unexpected response code: 204 ()")
