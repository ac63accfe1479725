"""Go's regular expressions (RE2 syntax, as ``regexp.Compile`` reads them).

``matches`` compiles its value with Go's ``regexp.Compile``. Python's ``re``
differs from it in ways a filter would notice: ``$`` also matches before a
final newline, ``\\d``/``\\w``/``\\s``/``\\b`` are Unicode-aware, ``\\1`` is a
backreference, ``a*+`` and ``(?>...)`` are possessive/atomic, ``\\Z`` exists,
``(?U)``, ``\\Q...\\E``, ``\\z`` and ``[[:alpha:]]`` do not, and a backtracking
engine can take exponential time on patterns such as ``(a*)*b``. So this
module does not translate to ``re``: it parses Go's syntax itself, with the
same decisions and error texts as Go 1.16's ``regexp/syntax`` parser, and
matches in time linear in the text like RE2, with one compiler and two ways
to run its program: ``search`` as a lazily built DFA (whether it matches, for
``matches``), ``find_string_submatch`` as a Pike VM with capture slots (Go's
leftmost-first submatches, for prepared-query templates).

What it refuses although Go accepts: ``\\p{Name}`` for Unicode *scripts*
(``\\p{Greek}``); general categories (``\\pL``, ``\\p{Nd}``, ``\\PN``) are
supported, taken from Python's ``unicodedata``. Patterns that would compile
to more than 100,000 instructions are refused too.
"""

import unicodedata

__all__ = ["RegexError", "compile"]

MAX_RUNE = 0x10FFFF
_MAX_PROGRAM = 100000
_MAX_STATES = 4000

# Flags, as Go's syntax.Flags (only those Perl syntax uses).
_FOLD = 1
_DOTNL = 2
_ONELINE = 4
_NONGREEDY = 8


class RegexError(Exception):
    """Go's ``*syntax.Error``: ``str()`` is ``error parsing regexp: CODE: `EXPR```."""

    def __init__(self, code, expr):
        self.code = code
        self.expr = expr
        self.message = "error parsing regexp: %s: `%s`" % (code, expr)
        super().__init__(self.message)

    def __str__(self):
        return self.message


ERR_INVALID_CHAR_CLASS = "invalid character class"
ERR_INVALID_CHAR_RANGE = "invalid character class range"
ERR_INVALID_ESCAPE = "invalid escape sequence"
ERR_INVALID_NAMED_CAPTURE = "invalid named capture"
ERR_INVALID_PERL_OP = "invalid or unsupported Perl syntax"
ERR_INVALID_REPEAT_OP = "invalid nested repetition operator"
ERR_INVALID_REPEAT_SIZE = "invalid repeat count"
ERR_INVALID_UTF8 = "invalid UTF-8"
ERR_MISSING_BRACKET = "missing closing ]"
ERR_MISSING_PAREN = "missing closing )"
ERR_MISSING_REPEAT_ARGUMENT = "missing argument to repetition operator"
ERR_TRAILING_BACKSLASH = "trailing backslash at end of expression"
ERR_UNEXPECTED_PAREN = "unexpected )"
# Not Go's: what this implementation declines.
ERR_UNSUPPORTED = "not supported by this implementation"
ERR_TOO_LARGE = "expression too large"


def _is_surrogate(char):
    return 0xD800 <= ord(char) <= 0xDFFF


def _isalnum(char):
    return "0" <= char <= "9" or "A" <= char <= "Z" or "a" <= char <= "z"


# -- character sets ------------------------------------------------------------
#
# A class is a list of items, each (negated, ranges-or-category); the class
# matches a rune if any item does, after folding (under (?i)) and the class's
# own negation. This is Go's order: ranges are folded as they are added, a
# negated group is folded then negated, and a negated class is negated last.

_PERL = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}

_POSIX = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}

# Go's unicode.Categories: the one-letter groups and the two-letter ones.
# Go's "C" holds Cc, Cf, Co and Cs but not unassigned code points (Cn).
_CATEGORIES = {
    "C": ("Cc", "Cf", "Co", "Cs"),
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"),
    "M": ("Mn", "Mc", "Me"),
    "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"),
    "Z": ("Zs", "Zl", "Zp"),
}
for _group in list(_CATEGORIES.values()):
    for _name in _group:
        _CATEGORIES[_name] = (_name,)


