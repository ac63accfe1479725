"""Network failures worded as Go's net and net/http word them.

Consul puts the error's text in the check's output (``dial tcp
127.0.0.1:81: connect: connection refused``); users grep for these, so
Twisted's failures are translated. Where Go names the resolved address and
Twisted does not know it, the address as given stands in.
"""

from twisted.internet import error as net
from twisted.web import _newclient, client, error as web

from pyconsul.golang.strconv import quote


def split_host_port(address):
    """net.SplitHostPort: (host, port) or a ValueError worded as Go's."""
    def fail(reason):
        raise ValueError("address %s: %s" % (address, reason))

    colon = address.rfind(":")
    if colon < 0:
        fail("missing port in address")
    after_open = after_close = 0  # where a stray bracket would start to count
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            fail("missing ']' in address")
        if end + 1 == len(address):
            fail("missing port in address")
        if end + 1 != colon:
            fail("too many colons in address" if address[end + 1] == ":" else "missing port in address")
        host = address[1:end]
        after_open, after_close = 1, end + 1
    else:
        host = address[:colon]
        if ":" in host:
            fail("too many colons in address")
    if "[" in address[after_open:]:
        fail("unexpected '[' in address")
    if "]" in address[after_close:]:
        fail("unexpected ']' in address")
    return host, address[colon + 1:]


def dial_error(failure, address, host):
    """The text of Go's *net.OpError for a failed dial of address."""
    if failure.check(net.ConnectionRefusedError):
        return "dial tcp %s: connect: connection refused" % address
    if failure.check(net.DNSLookupError):
        return "dial tcp: lookup %s: no such host" % host
    if failure.check(net.TimeoutError, net.UserError):
        return "dial tcp %s: i/o timeout" % address
    if failure.check(net.NoRouteError):
        return "dial tcp %s: connect: no route to host" % address
    if failure.check(net.ConnectionLost, net.ConnectionDone):
        return "EOF"
    return "dial tcp %s: %s" % (address, failure.getErrorMessage())


def url_error(method, url, text):
    """*url.Error: the method as Go writes it ("Get"), the URL quoted, the cause."""
    return "%s %s: %s" % (method[:1] + method[1:].lower(), quote(url), text)


def request_error(failure, address, host):
    """The cause of a failed HTTP exchange, as net/http words it."""
    reasons = [failure]
    if failure.check(_newclient.ResponseNeverReceived, client.ResponseFailed, _newclient.RequestGenerationFailed):
        reasons = failure.value.reasons or reasons
    cause = reasons[0]
    if cause.check(web.InfiniteRedirection):
        return "stopped after 10 redirects"
    if cause.check(net.ConnectionLost, net.ConnectionDone, _newclient.ResponseNeverReceived):
        return "EOF"
    if cause.check(net.ConnectError, net.DNSLookupError):
        return dial_error(cause, address, host)
    module = type(cause.value).__module__
    if module.startswith("OpenSSL"):
        if "certificate verify failed" in str(cause.value):
            return "x509: certificate signed by unknown authority"
        return "remote error: tls: %s" % (cause.getErrorMessage() or "handshake failure")
    if module.startswith("service_identity"):
        return "x509: certificate is not valid for %s" % host
    return cause.getErrorMessage()
