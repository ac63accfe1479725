"""The parse tree of a template.

Each node keeps its position in the source (for error locations) and prints
back as template source with ``str()``, the way Go's nodes do: execution errors
quote the failing node, e.g. ``at <getv "/nope">``.
"""

from pyconsul.golang.strconv import quote


# unicode.IsSpace (Python's own notion also includes the \x1c-\x1f separators).
GO_WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos):
        self.pos = pos


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos, nodes=None):
        super().__init__(pos)
        self.nodes = nodes if nodes is not None else []

    def append(self, node):
        self.nodes.append(node)

    def __str__(self):
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        return self.text


class CommentNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        return "{{" + self.text + "}}"


class PipeNode(Node):
    """Commands joined by ``|``, optionally declaring or assigning variables."""

    __slots__ = ("line", "is_assign", "decl", "cmds")

    def __init__(self, pos, line, decl=None):
        super().__init__(pos)
        self.line = line
        self.is_assign = False
        self.decl = decl if decl is not None else []
        self.cmds = []

    def __str__(self):
        text = ""
        if self.decl:
            text = ", ".join(str(v) for v in self.decl) + " := "
        return text + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    """A ``{{pipeline}}`` that prints its value (unless it declares variables)."""

    __slots__ = ("line", "pipe")

    def __init__(self, pos, line, pipe):
        super().__init__(pos)
        self.line = line
        self.pipe = pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
    """A function call or value with its arguments: one stage of a pipeline."""

    __slots__ = ("args",)

    def __init__(self, pos):
        super().__init__(pos)
        self.args = []

    def __str__(self):
        parts = []
        for arg in self.args:
            if isinstance(arg, PipeNode):
                parts.append("(" + str(arg) + ")")
            else:
                parts.append(str(arg))
        return " ".join(parts)


class IdentifierNode(Node):
    """A function name."""

    __slots__ = ("ident",)

    def __init__(self, pos, ident):
        super().__init__(pos)
        self.ident = ident

    def __str__(self):
        return self.ident


class VariableNode(Node):
    """``$x`` or ``$x.Field.Field``: ``ident`` holds ``["$x", "Field", ...]``."""

    __slots__ = ("ident",)

    def __init__(self, pos, name):
        super().__init__(pos)
        self.ident = name.split(".")

    def __str__(self):
        return ".".join(self.ident)


class DotNode(Node):
    __slots__ = ()

    def __str__(self):
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self):
        return "nil"


class FieldNode(Node):
    """``.Field.Field``: ``ident`` holds the names without dots."""

    __slots__ = ("ident",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.ident = text[1:].split(".")

    def __str__(self):
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    """A term followed by field accesses: ``(pipeline).Field`` or ``func.Field``."""

    __slots__ = ("node", "field")

    def __init__(self, pos, node):
        super().__init__(pos)
        self.node = node
        self.field = []

    def add(self, field):
        if not field.startswith(".") or field == ".":
            raise ValueError("no dot in field")
        self.field.append(field[1:])

    def __str__(self):
        if isinstance(self.node, PipeNode):
            text = "(" + str(self.node) + ")"
        else:
            text = str(self.node)
        return text + "".join("." + f for f in self.field)


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos, value):
        super().__init__(pos)
        self.value = value

    def __str__(self):
        return "true" if self.value else "false"


class NumberNode(Node):
    """A numeric constant, with every Go type it can represent."""

    __slots__ = (
        "text",
        "is_int",
        "is_uint",
        "is_float",
        "is_complex",
        "int64",
        "uint64",
        "float64",
        "complex128",
    )

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = self.is_complex = False
        self.int64 = self.uint64 = 0
        self.float64 = 0.0
        self.complex128 = 0j

    def __str__(self):
        return self.text


class StringNode(Node):
    """A string constant: ``quoted`` is the source text, ``text`` its value."""

    __slots__ = ("quoted", "text")

    def __init__(self, pos, quoted, text):
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self):
        return self.quoted


class EndNode(Node):
    """``{{end}}``: only seen while parsing."""

    __slots__ = ()

    def __str__(self):
        return "{{end}}"


class ElseNode(Node):
    """``{{else}}``: only seen while parsing."""

    __slots__ = ("line",)

    def __init__(self, pos, line):
        super().__init__(pos)
        self.line = line

    def __str__(self):
        return "{{else}}"


class BranchNode(Node):
    """Common shape of if, range and with."""

    __slots__ = ("line", "pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos, line, pipe, list_node, else_list):
        super().__init__(pos)
        self.line = line
        self.pipe = pipe
        self.list = list_node
        self.else_list = else_list

    def __str__(self):
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos, line):
        super().__init__(pos)
        self.line = line

    def __str__(self):
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos, line):
        super().__init__(pos)
        self.line = line

    def __str__(self):
        return "{{continue}}"


class TemplateNode(Node):
    """``{{template "name" pipeline}}`` (also what ``block`` becomes)."""

    __slots__ = ("line", "name", "pipe")

    def __init__(self, pos, line, name, pipe):
        super().__init__(pos)
        self.line = line
        self.name = name
        self.pipe = pipe

    def __str__(self):
        if self.pipe is None:
            return "{{template " + quote(self.name) + "}}"
        return "{{template " + quote(self.name) + " " + str(self.pipe) + "}}"


def is_empty_tree(node):
    """Does the tree hold nothing but space (so it may be redefined)?"""
    if node is None:
        return True
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return node.text.strip(GO_WHITE_SPACE) == ""
    if isinstance(node, CommentNode):
        return True
    return False