# Go 1.16's unicode.Scripts (Unicode 13): valid in Go, refused here because
# Python has no script property to test them against.
_SCRIPTS = frozenset("""
Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak
Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian
Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cyrillic
Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic
Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul
Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited
Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kayah_Li
Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A
Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen
Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs
Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari New_Tai_Lue Newa Nko Nushu
Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian Old_Permic
Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Oriya Osage Osmanya Pahawh_Hmong
Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra
Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese
Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu
Thaana Thai Tibetan Tifinagh Tirhuta Ugaritic Vai Wancho Warang_Citi Yezidi Yi
Zanabazar_Square
""".split())


def _in_ranges(rune, ranges):
    for lo, hi in ranges:
        if lo <= rune <= hi:
            return True
    return False


def _item_has(item, rune):
    kind, negated, data = item
    if kind == "ranges":
        hit = _in_ranges(rune, data)
    elif kind == "any":
        hit = True
    else:  # a Unicode category
        hit = 0 <= rune <= MAX_RUNE and unicodedata.category(chr(rune)) in data
    return hit != negated


_FOLD_GROUPS = None


def _fold_key(char):
    folded = char.casefold()
    if len(folded) == 1:
        return folded
    lower = char.lower()
    if len(lower) == 1 and lower != char:
        return _fold_key(lower)
    return char


def _orbit(rune):
    """The other runes Go's simple case folding makes equal to rune."""
    global _FOLD_GROUPS
    if _FOLD_GROUPS is None:
        groups = {}
        blocks = [(0, 0x10000), (0x10400, 0x10500), (0x10C80, 0x10D00), (0x118A0, 0x11900),
                  (0x16E40, 0x16EA0), (0x1E900, 0x1E960)]
        for lo, hi in blocks:
            for code in range(lo, hi):
                char = chr(code)
                if _is_surrogate(char):
                    continue
                key = _fold_key(char)
                if key != char or char.lower() != char or char.upper() != char:
                    groups.setdefault(key, []).append(code)
        _FOLD_GROUPS = {}
        for members in groups.values():
            if len(members) > 1:
                for code in members:
                    _FOLD_GROUPS[code] = tuple(m for m in members if m != code)
    return _FOLD_GROUPS.get(rune, ())


class CharSet:
    """A predicate on runes: a character class, a literal, or a dot."""

    __slots__ = ("items", "fold", "negated")

    def __init__(self, items, fold=False, negated=False):
        self.items = items
        self.fold = fold
        self.negated = negated

    def has(self, rune):
        hit = False
        for item in self.items:
            if _item_has_folded(item, rune, self.fold):
                hit = True
                break
        return hit != self.negated


def _item_has_folded(item, rune, fold):
    if not fold:
        return _item_has(item, rune)
    kind, negated, data = item
    # Fold first, then apply the item's own negation (Go folds a negated
    # group's table before negating it).
    base = (kind, False, data)
    hit = _item_has(base, rune) or any(_item_has(base, other) for other in _orbit(rune))
    return hit != negated


# -- the parser (Go's regexp/syntax/parse.go, in its order of decisions) ------------


class _Frame:
    """An open group: the alternatives so far, the flags to restore at ')',
    and its capture group's number (None for a non-capturing group)."""

    __slots__ = ("alternatives", "items", "flags", "capture")

    def __init__(self, flags, capture=None):
        self.alternatives = []
        self.items = []
        self.flags = flags
        self.capture = capture


def parse(pattern):
    """The syntax tree of a Go regular expression, or RegexError."""
    return _Parser(pattern).parse()


