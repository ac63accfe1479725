"""The parser for Go's template language.

``parse(name, text, function_names)`` returns every template the text defines
(the top-level one under ``name`` plus each ``{{define}}`` and ``{{block}}``) as
:class:`Tree` objects. It follows Go's ``text/template/parse`` closely: the same
grammar, the same checks at parse time (undefined variables, unknown
functions, ``{{break}}`` outside ``{{range}}``), and the same messages, such as
``template: case.tmpl:1: unexpected EOF``.
"""

from pyconsul.golang import strconv
from pyconsul.template.errors import GoError, TemplateParseError
from pyconsul.template.lexer import Item, Lexer, Token
from pyconsul.template.nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
    is_empty_tree,
)

_OPERAND_START = (
    Item.BOOL,
    Item.CHAR_CONSTANT,
    Item.COMPLEX,
    Item.DOT,
    Item.FIELD,
    Item.IDENTIFIER,
    Item.NUMBER,
    Item.NIL,
    Item.RAW_STRING,
    Item.STRING,
    Item.VARIABLE,
    Item.LEFT_PAREN,
)

_NO_TOKEN = Token(Item.EOF, 0, "", 0)


def parse(name, text, function_names):
    """Parse ``text`` as the template ``name``; returns ``{name: Tree}``.

    ``function_names`` is anything supporting ``in``: the names a template may
    call (the parser rejects others, as Go does). Raises TemplateParseError.
    """
    tree_set = {}
    lexer = Lexer(
        text,
        break_ok="break" not in function_names,
        continue_ok="continue" not in function_names,
    )
    tree = Tree(name, name, text)
    tree.start_parse(function_names, lexer, tree_set)
    try:
        tree.parse()
        tree.add()
    except RecursionError:
        # Python's stack is smaller than Go's; report it as Go reports its limit.
        line = lexer.last.line if lexer.last is not None else 0
        raise TemplateParseError(
            f"template: {name}:{line}: max expression depth exceeded",
            name=name,
            line=line,
            detail="max expression depth exceeded",
        ) from None
    return tree_set


