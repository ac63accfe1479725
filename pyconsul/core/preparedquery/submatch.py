"""Go's ``regexp.FindStringSubmatch``, for a template's ``${match(N)}``: the
leftmost-first match of a Go regular expression and each group's text.

The parser, compiler and Pike VM are ``pyconsul.filter.regex``'s (linear in
the text whatever the pattern, so a name a DNS client chose cannot make it
backtrack); this module is the interface the templates use.
"""

from pyconsul.filter import regex
from pyconsul.filter.regex import RegexError

__all__ = ["RegexError", "Submatcher", "compile", "find_string_submatch"]


class Submatcher:
    """A compiled pattern: :meth:`find` is Go's FindStringSubmatch."""

    def __init__(self, pattern):
        self.regexp = regex.compile(pattern, captures=True)
        self.groups = self.regexp.groups

    def find(self, text):
        """The whole match and every group's text ("" for a group that did
        not take part), or None when the pattern does not match."""
        return self.regexp.find_string_submatch(text)


def compile(pattern):
    """A :class:`Submatcher`, or RegexError with Go's message."""
    return Submatcher(pattern)


def find_string_submatch(pattern, text):
    """Go's FindStringSubmatch of pattern (a string or a Submatcher) in text."""
    if isinstance(pattern, str):
        pattern = compile(pattern)
    return pattern.find(text)