class _Parser:
    def __init__(self, pattern):
        self.s = pattern
        self.flags = _ONELINE
        self.frames = [_Frame(self.flags)]
        self.captures = 0

    def open_capture(self):
        self.captures += 1
        self.frames.append(_Frame(self.flags, self.captures))

    def next_rune(self, t):
        """Go's nextRune: the character at t, refusing bytes that are not UTF-8."""
        s = self.s
        if t >= len(s):
            return None, t
        if _is_surrogate(s[t]):
            raise RegexError(ERR_INVALID_UTF8, s[t:])
        return s[t], t + 1

    def push(self, node):
        self.frames[-1].items.append(node)

    def literal(self, char):
        fold = bool(self.flags & _FOLD)
        self.push(("set", CharSet([("ranges", False, [(ord(char), ord(char))])], fold)))

    def parse(self):
        s = self.s
        t = 0
        last_repeat = None  # start index of the previous repetition operator
        while t < len(s):
            repeat = None
            c = s[t]
            if c == "(":
                if t + 1 < len(s) and s[t + 1] == "?":
                    t = self.parse_perl_flags(t)
                else:
                    self.open_capture()
                    t += 1
            elif c == "|":
                frame = self.frames[-1]
                frame.alternatives.append(_concat(frame.items))
                frame.items = []
                t += 1
            elif c == ")":
                if len(self.frames) < 2:
                    raise RegexError(ERR_UNEXPECTED_PAREN, s)
                frame = self.frames.pop()
                self.flags = frame.flags
                node = _alternate(frame.alternatives + [_concat(frame.items)])
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
                    self.push(("set", CharSet([("any", False, None)])))
                else:
                    self.push(("set", CharSet([("ranges", False, [(0x0A, 0x0A)])], negated=True)))
                t += 1
            elif c == "[":
                t = self.parse_class(t)
            elif c in "*+?":
                low, high = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}[c]
                repeat = t
                t = self.repeat(low, high, False, t, t + 1, last_repeat)
            elif c == "{":
                parsed = self.parse_repeat(t)
                if parsed is None:
                    self.literal("{")  # a { that is no repetition is itself
                    t += 1
                else:
                    low, high, after = parsed
                    if low < 0 or low > 1000 or high > 1000 or (high >= 0 and low > high):
                        raise RegexError(ERR_INVALID_REPEAT_SIZE, s[t:after])
                    repeat = t
                    t = self.repeat(low, high, True, t, after, last_repeat)
            elif c == "\\":
                t = self.parse_backslash(t)
            else:
                char, t = self.next_rune(t)
                self.literal(char)
            last_repeat = repeat
        if len(self.frames) != 1:
            raise RegexError(ERR_MISSING_PAREN, s)
        frame = self.frames[0]
        return _alternate(frame.alternatives + [_concat(frame.items)])

    def repeat(self, low, high, brace, before, after, last_repeat):
        """Go's parser.repeat: apply an operator (s[before:after]) to the last item."""
        s = self.s
        greedy = not self.flags & _NONGREEDY
        if after < len(s) and s[after] == "?":
            after += 1
            greedy = not greedy
        if last_repeat is not None:
            raise RegexError(ERR_INVALID_REPEAT_OP, s[last_repeat:after])
        items = self.frames[-1].items
        if not items:
            raise RegexError(ERR_MISSING_REPEAT_ARGUMENT, s[before:after])
        node = ("repeat", items[-1], low, high, brace, greedy)
        if brace and (low >= 2 or high >= 2) and not _repeat_is_valid(node, 1000):
            raise RegexError(ERR_INVALID_REPEAT_SIZE, s[before:after])
        items[-1] = node
        return after

    def parse_repeat(self, t):
        """Go's parseRepeat: {n}, {n,} or {n,m} at t, as (min, max, end) or None."""
        s = self.s
        t += 1
        low, t = _parse_int(s, t)
        if low is None or t >= len(s):
            return None
        if s[t] != ",":
            high = low
        else:
            t += 1
            if t >= len(s):
                return None
            if s[t] == "}":
                high = -1
            else:
                high, t = _parse_int(s, t)
                if high is None:
                    return None
                if high < 0:
                    low = -1  # too big a number
        if t >= len(s) or s[t] != "}":
            return None
        return low, high, t + 1

    def parse_perl_flags(self, t):
        s = self.s
        start = t
        if len(s) - t > 4 and s[t + 2] == "P" and s[t + 3] == "<":
            end = s.find(">", t)
            if end < 0:
                _check_utf8(s[t:])
                raise RegexError(ERR_INVALID_NAMED_CAPTURE, s[t:])
            name = s[t + 4:end]
            _check_utf8(name)
            if not name or not all(ch == "_" or _isalnum(ch) for ch in name):
                raise RegexError(ERR_INVALID_NAMED_CAPTURE, s[t:end + 1])
            self.open_capture()
            return end + 1
        t += 2
        flags = self.flags
        negate = False
        saw_flag = False
        while t < len(s):
            c, t = self.next_rune(t)
            if c == "i":
                flags = flags & ~_FOLD if negate else flags | _FOLD
                saw_flag = True
            elif c == "m":
                flags = flags | _ONELINE if negate else flags & ~_ONELINE
                saw_flag = True
            elif c == "s":
                flags = flags & ~_DOTNL if negate else flags | _DOTNL
                saw_flag = True
            elif c == "U":
                flags = flags & ~_NONGREEDY if negate else flags | _NONGREEDY
                saw_flag = True
            elif c == "-":
                if negate:
                    break
                negate = True
                saw_flag = False
            elif c == ":" or c == ")":
                if negate and not saw_flag:
                    break
                if c == ":":
                    self.frames.append(_Frame(self.flags))
                self.flags = flags
                return t
            else:
                break
        raise RegexError(ERR_INVALID_PERL_OP, s[start:t])

    def parse_backslash(self, t):
        s = self.s
        if t + 1 < len(s):
            c = s[t + 1]
            if c == "A":
                self.push(("assert", "bot"))
                return t + 2
            if c == "b":
                self.push(("assert", "wordb"))
                return t + 2
            if c == "B":
                self.push(("assert", "nwordb"))
                return t + 2
            if c == "C":
                raise RegexError(ERR_INVALID_ESCAPE, s[t:t + 2])
            if c == "Q":
                end = s.find("\\E", t + 2)
                literal = s[t + 2:] if end < 0 else s[t + 2:end]
                after = len(s) if end < 0 else end + 2
                i = 0
                while i < len(literal):
                    if _is_surrogate(literal[i]):
                        raise RegexError(ERR_INVALID_UTF8, literal[i:])
                    self.literal(literal[i])
                    i += 1
                return after
            if c == "z":
                self.push(("assert", "eot"))
                return t + 2
            if c in "pP":
                item, after = self.parse_unicode_class(t)
                if item is not None:
                    self.push(("set", CharSet([item], bool(self.flags & _FOLD))))
                    return after
        item = self.parse_perl_class(t)
        if item is not None:
            self.push(("set", CharSet([item], bool(self.flags & _FOLD))))
            return t + 2
        char, t = self.parse_escape(t)
        self.literal(char)
        return t

    def parse_perl_class(self, t):
        s = self.s
        if t + 1 < len(s) and s[t] == "\\" and s[t + 1] in "dDsSwW":
            c = s[t + 1]
            return ("ranges", c.isupper(), _PERL[c.lower()])
        return None

    def parse_unicode_class(self, t):
        """Go's parseUnicodeClass at t (a backslash): (item, end), or (None, t)."""
        s = self.s
        if t + 1 >= len(s) or s[t] != "\\" or s[t + 1] not in "pP":
            return None, t
        negated = s[t + 1] == "P"
        c, after = self.next_rune(t + 2)
        if c != "{":
            seq = s[t:after]
            name = seq[2:]
        else:
            end = s.find("}", t)
            if end < 0:
                _check_utf8(s[t:])
                raise RegexError(ERR_INVALID_CHAR_RANGE, s[t:])
            seq, after = s[t:end + 1], end + 1
            name = s[t + 3:end]
            _check_utf8(name)
        if name.startswith("^"):
            negated = not negated
            name = name[1:]
        if name == "Any":
            return ("any", negated, None), after
        if name in _CATEGORIES:
            return ("category", negated, _CATEGORIES[name]), after
        if name in _SCRIPTS:
            raise RegexError(ERR_UNSUPPORTED, seq)
        raise RegexError(ERR_INVALID_CHAR_RANGE, seq)

    def parse_escape(self, t):
        """Go's parseEscape at t (a backslash): (character, end)."""
        s = self.s
        if t + 1 >= len(s):
            raise RegexError(ERR_TRAILING_BACKSLASH, "")
        c, u = self.next_rune(t + 1)
        if c in "1234567":
            if u < len(s) and "0" <= s[u] <= "7":
                return self._octal(c, u)
        elif c == "0":
            return self._octal(c, u)
        elif c == "x":
            if u < len(s):
                c, u = self.next_rune(u)
                if c == "{":
                    value, digits = 0, 0
                    while True:
                        if u >= len(s):
                            break
                        c, u = self.next_rune(u)
                        if c == "}":
                            if digits:
                                return chr(value), u
                            break
                        digit = _unhex(c)
                        if digit < 0:
                            break
                        value = value * 16 + digit
                        if value > MAX_RUNE:
                            break
                        digits += 1
                else:
                    x = _unhex(c)
                    c, u = self.next_rune(u)
                    y = _unhex(c) if c is not None else -1
                    if x >= 0 and y >= 0:
                        return chr(x * 16 + y), u
        elif c in "afnrtv":
            return {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}[c], u
        elif ord(c) < 0x80 and not _isalnum(c):
            return c, u  # escaped punctuation is itself (including \_)
        raise RegexError(ERR_INVALID_ESCAPE, s[t:u])

    def _octal(self, first, u):
        s = self.s
        value = ord(first) - 0x30
        for _ in range(2):
            if u >= len(s) or not "0" <= s[u] <= "7":
                break
            value = value * 8 + ord(s[u]) - 0x30
            u += 1
        return chr(value), u

    def parse_class(self, t):
        """Go's parseClass at t (a '['): push the class, return the index after ']'."""
        s = self.s
        whole = s[t:]
        t += 1
        negated = False
        if t < len(s) and s[t] == "^":
            negated = True
            t += 1
        items = []
        ranges = []
        first = True
        while t >= len(s) or s[t] != "]" or first:
            first = False
            if len(s) - t > 2 and s[t] == "[" and s[t + 1] == ":":
                end = s.find(":]", t + 2)
                if end >= 0:
                    name = s[t:end + 2]
                    inner = name[2:-2]
                    group_negated = inner.startswith("^")
                    if group_negated:
                        inner = inner[1:]
                    if inner not in _POSIX:
                        raise RegexError(ERR_INVALID_CHAR_RANGE, name)
                    items.append(("ranges", group_negated, _POSIX[inner]))
                    t = end + 2
                    continue
            item, after = self.parse_unicode_class(t)
            if item is not None:
                items.append(item)
                t = after
                continue
            item = self.parse_perl_class(t)
            if item is not None:
                items.append(item)
                t += 2
                continue
            start = t
            lo, t = self.parse_class_char(t, whole)
            hi = lo
            if len(s) - t >= 2 and s[t] == "-" and s[t + 1] != "]":
                hi, t = self.parse_class_char(t + 1, whole)
                if ord(hi) < ord(lo):
                    raise RegexError(ERR_INVALID_CHAR_RANGE, s[start:t])
            ranges.append((ord(lo), ord(hi)))
        if ranges:
            items.append(("ranges", False, ranges))
        self.push(("set", CharSet(items, bool(self.flags & _FOLD), negated)))
        return t + 1

    def parse_class_char(self, t, whole):
        s = self.s
        if t >= len(s):
            raise RegexError(ERR_MISSING_BRACKET, whole)
        if s[t] == "\\":
            return self.parse_escape(t)
        return self.next_rune(t)


