"""Placeholders in recorded vectors, bound to what the agent under test answers.

Values that differ between implementations are recorded as placeholders:
``{$i1}`` ... Raft indexes, ``{$u1}`` ... UUIDs, ``{$a1}`` the server's
``host:port``, ``{$n1}`` the agent's node name, ``{$h1}`` its IP address, and
``{$prog}`` the CLI's own name. The first time a placeholder is met it takes
the agent's value; from then on it must keep it. Different indexes must
differ and keep the order the vector's ``index_order`` recorded; different
UUIDs must differ.
"""

import re

PLACEHOLDER = re.compile(r"\{\$([A-Za-z_][A-Za-z0-9_]*)\}")
ADDRESS = re.compile(r"^\S+:\d+$")
KINDS = {"u": "an ID", "n": "the agent's node name", "h": "the agent's IP address"}


def short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_kind(value):
    """JSON's own types: true is not 1, and 1 is 1.0."""
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


class Symbols:
    """The values bound to one vector's placeholders."""

    def __init__(self, index_order=(), prog="pyconsul"):
        self.rank = {name: position for position, name in enumerate(index_order)}
        self.values = {"prog": prog}

    def value_of(self, name):
        """The bound value; a KeyError names a placeholder not seen yet."""
        return self.values[name]

    def fill(self, text):
        """text with every placeholder replaced by its bound value."""
        return PLACEHOLDER.sub(lambda match: str(self.value_of(match.group(1))), text)

    def bind(self, name, value):
        """Bind or check {$name}; returns a complaint, or None if consistent."""
        if name in self.values:
            if self.values[name] != value:
                return "expected %s (the value of {$%s} seen before), got %r" % (self.values[name], name, value)
            return None
        problem = self._refuse(name, value)
        if problem is None:
            self.values[name] = value
        return problem

    def _refuse(self, name, value):
        if name.startswith("i"):
            return self._refuse_index(name, value)
        if name.startswith("a"):
            if not isinstance(value, str) or not ADDRESS.match(value):
                return "expected a host:port address for {$%s}, got %r" % (name, value)
            return None
        if name[0] in KINDS:
            if not isinstance(value, str) or not value:
                return "expected %s (a non-empty string) for {$%s}, got %r" % (KINDS[name[0]], name, value)
            if name[0] == "u":
                for other, seen in self.values.items():
                    if other[0] == "u" and seen == value:
                        return "got %r for {$%s}, the same as {$%s}; the recording's differ" % (value, name, other)
        return None

    def _refuse_index(self, name, value):
        if name not in self.rank:
            return "{$%s} is missing from the vector's index_order" % name
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "expected a Raft index (non-negative integer) for {$%s}, got %r" % (name, value)
        for other, seen in self.values.items():
            if other not in self.rank:
                continue
            if seen == value:
                return "got %d for {$%s}, the same as {$%s}; the recording's differ" % (value, name, other)
            if (self.rank[name] < self.rank[other]) != (value < seen):
                relation = "<" if self.rank[name] < self.rank[other] else ">"
                return "got %d for {$%s}, but the recording has {$%s} %s {$%s} (= %d)" % (
                    value, name, name, relation, other, seen)
        return None

    # Matching answers against recorded expectations. Each appends what
    # differs to diffs, so one run reports every difference of a step.

    def match_text(self, what, expected, actual, diffs):
        if actual is None:
            diffs.append("%s: missing (expected %s)" % (what, short(expected)))
            return
        pattern, names = self._pattern(expected)
        found = pattern.fullmatch(actual)
        if found is None:
            diffs.append("%s: %s" % (what, self.first_difference(expected, actual)))
            return
        for name in names:
            value = found.group(name)
            problem = self.bind(name, int(value) if name.startswith("i") else value)
            if problem:
                diffs.append("%s: %s" % (what, problem))

    def _pattern(self, expected):
        """A regular expression for expected: bound values literal, unbound ones captured."""
        parts, names, position = [], [], 0
        for match in PLACEHOLDER.finditer(expected):
            parts.append(re.escape(expected[position:match.start()]))
            name = match.group(1)
            if name in self.values:
                parts.append(re.escape(str(self.values[name])))
            elif name in names:
                parts.append("(?P=%s)" % name)
            else:
                names.append(name)
                shape = r"\d+" if name.startswith("i") else r"\S+?:\d+" if name.startswith("a") else ".*?"
                parts.append("(?P<%s>%s)" % (name, shape))
            position = match.end()
        parts.append(re.escape(expected[position:]))
        return re.compile("".join(parts), re.S), names

    def match_json(self, expected, actual, path, diffs):
        if isinstance(expected, str) and PLACEHOLDER.fullmatch(expected) and not isinstance(actual, str):
            problem = self.bind(PLACEHOLDER.fullmatch(expected).group(1), actual)
            if problem:
                diffs.append("%s: %s" % (path, problem))
        elif isinstance(expected, str) and PLACEHOLDER.search(expected):
            if not isinstance(actual, str):
                diffs.append("%s: expected a string like %s, got %s" % (path, short(expected), short(actual)))
            else:
                self.match_text(path, expected, actual, diffs)
        elif isinstance(expected, dict):
            self._match_object(expected, actual, path, diffs)
        elif isinstance(expected, list):
            if not isinstance(actual, list):
                diffs.append("%s: expected a list, got %s" % (path, short(actual)))
                return
            if len(expected) != len(actual):
                diffs.append("%s: expected %d element(s), got %d: %s"
                             % (path, len(expected), len(actual), short(actual)))
            for number, (want, got) in enumerate(zip(expected, actual)):
                self.match_json(want, got, "%s[%d]" % (path, number), diffs)
        elif json_kind(expected) != json_kind(actual) or expected != actual:
            diffs.append("%s: expected %s, got %s" % (path, short(expected), short(actual)))

    def _match_object(self, expected, actual, path, diffs):
        if not isinstance(actual, dict):
            diffs.append("%s: expected an object, got %s" % (path, short(actual)))
            return
        missing = [name for name in expected if name not in actual]
        extra = [name for name in actual if name not in expected]
        if missing:
            diffs.append("%s: missing field(s) %s" % (path, ", ".join(missing)))
        if extra:
            diffs.append("%s: unexpected field(s) %s" % (path, ", ".join(extra)))
        for name in expected:
            if name in actual:
                self.match_json(expected[name], actual[name], "%s.%s" % (path, name), diffs)


    def first_difference(self, expected, actual):
        """Where a text first departs from the expected one."""
        if "\n" not in expected + actual:
            return "expected %s, got %s" % (short(self._show(expected)), short(actual))
        wanted, got = expected.splitlines(True), actual.splitlines(True)
        for number, (want, line) in enumerate(zip(wanted, got), 1):
            if self._pattern(want)[0].fullmatch(line) is None:
                return "line %d: expected %s, got %s" % (number, short(self._show(want)), short(line))
        if len(wanted) != len(got):
            number = min(len(wanted), len(got)) + 1
            if len(wanted) > len(got):
                return "line %d missing: %s" % (number, short(self._show(wanted[number - 1])))
            return "line %d unexpected: %s" % (number, short(got[number - 1]))
        return "expected %s, got %s" % (short(self._show(expected)), short(actual))

    def _show(self, text):
        """text with the values bound so far filled in."""
        return PLACEHOLDER.sub(lambda match: str(self.values.get(match.group(1), match.group(0))), text)