class Tree:
    """One parsed template: ``root`` is its body.

    While parsing it also holds the parser state, which (as in Go) is per tree:
    a ``{{define}}`` gets its own tree sharing the lexer of the enclosing one.
    """

    def __init__(self, name, parse_name, text):
        self.name = name
        self.parse_name = parse_name
        self.text = text
        self.root = None

    # -- token stream ------------------------------------------------------

    def start_parse(self, function_names, lexer, tree_set):
        self.root = None
        self.lex = lexer
        self.funcs = function_names
        self.tree_set = tree_set
        self.vars = ["$"]
        self.token = [_NO_TOKEN, _NO_TOKEN, _NO_TOKEN]
        self.peek_count = 0
        self.action_line = 0
        self.range_depth = 0

    def stop_parse(self):
        self.lex = None
        self.vars = None
        self.funcs = None
        self.tree_set = None

    def next(self):
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self):
        self.peek_count += 1

    def backup2(self, t1):
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2, t1):
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self):
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self):
        while True:
            token = self.next()
            if token.typ != Item.SPACE:
                return token

    def peek_non_space(self):
        token = self.next_non_space()
        self.backup()
        return token

    # -- errors ------------------------------------------------------------

    def errorf(self, message):
        line = self.token[0].line
        raise TemplateParseError(
            f"template: {self.parse_name}:{line}: {message}",
            name=self.parse_name,
            line=line,
            detail=message,
        )

    def expect(self, expected, context):
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def expect_one_of(self, expected1, expected2, context):
        token = self.next_non_space()
        if token.typ not in (expected1, expected2):
            self.unexpected(token, context)
        return token

    def unexpected(self, token, context):
        if token.typ == Item.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]  # not "action in action"
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # -- the grammar -------------------------------------------------------

    def add(self):
        """Add this tree to the set; an existing non-empty one may not be redefined."""
        existing = self.tree_set.get(self.name)
        if existing is None or is_empty_tree(existing.root):
            self.tree_set[self.name] = self
            return
        if not is_empty_tree(self.root):
            self.errorf(f"template: multiple definition of template {strconv.quote(self.name)}")

    def parse(self):
        """The top level: text and actions, plus {{define}} blocks, up to EOF."""
        self.root = ListNode(self.peek().pos)
        while self.peek().typ != Item.EOF:
            if self.peek().typ == Item.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == Item.DEFINE:
                    definition = Tree("definition", self.parse_name, self.text)
                    definition.start_parse(self.funcs, self.lex, self.tree_set)
                    definition.parse_definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if isinstance(node, (EndNode, ElseNode)):
                self.errorf(f"unexpected {node}")
            self.root.append(node)

    def parse_definition(self):
        context = "define clause"
        name = self.expect_one_of(Item.STRING, Item.RAW_STRING, context)
        self.name = self._unquote(name.val)
        self.expect(Item.RIGHT_DELIM, context)
        self.root, end = self.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add()
        self.stop_parse()

    def item_list(self):
        """textOrAction* up to an {{end}} or {{else}}, which is returned too."""
        node_list = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != Item.EOF:
            node = self.text_or_action()
            if isinstance(node, (EndNode, ElseNode)):
                return node_list, node
            node_list.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self):
        token = self.next_non_space()
        if token.typ == Item.TEXT:
            return TextNode(token.pos, token.val)
        if token.typ == Item.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(token, "input")

    def action(self):
        token = self.next_non_space()
        control = {
            Item.BLOCK: self.block_control,
            Item.ELSE: self.else_control,
            Item.END: self.end_control,
            Item.IF: self.if_control,
            Item.RANGE: self.range_control,
            Item.TEMPLATE: self.template_control,
            Item.WITH: self.with_control,
        }.get(token.typ)
        if control is not None:
            return control()
        if token.typ == Item.BREAK:
            return self.break_control(token.pos, token.line)
        if token.typ == Item.CONTINUE:
            return self.continue_control(token.pos, token.line)
        self.backup()
        token = self.peek()
        # Variables declared here persist until the enclosing {{end}}.
        return ActionNode(token.pos, token.line, self.pipeline("command", Item.RIGHT_DELIM))

    def break_control(self, pos, line):
        token = self.next_non_space()
        if token.typ != Item.RIGHT_DELIM:
            self.unexpected(token, "{{break}}")
        if self.range_depth == 0:
            self.errorf("{{break}} outside {{range}}")
        return BreakNode(pos, line)

    def continue_control(self, pos, line):
        token = self.next_non_space()
        if token.typ != Item.RIGHT_DELIM:
            self.unexpected(token, "{{continue}}")
        if self.range_depth == 0:
            self.errorf("{{continue}} outside {{range}}")
        return ContinueNode(pos, line)

    def pipeline(self, context, end):
        token = self.peek_non_space()
        pipe = PipeNode(token.pos, token.line)
        # Declarations or assignments: "$x :=", "$x =", "$i, $v :=".
        while True:
            v = self.peek_non_space()
            if v.typ != Item.VARIABLE:
                break
            self.next()
            # Spaces are tokens, so up to three tokens of look-ahead are needed
            # to tell "$x :=" from "$x foo" (where $x is an argument).
            token_after_variable = self.peek()
            following = self.peek_non_space()
            if following.typ in (Item.ASSIGN, Item.DECLARE):
                pipe.is_assign = following.typ == Item.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val))
                self.vars.append(v.val)
            elif following.typ == Item.CHAR and following.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (Item.VARIABLE, Item.RIGHT_DELIM, Item.RIGHT_PAREN):
                        continue  # the second variable of "range $i, $v :="
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif token_after_variable.typ == Item.SPACE:
                self.backup3(v, token_after_variable)
            else:
                self.backup2(v)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe, context):
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        # Only the first command of a pipeline may be a plain value.
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(self, allow_else_if, context):
        saved_vars = len(self.vars)
        try:
            pipe = self.pipeline(context, Item.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            node_list, following = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(following, ElseNode):
                if allow_else_if and self.peek().typ == Item.IF:
                    # {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}
                    # with only one {{end}}: parse the inner if, which consumes it.
                    self.next()
                    else_list = ListNode(following.pos)
                    else_list.append(self.if_control())
                else:
                    else_list, following = self.item_list()
                    if not isinstance(following, EndNode):
                        self.errorf(f"expected end; found {following}")
            return pipe.pos, pipe.line, pipe, node_list, else_list
        finally:
            if self.vars is not None:
                del self.vars[saved_vars:]

    def if_control(self):
        return IfNode(*self.parse_control(True, "if"))

    def range_control(self):
        return RangeNode(*self.parse_control(False, "range"))

    def with_control(self):
        return WithNode(*self.parse_control(False, "with"))

    def end_control(self):
        return EndNode(self.expect(Item.RIGHT_DELIM, "end").pos)

    def else_control(self):
        peeked = self.peek_non_space()
        if peeked.typ == Item.IF:
            # "{{else if ..." is handled as "{{else}}{{if ...".
            return ElseNode(peeked.pos, peeked.line)
        token = self.expect(Item.RIGHT_DELIM, "else")
        return ElseNode(token.pos, token.line)

    def block_control(self):
        context = "block clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe = self.pipeline(context, Item.RIGHT_DELIM)
        block = Tree(name, self.parse_name, self.text)
        block.start_parse(self.funcs, self.lex, self.tree_set)
        block.root, end = block.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        block.add()
        block.stop_parse()
        return TemplateNode(token.pos, token.line, name, pipe)

    def template_control(self):
        context = "template clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe = None
        if self.next_non_space().typ != Item.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, Item.RIGHT_DELIM)
        return TemplateNode(token.pos, token.line, name, pipe)

    def parse_template_name(self, token, context):
        if token.typ in (Item.STRING, Item.RAW_STRING):
            return self._unquote(token.val)
        self.unexpected(token, context)

    def command(self):
        """operand (space operand)*, up to a pipe character or a closing delimiter."""
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()  # skip leading spaces
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == Item.SPACE:
                continue
            if token.typ in (Item.RIGHT_DELIM, Item.RIGHT_PAREN):
                self.backup()
            elif token.typ != Item.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self):
        """A term possibly followed by .Field accesses."""
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == Item.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == Item.FIELD:
                chain.add(self.next().val)
            # Fields and variables absorb the chain; literals cannot have fields.
            if isinstance(node, FieldNode):
                node = FieldNode(chain.pos, str(chain))
            elif isinstance(node, VariableNode):
                node = VariableNode(chain.pos, str(chain))
            elif isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.errorf(f"unexpected . after term {strconv.quote(str(node))}")
            else:
                node = chain
        return node

    def term(self):
        token = self.next_non_space()
        typ = token.typ
        if typ == Item.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {strconv.quote(token.val)} not defined")
            return IdentifierNode(token.pos, token.val)
        if typ == Item.DOT:
            return DotNode(token.pos)
        if typ == Item.NIL:
            return NilNode(token.pos)
        if typ == Item.VARIABLE:
            return self.use_var(token.pos, token.val)
        if typ == Item.FIELD:
            return FieldNode(token.pos, token.val)
        if typ == Item.BOOL:
            return BoolNode(token.pos, token.val == "true")
        if typ in (Item.CHAR_CONSTANT, Item.COMPLEX, Item.NUMBER):
            try:
                return new_number(token.pos, token.val, typ)
            except GoError as e:
                self.errorf(str(e))
        if typ == Item.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", Item.RIGHT_PAREN)
        if typ in (Item.STRING, Item.RAW_STRING):
            return StringNode(token.pos, token.val, self._unquote(token.val))
        self.backup()
        return None

    def use_var(self, pos, name):
        node = VariableNode(pos, name)
        if node.ident[0] not in self.vars:
            self.errorf(f"undefined variable {strconv.quote(node.ident[0])}")
        return node

    def _unquote(self, text):
        try:
            return strconv.unquote(text)
        except GoError as e:
            self.errorf(str(e))