def _check_utf8(text):
    for i, char in enumerate(text):
        if _is_surrogate(char):
            raise RegexError(ERR_INVALID_UTF8, text[i:])


def _unhex(char):
    if char is None:
        return -1
    if "0" <= char <= "9":
        return ord(char) - 0x30
    if "a" <= char <= "f":
        return ord(char) - 0x61 + 10
    if "A" <= char <= "F":
        return ord(char) - 0x41 + 10
    return -1


def _parse_int(s, t):
    """Go's parseInt for repeat counts: (value or -1 if too big, end), or (None, t)."""
    if t >= len(s) or not "0" <= s[t] <= "9":
        return None, t
    if t + 1 < len(s) and s[t] == "0" and "0" <= s[t + 1] <= "9":
        return None, t  # no leading zeros
    end = t
    while end < len(s) and "0" <= s[end] <= "9":
        end += 1
    value = 0
    for char in s[t:end]:
        if value >= 100000000:
            value = -1
            break
        value = value * 10 + ord(char) - 0x30
    return value, end


def _repeat_is_valid(node, n):
    """Go's repeatIsValid: nested counted repetitions may not multiply past n."""
    todo = [(node, n)]  # iterative: the tree may nest deeper than Python recurses
    while todo:
        node, n = todo.pop()
        if node[0] == "repeat" and node[4]:
            m = node[3]
            if m == 0:
                continue
            if m < 0:
                m = node[2]
            if m > n:
                return False
            if m > 0:
                n //= m
        for sub in _children(node):
            todo.append((sub, n))
    return True


