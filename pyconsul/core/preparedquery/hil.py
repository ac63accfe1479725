"""HIL, HashiCorp's interpolation language, as Consul 1.10 uses it for
prepared query templates (``github.com/hashicorp/hil``, its 2020 scanner
and recursive-descent parser).

A string is literal text with ``${ ... }`` interpolations; ``$${`` writes a
literal ``${``. Inside an interpolation: variables (``name.full``), function
calls (``match(1)``), integers, floats, ``true``/``false``, quoted strings
(which may interpolate again, with ``\\\\``, ``\\n`` and ``\\"`` escapes),
arithmetic ``+ - * / %``, comparisons, ``&& || !``, the conditional
``c ? a : b`` and parentheses. Values are strings, ints, floats and bools,
converted implicitly as HIL does (an int where a string is wanted, a string
where an int is...). The result of a template is always a string.

:func:`parse` gives a tree or raises :class:`HILError` with HIL's
``parse error at LINE:COL: ...``; :func:`evaluate` checks identifiers, then
types, then evaluates, each with HIL's messages.
"""

import math
import unicodedata

from pyconsul.golang import strconv

# Token types.
LITERAL, STRING, INTEGER, FLOAT, BOOL = "literal", "string", "integer", "float", "bool"
BEGIN, END, OQUOTE, CQUOTE = "${", "}", "oquote", "cquote"
IDENTIFIER, EOF, INVALID = "identifier", "eof", "invalid"
AND, OR, NOTEQUAL, EQUAL, GTE, LTE, GT, LT, BANG = "&&", "||", "!=", "==", ">=", "<=", ">", "<", "!"
PUNCTUATION = frozenset("()[],.+-*/%?:")

# Value types, named as HIL's ast.Type prints them.
T_STRING, T_INT, T_FLOAT, T_BOOL = "TypeString", "TypeInt", "TypeFloat", "TypeBool"
PRINTABLE = {T_STRING: "string", T_INT: "integer", T_FLOAT: "float", T_BOOL: "boolean"}

MAX_INT64 = (1 << 63) - 1


class HILError(Exception):
    """Parsing, checking or evaluating failed; ``str()`` is HIL's message."""


class Token:
    __slots__ = ("type", "content", "line", "column")

    def __init__(self, type_, content, line, column):
        self.type = type_
        self.content = content
        self.line = line
        self.column = column

    def __str__(self):
        kind = self.type
        if kind == EOF:
            return "end of string"
        if kind == INVALID:
            return "invalid sequence %s" % strconv.quote(self.content)
        if kind in (INTEGER, FLOAT):
            return "%s %s" % (kind, self.content)
        if kind in (STRING, LITERAL):
            return "%s %s" % (kind, strconv.quote(self.content))
        if kind == OQUOTE:
            return "opening quote"
        if kind == CQUOTE:
            return "closing quote"
        if kind in (AND, OR, NOTEQUAL, GTE, LTE):
            return kind
        return strconv.quote(self.content)


# -- scanning --------------------------------------------------------------------


def _is_letter(char):
    return unicodedata.category(char).startswith("L")


def _is_ident_char(char):
    category = unicodedata.category(char)
    return char in "_-.*" or category.startswith("L") or category.startswith("N") or category.startswith("M")


