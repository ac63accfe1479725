"""The error values of Go's standard library."""


class GoError(Exception):
    """A Go ``error``: ``str()`` is exactly the text Go's ``Error()`` returns.

    Callers print these messages as Consul or confd would, so their wording is
    part of the behaviour.
    """

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message
