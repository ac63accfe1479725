"""Go's ``regexp.FindStringSubmatch``: the leftmost-first match of a Go
regular expression and the text of each capture group.

``pyconsul.filter.regex`` reads Go's syntax and answers whether a pattern
matches; a template's ``Regexp`` also needs what its groups captured. This
module parses the (already validated) pattern again with that parser's
pieces, keeping what matching alone can ignore -- capture groups and
greediness, ``(?U)`` included -- and runs the result as a Pike VM: every
thread in priority order, one pass over the text, so the time is linear in
the text whatever the pattern (no backtracking blow-up on a name a DNS
client chose).
"""

from pyconsul.filter import regex as go_regex
from pyconsul.filter.regex import RegexError

__all__ = ["RegexError", "Submatcher", "compile"]

_FOLD, _DOTNL, _ONELINE = go_regex._FOLD, go_regex._DOTNL, go_regex._ONELINE
_NONGREEDY = 8  # Go's NonGreedy flag: (?U)


class _Frame(go_regex._Frame):
    __slots__ = ("capture",)

    def __init__(self, flags, capture=None):
        super().__init__(flags)
        self.capture = capture


class _Parser(go_regex._Parser):
    """Go's parser again, on a pattern already known to be valid, keeping
    ("capture", n, node) and the greediness of each repetition."""

    def __init__(self, pattern):
        super().__init__(pattern)
        self.frames = [_Frame(self.flags)]
        self.captures = 0

    def open_capture(self):
        self.captures += 1
        self.frames.append(_Frame(self.flags, self.captures))

    def parse(self):
        s = self.s
        t = 0
        while t < len(s):
            c = s[t]
            if c == "(":
                if t + 1 < len(s) and s[t + 1] == "?":
                    t = self.parse_perl_flags(t)
                else:
                    self.open_capture()
                    t += 1
            elif c == "|":
                frame = self.frames[-1]
                frame.alternatives.append(go_regex._concat(frame.items))
                frame.items = []
                t += 1
            elif c == ")":
                frame = self.frames.pop()
                self.flags = frame.flags
                node = go_regex._alternate(frame.alternatives + [go_regex._concat(frame.items)])
                if frame.capture is not None:
                    node = ("capture", frame.capture, node)
                self.push(node)
                t += 1
            elif c == "^":
                self.push(("assert", "bot" if self.flags & _ONELINE else "bol"))
                t += 1
            elif c == "$":
                self.push(("assert", "eot" if self.flags & _ONELINE else "eol"))
                t += 1
            elif c == ".":
                if self.flags & _DOTNL:
                    self.push(("set", go_regex.CharSet([("any", False, None)])))
                else:
                    self.push(("set", go_regex.CharSet([("ranges", False, [(0x0A, 0x0A)])], negated=True)))
                t += 1
            elif c == "[":
                t = self.parse_class(t)
            elif c in "*+?":
                low, high = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}[c]
                t = self.repeat(low, high, False, t, t + 1, None)
            elif c == "{":
                parsed = self.parse_repeat(t)
                if parsed is None:
                    self.literal("{")
                    t += 1
                else:
                    low, high, after = parsed
                    t = self.repeat(low, high, True, t, after, None)
            elif c == "\\":
                t = self.parse_backslash(t)
            else:
                char, t = self.next_rune(t)
                self.literal(char)
        frame = self.frames[0]
        return go_regex._alternate(frame.alternatives + [go_regex._concat(frame.items)])

    def repeat(self, low, high, brace, before, after, last_repeat):
        greedy = True
        if after < len(self.s) and self.s[after] == "?":
            greedy = False
            after += 1
        if self.flags & _NONGREEDY:
            greedy = not greedy
        items = self.frames[-1].items
        items[-1] = ("repeat", items[-1], low, high, greedy)
        return after

    def parse_perl_flags(self, t):
        s = self.s
        if len(s) - t > 4 and s[t + 2] == "P" and s[t + 3] == "<":
            self.open_capture()
            return s.find(">", t) + 1
        t += 2
        flags, negate = self.flags, False
        bits = {"i": _FOLD, "s": _DOTNL, "U": _NONGREEDY}
        while t < len(s):
            c = s[t]
            t += 1
            if c in bits:
                flags = flags & ~bits[c] if negate else flags | bits[c]
            elif c == "m":  # multi-line: the one-line flag goes
                flags = flags | _ONELINE if negate else flags & ~_ONELINE
            elif c == "-":
                negate = True
            elif c in ":)":
                if c == ":":
                    self.frames.append(_Frame(self.flags))
                self.flags = flags
                return t
        return t


# -- the program ------------------------------------------------------------------
# ("char", CharSet, next), ("split", preferred, other), ("jump", next),
# ("save", slot, next), ("assert", kind, next), ("match",)