def _children(node):
    kind = node[0]
    if kind == "repeat":
        return (node[1],)
    if kind == "capture":
        return (node[2],)
    if kind in ("concat", "alt"):
        return node[1]
    return ()


def _concat(items):
    if not items:
        return ("empty",)
    if len(items) == 1:
        return items[0]
    return ("concat", tuple(items))


def _alternate(alternatives):
    if len(alternatives) == 1:
        return alternatives[0]
    return ("alt", tuple(alternatives))


# -- the program -----------------------------------------------------------------

# Instructions: ("set", CharSet, next), ("split", preferred, other), ("jump", next),
# ("save", slot, next), ("assert", kind, next), ("match",).


class _Compiler:
    def __init__(self, captures):
        # Without captures a group compiles to its body alone: no save
        # instructions for the automaton to walk through.
        self.captures = captures
        self.program = []

    def emit(self, *instruction):
        if len(self.program) >= _MAX_PROGRAM:
            raise RegexError(ERR_TOO_LARGE, "")
        self.program.append(list(instruction))
        return len(self.program) - 1

    def patch(self, holes, target):
        for pc, slot in holes:
            self.program[pc][slot] = target

    def compile(self, node):
        """Emit node; return (entry, holes): holes are (pc, slot) to point onward."""
        kind = node[0]
        if kind == "set":
            pc = self.emit("set", node[1], None)
            return pc, [(pc, 2)]
        if kind == "assert":
            pc = self.emit("assert", node[1], None)
            return pc, [(pc, 2)]
        if kind == "empty":
            pc = self.emit("jump", None)
            return pc, [(pc, 1)]
        if kind == "capture":
            if not self.captures:
                return self.compile(node[2])
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
        if kind == "repeat":
            return self.compile_repeat(node[1], node[2], node[3], node[5])
        raise AssertionError(kind)

    def loop(self, sub, greedy, back):
        """A split between sub and going on, sub preferred if greedy; sub's
        end leads back to the split (a star) or onward (an optional)."""
        split = self.emit("split", None, None)
        body, holes = self.compile(sub)
        body_slot, on_slot = (1, 2) if greedy else (2, 1)
        self.program[split][body_slot] = body
        if back:
            self.patch(holes, split)
            return split, [(split, on_slot)]
        return split, holes + [(split, on_slot)]

    def compile_repeat(self, sub, low, high, greedy):
        pieces = [self.compile(sub) for _ in range(low)]
        if high < 0:
            pieces.append(self.loop(sub, greedy, True))
        else:
            pieces.extend(self.loop(sub, greedy, False) for _ in range(high - low))
        if not pieces:
            pc = self.emit("jump", None)
            return pc, [(pc, 1)]
        entry, holes = pieces[0]
        for piece_entry, piece_holes in pieces[1:]:
            self.patch(holes, piece_entry)
            holes = piece_holes
        return entry, holes