class _Scanner:
    """HIL's scanner: literal text and interpolation tokens, in turn."""

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.line = 1
        self.column = 1

    def _advance(self, count):
        for char in self.s[self.i:self.i + count]:
            if char == "\n":
                self.line += 1
                self.column = 1
            else:
                self.column += 1
        self.i += count

    def tokens(self):
        nesting = 0
        while True:
            literal = self._literal(nesting > 0)
            if literal is not None:
                yield literal
            terminator = self._terminator(nesting > 0)
            yield terminator
            if terminator.type in (EOF, INVALID):
                if terminator.type == INVALID:
                    yield Token(EOF, "", self.line, self.column)
                return
            if terminator.type == BEGIN:
                nesting += 1
            while True:
                token = self._interpolation_token()
                yield token
                if token.type == INVALID:
                    yield Token(EOF, "", self.line, self.column)
                    return
                if token.type == EOF:
                    return
                if token.type == END:
                    nesting = max(nesting - 1, 0)
                    break
                if token.type == OQUOTE:
                    break

    def _literal_end(self, nested):
        s, j = self.s, self.i
        while j < len(s):
            char = s[j]
            if char == "$" and j + 1 < len(s):
                if s[j + 1] == "{":
                    return j
                if s[j + 1] == "$":
                    j += 2
                    continue
            if nested:
                if char == '"':
                    return j
                if char == "\\" and j + 1 < len(s) and s[j + 1] in '"\\':
                    j += 2
                    continue
            j += 1
        return j

    def _literal(self, nested):
        end = self._literal_end(nested)
        if end == len(self.s) and nested:
            return None  # an unterminated quoted string: the terminator is INVALID
        if end == self.i:
            return None
        token = Token(STRING if nested else LITERAL, self.s[self.i:end], self.line, self.column)
        self._advance(end - self.i)
        return token

    def _terminator(self, nested):
        s, line, column = self.s, self.line, self.column
        if self.i >= len(s):
            return Token(EOF, "", line, column)
        if nested and self._literal_end(nested) == len(s):
            rest = s[self.i:]
            self._advance(len(rest))
            return Token(INVALID, rest, line, column)
        if s.startswith("${", self.i):
            self._advance(2)
            return Token(BEGIN, "${", line, column)
        self._advance(1)
        return Token(CQUOTE, '"', line, column)

    def _interpolation_token(self):
        s = self.s
        while self.i < len(s) and s[self.i] in " \t\r\n":
            self._advance(1)
        line, column = self.line, self.column
        if self.i >= len(s):
            return Token(EOF, "", line, column)
        char = s[self.i]
        two = s[self.i:self.i + 2]
        if char in PUNCTUATION:
            content = char
            kind = char
        elif char == "}":
            content, kind = char, END
        elif char == '"':
            content, kind = char, OQUOTE
        elif char == "!":
            content, kind = (two, NOTEQUAL) if two == "!=" else (char, BANG)
        elif char == "<":
            content, kind = (two, LTE) if two == "<=" else (char, LT)
        elif char == ">":
            content, kind = (two, GTE) if two == ">=" else (char, GT)
        elif char in "=&|":
            wanted = {"=": EQUAL, "&": AND, "|": OR}[char]
            content, kind = (two, wanted) if two == char * 2 else (char, INVALID)
        elif "0" <= char <= "9":
            content, kind = self._number()
        elif char == "_" or ("a" <= char <= "z") or ("A" <= char <= "Z") or _is_letter(char):
            content = self._identifier()
            kind = BOOL if content in ("true", "false") else IDENTIFIER
        else:
            content, kind = char, INVALID
        self._advance(len(content))
        return Token(kind, content, line, column)

    def _number(self):
        s, start = self.s, self.i
        j, period, kind = start, -1, INTEGER
        while j < len(s):
            char = s[j]
            if char != "." and not ("0" <= char <= "9"):
                if period == j - 1:  # "1." is the integer 1 and a period
                    j -= 1
                    kind = INTEGER
                break
            if char == ".":
                if period >= 0:
                    break
                period, kind = j, FLOAT
            j += 1
        return s[start:j], kind

    def _identifier(self):
        s, start = self.s, self.i
        j = start
        while j < len(s):
            char = s[j]
            if not _is_ident_char(char):
                break
            if char == "*" and (j == start or s[j - 1] != "."):
                break
            if j > start and s[j - 1] == "*" and char != ".":
                j -= 1
                if j > start and s[j - 1] == ".":
                    j -= 1
                break
            j += 1
        return s[start:j]


# -- parsing -----------------------------------------------------------------------
# Nodes: ("lit", type, value, pos), ("output", [nodes], pos), ("var", name, pos),
# ("call", name, [args], pos), ("index", target, key, pos),
# ("op", operator, [left, right], pos), ("cond", cond, yes, no, pos).
# pos is (line, column).


