"""DNS messages for the tests to send and read."""

from twisted.names import dns


def query(name, qtype=dns.A, message_id=7, edns=None):
    """A query's bytes: one question, RD set, an OPT record with ``edns``."""
    message = dns.Message(id=message_id, recDes=1)
    message.queries = [dns.Query(name, qtype)]
    if edns:
        message.additional.append(dns._OPTHeader(udpPayloadSize=edns))
    return message.toStr()


def decoded(data):
    message = dns.Message()
    message.fromStr(data)
    return message