def _assemble(tree, captures):
    """(program, entry) for tree, ending in a match instruction."""
    compiler = _Compiler(captures)
    try:
        entry, holes = compiler.compile(tree)
    except RecursionError:
        # Nesting deeper than Python recurses (Go 1.16 has no limit).
        raise RegexError(ERR_TOO_LARGE, "") from None
    compiler.patch(holes, compiler.emit("match"))
    return [tuple(instruction) for instruction in compiler.program], entry


# What the character before or after a position is, for the assertions.
_START, _NEWLINE, _WORD, _OTHER = 0, 1, 2, 3
_END = _START


def _kind(char):
    if char == "\n":
        return _NEWLINE
    if "0" <= char <= "9" or "A" <= char <= "Z" or "a" <= char <= "z" or char == "_":
        return _WORD
    return _OTHER


def _assert_holds(kind, before, after):
    if kind == "bot":
        return before == _START
    if kind == "eot":
        return after == _END
    if kind == "bol":
        return before in (_START, _NEWLINE)
    if kind == "eol":
        return after in (_END, _NEWLINE)
    word = (before == _WORD) != (after == _WORD)
    return word if kind == "wordb" else not word


def _follow(program, todo, seen, reached, position, before, after, captured=None):
    """Follow the empty moves from the pcs in todo, the last first and a
    split's preferred branch first, appending to reached each set or match
    instruction met; a pc already in seen belongs to a thread of higher
    priority and is not taken again.

    Both engines use this walk: the automaton with pcs alone, the Pike VM
    also with capture slots, which save instructions fill in and which are
    appended to captured alongside each pc reached. In todo, a None says
    that the entry under it is the capture slots to carry on with.
    """
    # No tuples on todo: the automaton builds its states with this walk.
    caps = None
    while todo:
        pc = todo.pop()
        if pc is None:
            caps = todo.pop()
            continue
        if pc in seen:
            continue
        seen.add(pc)
        instruction = program[pc]
        op = instruction[0]
        if op == "split":
            todo.append(instruction[2])
            todo.append(instruction[1])
        elif op == "jump":
            todo.append(instruction[1])
        elif op == "save":
            if todo and todo[-1] is not None:
                # What is left on todo goes on with the slots as they are now.
                todo.append(caps)
                todo.append(None)
            caps = list(caps)  # threads reached already keep their own
            caps[instruction[1]] = position
            todo.append(instruction[2])
        elif op == "assert":
            if _assert_holds(instruction[1], before, after):
                todo.append(instruction[2])
        else:
            reached.append(pc)
            if captured is not None:
                captured.append(caps)