def _error(pos, message):
    return HILError("parse error at %d:%d: %s" % (pos[0], pos[1], message))


def _expected(wanted, token):
    return _error((token.line, token.column), "expected %s but found %s" % (wanted, token))


# The binary operators by precedence, lowest first; left-associative.
BINARY_OPS = [
    {OR: "||"},
    {AND: "&&"},
    {EQUAL: "==", NOTEQUAL: "!="},
    {GT: ">", GTE: ">=", LT: "<", LTE: "<="},
    {"+": "+", "-": "-"},
    {"*": "*", "/": "/", "%": "%"},
]


class _Parser:
    def __init__(self, text):
        self.tokens = list(_Scanner(text).tokens())
        self.at = 0

    def peek(self):
        return self.tokens[min(self.at, len(self.tokens) - 1)]

    def read(self):
        token = self.peek()
        self.at += 1
        return token

    def sequence(self, quoted):
        literal_type, end_type = (STRING, CQUOTE) if quoted else (LITERAL, EOF)
        start = self.peek()
        pos = (start.line, start.column)
        if quoted:
            token = self.read()
            if token.type != OQUOTE:
                raise _expected("open quote", token)
        exprs = []
        while True:
            token = self.read()
            if token.type == end_type:
                break
            if token.type == literal_type:
                exprs.append(("lit", T_STRING, self.string_value(token), (token.line, token.column)))
            elif token.type == BEGIN:
                exprs.append(self.interpolation())
            else:
                raise _expected('"${"', token)
        if not exprs:
            exprs.append(("lit", T_STRING, "", pos))
        if len(exprs) == 1 and exprs[0][0] == "lit" and exprs[0][1] == T_STRING:
            return exprs[0]
        return ("output", exprs, pos)

    @staticmethod
    def string_value(token):
        raw, out = token.content, []
        backslashes = token.type == STRING
        i = 0
        while i < len(raw):
            char = raw[i]
            more = i + 1 < len(raw)
            if char == "$":
                if more and raw[i + 1] == "$":
                    i += 1
            elif backslashes and char == "\\":
                column = token.column + i
                if not more:
                    raise _error((token.line, column), "unfinished backslash escape sequence")
                escape = raw[i + 1]
                if escape == "\\":
                    i += 1
                elif escape == "n":
                    char = "\n"
                    i += 1
                elif escape == '"':
                    char = '"'
                    i += 1
                else:
                    raise _error((token.line, column), "invalid backslash escape sequence")
            out.append(char)
            i += 1
        return "".join(out)

    def interpolation(self):
        expr = self.expression()
        token = self.read()
        if token.type != END:
            raise _expected('"}"', token)
        return expr

    def expression(self):
        start = self.peek()
        cond = self.binary(0)
        if self.peek().type != "?":
            return cond
        self.read()
        yes = self.expression()
        colon = self.read()
        if colon.type != ":":
            raise _expected(":", colon)
        no = self.expression()
        return ("cond", cond, yes, no, (start.line, start.column))

    def binary(self, level):
        if level == len(BINARY_OPS):
            return self.term()
        ops = BINARY_OPS[level]
        start = self.peek()
        pos = (start.line, start.column)
        left = self.binary(level + 1)
        while self.peek().type in ops:
            operator = ops[self.read().type]
            right = self.binary(level + 1)
            left = ("op", operator, [left, right], pos)
        return left

    def term(self):
        token = self.peek()
        kind, pos = token.type, (token.line, token.column)
        if kind == "(":
            self.read()
            expr = self.expression()
            closing = self.read()
            if closing.type != ")":
                raise _expected('")"', closing)
            return expr
        if kind == OQUOTE:
            return self.sequence(True)
        if kind == INTEGER:
            self.read()
            try:
                return ("lit", T_INT, strconv.atoi(token.content), pos)
            except strconv.NumError as error:
                raise _error(pos, "invalid integer: %s" % error)
        if kind == FLOAT:
            self.read()
            try:
                return ("lit", T_FLOAT, strconv.parse_float(token.content), pos)
            except strconv.NumError as error:
                raise _error(pos, "invalid float: %s" % error)
        if kind == BOOL:
            self.read()
            return ("lit", T_BOOL, token.content == "true", pos)
        if kind == "-":
            self.read()
            operand = self.term()
            return ("op", "-", [("lit", T_INT, 0, pos), operand], pos)
        if kind == BANG:
            self.read()
            operand = self.term()
            return ("op", "==", [("lit", T_BOOL, False, pos), operand], pos)
        if kind == IDENTIFIER:
            return self.scope_interaction()
        raise _expected("expression", token)

    def scope_interaction(self):
        first = self.read()
        pos = (first.line, first.column)
        if self.peek().type == "(":
            self.read()
            args = []
            while self.peek().type != ")":
                args.append(self.expression())
                if self.peek().type == ",":
                    self.read()
                    continue
                break
            closing = self.read()
            if closing.type != ")":
                raise _expected('")"', closing)
            return ("call", first.content, args, pos)
        variable = ("var", first.content, pos)
        if self.peek().type == "[":
            bracket = self.read()
            key = self.expression()
            closing = self.read()
            if closing.type != "]":
                raise _expected('"]"', closing)
            return ("index", variable, key, (bracket.line, bracket.column))
        return variable


