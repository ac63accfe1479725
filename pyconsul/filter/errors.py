"""The one exception a bad ``?filter=`` expression raises.

Consul 1.10 builds its filters with go-bexpr's ``CreateFilter``, which wraps
every parse and validation error as ``Failed to create boolean expression
evaluator: <go-bexpr's own message>``; the endpoint returns that error and
the HTTP layer writes it as the response body. Consul 1.10 does not mark it
as a client error: the status is 500 (hashicorp/consul issues #7338 and
#9441 show ``Unexpected response code: 500 (Failed to create boolean
expression evaluator: ...)``). A client agent that forwarded the request to a
server adds ``rpc error making call: `` in front; that prefix belongs to the
RPC layer, not to this package.
"""

__all__ = ["FilterError", "PREFIX"]

PREFIX = "Failed to create boolean expression evaluator: "


class FilterError(Exception):
    """The expression cannot be used as a filter.

    ``str()`` (and ``message``) is the text Consul answers with; ``detail`` is
    go-bexpr's part of it alone, e.g. ``Selector "Foo" is not valid`` or
    ``1:5 (4): no match found, expected: "!=", ...``. ``status`` is the HTTP
    status Consul 1.10 uses for it.

    Like Go strings, the messages may hold bytes that are not UTF-8 (from the
    expression itself); they appear as lone surrogates (``surrogateescape``).
    """

    status = 500

    def __init__(self, detail):
        self.detail = detail
        self.message = PREFIX + detail
        super().__init__(self.message)

    def __str__(self):
        return self.message