class Regexp:
    """A compiled pattern: ``search(text)`` tells whether it matches anywhere,
    ``find_string_submatch(text)`` is Go's FindStringSubmatch.

    ``search`` runs the program without save instructions as an automaton
    whose states (sets of NFA threads, with what the previous character was)
    and transitions are built on demand and kept, so a filter that runs the
    same pattern over many records pays for each state once. The cache is
    dropped if it grows past a bound, which keeps memory bounded without
    changing any answer. ``find_string_submatch`` runs a program with them
    (compiled on first use) as a Pike VM.
    """

    def __init__(self, pattern, tree, groups):
        self.pattern = pattern
        self.groups = groups  # capture groups, counting the whole match as 0
        self.tree = tree
        self.program, self.start = _assemble(tree, False)
        self.capturing = None  # (program, entry) with save instructions
        self._reset()

    def _reset(self):
        self.states = {}  # (threads, before) -> state number
        self.threads = []  # state number -> (threads, before)
        self.moves = {}  # (state, char) -> state, or True for "matched"
        self.at_end = {}  # state -> matched at the end of the text
        self.initial = self._state(frozenset(), _START)

    def _state(self, threads, before):
        key = (threads, before)
        number = self.states.get(key)
        if number is None:
            if len(self.threads) >= _MAX_STATES:
                raise _CacheFull()
            number = len(self.threads)
            self.states[key] = number
            self.threads.append(key)
        return number

    def _closure(self, threads, before, after):
        """The set instructions reachable without reading, and whether Match is."""
        program = self.program
        seen, reached = set(), []
        _follow(program, [*threads, self.start], seen, reached, 0, before, after)
        # The match instruction is the program's last (see _assemble).
        matched = len(program) - 1 in seen
        if matched:
            reached.remove(len(program) - 1)
        return reached, matched

    def _move(self, state, char):
        threads, before = self.threads[state]
        after = _kind(char)
        sets, matched = self._closure(threads, before, after)
        if matched:
            return True
        rune = 0xFFFD if _is_surrogate(char) else ord(char)
        program = self.program
        following = frozenset(program[pc][2] for pc in sets if program[pc][1].has(rune))
        return self._state(following, after)

    def search(self, text):
        try:
            return self._search(text)
        except _CacheFull:
            # Too many states for one text: start the cache afresh and run
            # this text without caching (still linear, only slower).
            self._reset()
            return self._simulate(text)

    def _simulate(self, text):
        program = self.program
        threads, before = frozenset(), _START
        for char in text:
            after = _kind(char)
            sets, matched = self._closure(threads, before, after)
            if matched:
                return True
            rune = 0xFFFD if _is_surrogate(char) else ord(char)
            threads = frozenset(program[pc][2] for pc in sets if program[pc][1].has(rune))
            before = after
        return self._closure(threads, before, _END)[1]

    def _search(self, text):
        moves = self.moves
        state = self.initial
        for char in text:
            key = (state, char)
            nxt = moves.get(key)
            if nxt is None:
                if len(moves) > 50 * _MAX_STATES:
                    raise _CacheFull()
                nxt = moves[key] = self._move(state, char)
            if nxt is True:
                return True
            state = nxt
        result = self.at_end.get(state)
        if result is None:
            threads, before = self.threads[state]
            result = self.at_end[state] = self._closure(threads, before, _END)[1]
        return result

    def _capturing_program(self):
        if self.capturing is None:
            self.capturing = _assemble(("capture", 0, self.tree), True)
        return self.capturing

    def find_string_submatch(self, text):
        """The leftmost-first match and each group's text ("" for a group
        that took no part), or None when the pattern does not match."""
        if not self.search(text):
            return None  # the automaton says so at a fraction of the Pike VM's cost
        caps = self._pike(text)
        return [text[caps[2 * i]:caps[2 * i + 1]] if caps[2 * i] >= 0 and caps[2 * i + 1] >= 0 else ""
                for i in range(self.groups)]

    def _pike(self, text):
        """Every thread in priority order, one pass over the text: the capture
        slots of the match a backtracking engine would find first, or None."""
        program, start = self._capturing_program()
        empty = [-1] * (2 * self.groups)
        # The threads for the next position, each as None, its capture slots
        # and its pc, in priority order: reversed, they are _follow's todo.
        threads, matched = [], None
        before = _START
        for position in range(len(text) + 1):
            char = text[position] if position < len(text) else None
            after = _kind(char) if char is not None else _END
            if matched is None:  # a thread starting here comes after the older ones
                threads += (None, empty, start)
            threads.reverse()
            current, captured = [], []
            _follow(program, threads, set(), current, position, before, after, captured)
            threads = []
            rune = None if char is None else ord(char)
            if rune is not None and 0xD800 <= rune <= 0xDFFF:
                rune = 0xFFFD
            for pc, caps in zip(current, captured):
                instruction = program[pc]
                if instruction[0] == "match":
                    matched = caps
                    break  # threads after this one have lower priority
                if rune is not None and instruction[1].has(rune):
                    threads += (None, caps, instruction[2])
            if not threads and matched is not None:
                break
            before = after
        return matched


class _CacheFull(Exception):
    pass


def compile(pattern, captures=False):
    """Go's regexp.Compile(pattern), as a Regexp, or RegexError with Go's message.

    With captures, the program for find_string_submatch is compiled now too,
    so that its errors (a program too large) come from here.
    """
    parser = _Parser(pattern)
    regexp = Regexp(pattern, parser.parse(), parser.captures + 1)
    if captures:
        regexp._capturing_program()
    return regexp