def parse(text):
    """The tree of a HIL string, or HILError."""
    try:
        return _Parser(text).sequence(False)
    except RecursionError:
        raise HILError("parse error at 1:1: expression nested too deeply") from None


def is_literal(tree):
    """Whether the string had no interpolation at all."""
    return tree[0] == "lit" and tree[1] == T_STRING


# -- functions ---------------------------------------------------------------------


class Function:
    def __init__(self, arg_types, return_type, callback, variadic=None):
        self.arg_types = arg_types
        self.return_type = return_type
        self.callback = callback
        self.variadic = variadic  # the type of further arguments, if any


def _wrap64(value):
    return ((value + (1 << 63)) % (1 << 64)) - (1 << 63)


def _int_math(args):
    op, result = args[0], args[1]
    for value in args[2:]:
        if op == "+":
            result = result + value
        elif op == "-":
            result = result - value
        elif op == "*":
            result = result * value
        elif op == "/":
            if value == 0:
                raise HILError("divide by zero")
            quotient = abs(result) // abs(value)
            result = quotient if (result >= 0) == (value >= 0) else -quotient
        elif op == "%":
            if value == 0:
                raise HILError("divide by zero")
            remainder = abs(result) % abs(value)
            result = remainder if result >= 0 else -remainder
        result = _wrap64(result)
    return result


def _float_math(args):
    op, result = args[0], args[1]
    for value in args[2:]:
        if op == "+":
            result += value
        elif op == "-":
            result -= value
        elif op == "*":
            result *= value
        elif op == "/":
            if value == 0:
                raise HILError("divide by zero")
            result /= value
    return result


def _compare(args):
    op, left, right = args
    return {
        "==": lambda: left == right, "!=": lambda: left != right, "<": lambda: left < right,
        ">": lambda: left > right, "<=": lambda: left <= right, ">=": lambda: left >= right,
    }[op]()


def _float_to_int(args):
    value = args[0]
    if math.isnan(value) or math.isinf(value):
        return -(1 << 63)
    return _wrap64(int(value))


def _num_error(function):
    def converted(args):
        try:
            return function(args[0])
        except strconv.NumError as error:
            raise HILError(str(error))
    return converted


BUILTINS = {
    "__builtin_BoolToString": Function([T_BOOL], T_STRING, lambda a: "true" if a[0] else "false"),
    "__builtin_FloatToInt": Function([T_FLOAT], T_INT, _float_to_int),
    "__builtin_FloatToString": Function([T_FLOAT], T_STRING, lambda a: strconv.format_float(a[0], "g", -1)),
    "__builtin_IntToFloat": Function([T_INT], T_FLOAT, lambda a: float(a[0])),
    "__builtin_IntToString": Function([T_INT], T_STRING, lambda a: str(a[0])),
    "__builtin_StringToInt": Function([T_STRING], T_INT, _num_error(lambda text: strconv.parse_int(text, 0, 64))),
    "__builtin_StringToFloat": Function([T_STRING], T_FLOAT, _num_error(strconv.parse_float)),
    "__builtin_StringToBool": Function([T_STRING], T_BOOL, _num_error(strconv.parse_bool)),
}