class _Compiler:
    def __init__(self):
        self.program = []

    def emit(self, *instruction):
        if len(self.program) >= go_regex._MAX_PROGRAM:
            raise RegexError(go_regex.ERR_TOO_LARGE, "")
        self.program.append(list(instruction))
        return len(self.program) - 1

    def patch(self, holes, target):
        for pc, slot in holes:
            self.program[pc][slot] = target

    def compile(self, node):
        """(entry, holes): holes are (pc, slot) still to point onward."""
        kind = node[0]
        if kind == "set":
            pc = self.emit("char", node[1], None)
            return pc, [(pc, 2)]
        if kind == "assert":
            pc = self.emit("assert", node[1], None)
            return pc, [(pc, 2)]
        if kind == "empty":
            pc = self.emit("jump", None)
            return pc, [(pc, 1)]
        if kind == "capture":
            start = self.emit("save", 2 * node[1], None)
            entry, holes = self.compile(node[2])
            self.program[start][2] = entry
            end = self.emit("save", 2 * node[1] + 1, None)
            self.patch(holes, end)
            return start, [(end, 2)]
        if kind == "concat":
            entry, holes = self.compile(node[1][0])
            for sub in node[1][1:]:
                sub_entry, sub_holes = self.compile(sub)
                self.patch(holes, sub_entry)
                holes = sub_holes
            return entry, holes
        if kind == "alt":
            entries, holes = [], []
            for sub in node[1]:
                sub_entry, sub_holes = self.compile(sub)
                entries.append(sub_entry)
                holes.extend(sub_holes)
            entry = entries[-1]
            for sub_entry in reversed(entries[:-1]):
                entry = self.emit("split", sub_entry, entry)
            return entry, holes
        return self.compile_repeat(node[1], node[2], node[3], node[4])

    def optional(self, sub, greedy):
        split = self.emit("split", None, None)
        body, holes = self.compile(sub)
        if greedy:
            self.program[split][1] = body
            return split, holes + [(split, 2)]
        self.program[split][2] = body
        return split, holes + [(split, 1)]

    def star(self, sub, greedy):
        split = self.emit("split", None, None)
        body, holes = self.compile(sub)
        self.patch(holes, split)
        if greedy:
            self.program[split][1] = body
            return split, [(split, 2)]
        self.program[split][2] = body
        return split, [(split, 1)]

    def compile_repeat(self, sub, low, high, greedy):
        pieces = [self.compile(sub) for _ in range(low)]
        if high < 0:
            pieces.append(self.star(sub, greedy))
        else:
            pieces.extend(self.optional(sub, greedy) for _ in range(high - low))
        if not pieces:
            pc = self.emit("jump", None)
            return pc, [(pc, 1)]
        entry, holes = pieces[0]
        for piece_entry, piece_holes in pieces[1:]:
            self.patch(holes, piece_entry)
            holes = piece_holes
        return entry, holes


class Submatcher:
    """A compiled pattern: :meth:`find` is Go's FindStringSubmatch."""

    def __init__(self, pattern):
        go_regex.compile(pattern)  # Go's validation and error texts
        parser = _Parser(pattern)
        tree = ("capture", 0, parser.parse())
        self.groups = parser.captures + 1
        compiler = _Compiler()
        try:
            entry, holes = compiler.compile(tree)
        except RecursionError:
            raise RegexError(go_regex.ERR_TOO_LARGE, "") from None
        compiler.patch(holes, compiler.emit("match"))
        self.program = [tuple(instruction) for instruction in compiler.program]
        self.start = entry

    def find(self, text):
        """The whole match and every group's text ("" for a group that did
        not take part), or None when the pattern does not match."""
        caps = self._run(text)
        if caps is None:
            return None
        return [text[caps[2 * i]:caps[2 * i + 1]] if caps[2 * i] >= 0 and caps[2 * i + 1] >= 0 else ""
                for i in range(self.groups)]

    def _add(self, threads, seen, pc, caps, position, before, after):
        """Follow the empty moves from pc in priority order, adding the
        character and match instructions reached to threads."""
        program = self.program
        todo = [(pc, caps)]
        while todo:
            pc, caps = todo.pop()
            if pc in seen:
                continue
            seen.add(pc)
            instruction = program[pc]
            op = instruction[0]
            if op == "jump":
                todo.append((instruction[1], caps))
            elif op == "split":
                todo.append((instruction[2], caps))
                todo.append((instruction[1], caps))
            elif op == "save":
                caps = list(caps)
                caps[instruction[1]] = position
                todo.append((instruction[2], caps))
            elif op == "assert":
                if go_regex._assert_holds(instruction[1], before, after):
                    todo.append((instruction[2], caps))
            else:
                threads.append((pc, caps))

    def _run(self, text):
        program = self.program
        empty = [-1] * (2 * self.groups)
        threads, matched = [], None
        before = go_regex._START
        for position in range(len(text) + 1):
            char = text[position] if position < len(text) else None
            after = go_regex._kind(char) if char is not None else go_regex._END
            seen = set()
            current = []
            for pc, caps in threads:
                self._add(current, seen, pc, caps, position, before, after)
            if matched is None:
                self._add(current, seen, self.start, empty, position, before, after)
            following = []
            for pc, caps in current:
                instruction = program[pc]
                if instruction[0] == "match":
                    matched = caps
                    break  # threads after this one have lower priority
                if char is not None:
                    rune = 0xFFFD if go_regex._is_surrogate(char) else ord(char)
                    if instruction[1].has(rune):
                        following.append((instruction[2], caps))
            threads = following
            if not threads and matched is not None:
                break
            before = after
        return matched


def compile(pattern):
    """A :class:`Submatcher`, or RegexError with Go's message."""
    return Submatcher(pattern)
