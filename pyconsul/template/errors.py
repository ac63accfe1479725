"""The exceptions the template engine raises.

Every failure a template can cause surfaces as a :class:`TemplateError` whose
``str()`` is the message Go's text/template (and so confd) prints, for example
``template: nginx.tmpl:3:12: executing "nginx.tmpl" at <getv "/x">: error calling
getv: key does not exist: /x``. The parts of that message are kept as attributes
so callers can report them in a structured way.

A template function fails by raising :class:`GoError`, Go's error value with
Go's wording (as :mod:`pyconsul.golang`'s strconv, json and base64 errors
are); the executor wraps it into ``error calling NAME: MESSAGE`` exactly as
text/template does.
"""

from pyconsul.golang.errors import GoError

__all__ = ["GoError", "TemplateError", "TemplateExecError", "TemplateParseError"]


class TemplateError(Exception):
    """A template could not be parsed or executed.

    ``name`` is the file the template came from, ``line`` the 1-based line and
    ``col`` the 0-based byte column (as Go counts it; ``None`` for parse errors,
    which Go reports by line only). ``detail`` is the innermost cause, such as
    ``key does not exist: /x``.
    """

    def __init__(self, message, *, name=None, line=None, col=None, detail=None):
        super().__init__(message)
        self.message = message
        self.name = name
        self.line = line
        self.col = col
        self.detail = detail if detail is not None else message

    def __str__(self):
        return self.message


class TemplateParseError(TemplateError):
    """The template text is not valid template syntax."""


class TemplateExecError(TemplateError):
    """The template is valid but failed while it was being rendered.

    ``executing`` names the template (or ``define``d sub-template) that was
    running and ``context`` is the source text of the node that failed.
    """

    def __init__(self, message, *, executing=None, context=None, **kwargs):
        super().__init__(message, **kwargs)
        self.executing = executing
        self.context = context