IMPLICIT = {
    T_FLOAT: {T_INT: "__builtin_FloatToInt", T_STRING: "__builtin_FloatToString"},
    T_INT: {T_FLOAT: "__builtin_IntToFloat", T_STRING: "__builtin_IntToString"},
    T_STRING: {T_INT: "__builtin_StringToInt", T_FLOAT: "__builtin_StringToFloat", T_BOOL: "__builtin_StringToBool"},
    T_BOOL: {T_STRING: "__builtin_BoolToString"},
}


# -- checking and evaluation ---------------------------------------------------------


def _children(node):
    kind = node[0]
    if kind == "output":
        return node[1]
    if kind == "call":
        return node[2]
    if kind == "index":
        return [node[2], node[1]]
    if kind == "op":
        return node[2]
    if kind == "cond":
        return [node[1], node[2], node[3]]
    return []


def _post_order(node):
    """Nodes children first, as HIL's Accept visits them."""
    order, todo = [], [(node, False)]
    while todo:
        current, expanded = todo.pop()
        if expanded:
            order.append(current)
            continue
        todo.append((current, True))
        for child in reversed(_children(current)):
            todo.append((child, False))
    return order


class _Evaluator:
    def __init__(self, variables, functions):
        self.variables = variables  # name -> (type, value)
        self.functions = dict(BUILTINS)
        self.functions.update(functions)

    def check_identifiers(self, tree):
        for node in _post_order(tree):
            kind = node[0]
            if kind == "call":
                function = self.functions.get(node[1])
                where = "%d:%d" % node[3]
                if function is None:
                    raise HILError("%s: unknown function called: %s" % (where, node[1]))
                given = len(node[2])
                if function.variadic is not None and given > len(function.arg_types):
                    given = len(function.arg_types)
                if given != len(function.arg_types):
                    raise HILError("%s: %s: expected %d arguments, got %d"
                                   % (where, node[1], len(function.arg_types), len(node[2])))
            elif kind == "var" and node[1] not in self.variables:
                raise HILError("%d:%d: unknown variable accessed: %s" % (node[2] + (node[1],)))

    def run(self, node):
        """(type, value) of a node; HILError with the position of a type error."""
        try:
            return self._run(node)
        except _TypeProblem as problem:
            line, column = problem.pos
            raise HILError("At column %d, line %d: %s" % (column, line, problem.message))

    def _convert(self, typed, wanted, pos, message):
        kind, value = typed
        if kind == wanted:
            return value
        name = IMPLICIT.get(kind, {}).get(wanted)
        if name is None:
            raise _TypeProblem(pos, message)
        return self._call(name, [value])

    def _call(self, name, args):
        try:
            return self.functions[name].callback(args)
        except HILError as error:
            raise _EvalProblem("%s: %s" % (name, error))

    def _run(self, node):
        kind = node[0]
        if kind == "lit":
            return node[1], node[2]
        if kind == "var":
            return self.variables[node[1]]
        if kind == "output":
            parts = []
            for position, expr in enumerate(node[1], 1):
                typed = self._run(expr)
                parts.append(self._convert(typed, T_STRING, node[2],
                             "output of an HIL expression must be a string, or a single list (argument %d is %s)"
                             % (position, typed[0])))
            return T_STRING, "".join(parts)
        if kind == "call":
            return self._function(node)
        if kind == "index":
            self._run(node[2])
            target_type = self.variables[node[1][1]][0]
            raise _TypeProblem(node[3], "invalid index operation into non-indexable type: %s" % target_type)
        if kind == "op":
            return self._operator(node)
        return self._conditional(node)

    def _function(self, node):
        name, arg_nodes, pos = node[1], node[2], node[3]
        function = self.functions[name]
        typed = [self._run(arg) for arg in arg_nodes]
        values = []
        for position, item in enumerate(typed):
            if position < len(function.arg_types):
                wanted = function.arg_types[position]
            else:
                wanted = function.variadic
            values.append(self._convert(item, wanted, pos, "%s: argument %d should be %s, got %s"
                                        % (name, position + 1, wanted, item[0])))
        return function.return_type, self._call(name, values)

    def _operator(self, node):
        operator, operands, pos = node[1], node[2], node[3]
        typed = [self._run(operand) for operand in operands]
        if operator in ("&&", "||"):
            values = [self._convert(item, T_BOOL, pos, "logical operators require boolean operands, not %s"
                                    % item[0]) for item in typed]
            return T_BOOL, (values[0] and values[1]) if operator == "&&" else (values[0] or values[1])
        if operator in ("==", "!=", "<", ">", "<=", ">="):
            return T_BOOL, self._comparison(operator, typed, pos)
        wanted = T_FLOAT if any(item[0] == T_FLOAT for item in typed) else T_INT
        values = [self._convert(item, wanted, pos, "operand %d should be %s, got %s" % (i + 1, wanted, item[0]))
                  for i, item in enumerate(typed)]
        if wanted == T_FLOAT and operator == "%":
            raise _TypeProblem(pos, "modulo cannot be used with floats")
        if wanted == T_FLOAT:
            return T_FLOAT, self._call("__builtin_FloatMath", [operator] + values)
        return T_INT, self._call("__builtin_IntMath", [operator] + values)

    def _comparison(self, operator, typed, pos):
        wanted = typed[0][0]
        if wanted not in (T_BOOL, T_FLOAT, T_INT, T_STRING):
            raise _TypeProblem(pos, "comparison operators apply only to bool, float, int, and string")
        if operator not in ("==", "!="):
            wanted = T_FLOAT if any(item[0] == T_FLOAT for item in typed) else T_INT
        values = [self._convert(item, wanted, pos, "operand %d should be %s, got %s" % (i + 1, wanted, item[0]))
                  for i, item in enumerate(typed)]
        return _compare([operator] + values)

    def _conditional(self, node):
        cond, yes, no = self._run(node[1]), self._run(node[2]), self._run(node[3])
        pos = node[4]
        chosen = self._convert(cond, T_BOOL, pos, "condition must be type bool, not %s"
                               % PRINTABLE.get(cond[0], cond[0]))
        if yes[0] != no[0]:
            mismatch = "true and false expression types must match; have %s and %s" % (
                PRINTABLE.get(yes[0], yes[0]), PRINTABLE.get(no[0], no[0]))
            if yes[0] == T_STRING:
                yes = (no[0], self._convert(yes, no[0], pos, mismatch))
            else:
                no = (yes[0], self._convert(no, yes[0], pos, mismatch))
        return yes if chosen else no


class _TypeProblem(Exception):
    def __init__(self, pos, message):
        super().__init__(message)
        self.pos = pos
        self.message = message


class _EvalProblem(Exception):
    pass


BUILTINS["__builtin_IntMath"] = Function([T_STRING], T_INT, _int_math, variadic=T_INT)
BUILTINS["__builtin_FloatMath"] = Function([T_STRING], T_FLOAT, _float_math, variadic=T_FLOAT)


def evaluate(tree, variables, functions=None):
    """The string a tree gives: ``variables`` maps names to strings,
    ``functions`` names to :class:`Function`. HILError on any failure."""
    evaluator = _Evaluator({name: (T_STRING, value) for name, value in variables.items()}, functions or {})
    evaluator.check_identifiers(tree)
    try:
        kind, value = evaluator.run(tree)
    except _EvalProblem as problem:
        raise HILError(str(problem))
    except RecursionError:
        raise HILError("expression nested too deeply") from None
    if kind != T_STRING:  # a bare literal of another type cannot be at the top
        raise HILError("output of an HIL expression must be a string")
    return value