# -- numbers ---------------------------------------------------------------


def _parse_complex(text):
    """A complex constant such as 1+2i or -1.5e3-2i (the lexer checked its shape)."""
    body = text[:-1]  # drop the final 'i'
    # The imaginary part starts at the last sign that is not an exponent's.
    cut = next(
        (i for i in range(len(body) - 1, 0, -1) if body[i] in "+-" and body[i - 1] not in "eEpP"),
        0,
    )
    try:
        return complex(strconv.parse_float(body[:cut]), strconv.parse_float(body[cut:]))
    except GoError:
        raise GoError("expected complex constant, found " + strconv.quote(text)) from None


def _simplify_complex(n):
    """A complex constant with no imaginary part is also a float (and maybe an int)."""
    if n.complex128.imag == 0:
        n.is_float = True
        n.float64 = n.complex128.real
        if n.float64.is_integer() and strconv.MIN_INT64 <= n.float64 <= strconv.MAX_INT64:
            n.is_int = True
            n.int64 = int(n.float64)
        if n.float64.is_integer() and 0 <= n.float64 < 2**64:
            n.is_uint = True
            n.uint64 = int(n.float64)


def new_number(pos, text, typ):
    """A NumberNode with every interpretation Go gives the constant ``text``."""
    n = NumberNode(pos, text)
    if typ == Item.CHAR_CONSTANT:
        value, _, tail = strconv.unquote_char(text[1:], text[0])
        if tail != "'":
            raise GoError(f"malformed character constant: {text}")
        n.int64 = n.uint64 = value
        n.float64 = float(value)
        n.is_int = n.is_uint = n.is_float = True
        return n
    if typ == Item.COMPLEX:
        n.complex128 = _parse_complex(text)
        n.is_complex = True
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        try:
            imaginary = strconv.parse_float(text[:-1])
        except GoError:
            pass
        else:
            n.is_complex = True
            n.complex128 = complex(0, imaginary)
            _simplify_complex(n)
            return n
    unsigned = None
    try:
        unsigned = strconv.parse_uint(text)
        n.is_uint = True
        n.uint64 = unsigned
    except GoError:
        pass
    try:
        n.int64 = strconv.parse_int(text)
        n.is_int = True
        if n.int64 == 0:
            n.is_uint = True  # -0
            n.uint64 = unsigned or 0
    except GoError:
        pass
    if n.is_int:
        n.is_float = True
        n.float64 = float(n.int64)
    elif n.is_uint:
        n.is_float = True
        n.float64 = float(n.uint64)
    else:
        try:
            f = strconv.parse_float(text)
        except GoError:
            pass
        else:
            if not any(c in text for c in ".eEpP"):
                # It parsed as a float but looks like an integer: too big for one.
                raise GoError(f"integer overflow: {strconv.quote(text)}")
            n.is_float = True
            n.float64 = f
            if f.is_integer() and strconv.MIN_INT64 <= f <= strconv.MAX_INT64:
                n.is_int = True
                n.int64 = int(f)
            if f.is_integer() and 0 <= f < 2**64:
                n.is_uint = True
                n.uint64 = int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise GoError(f"illegal number syntax: {strconv.quote(text)}")
    return n
