"""Executing a parsed template: Go's ``text/template`` exec.go semantics.

The executor walks the tree, evaluates pipelines, calls functions, and writes
text. What it must get right, beyond the obvious:

* Go's truth rules, variable scoping (a variable lives until the ``{{end}}`` of
  the block that declared it), ``range`` over slices, maps (sorted keys) and
  nothing (the ``{{else}}`` branch), ``break``/``continue``;
* argument handling: counts, literal conversion (``expected integer; found
  1.5``), type checks (``wrong type for value; expected []string; got
  memkv.KVPairs``), ``and``/``or`` short-circuiting;
* error locations. Go remembers the last node it started evaluating and
  reports ``FILE:LINE:COL`` and the node's source for it; the executor does
  the same through :meth:`_Executor.at`, called at the same points as Go's
  ``s.at``, so the column in each message matches confd's.
"""

from pyconsul.golang import strconv
from pyconsul.template import builtins as builtin_module
from pyconsul.template import gofmt
from pyconsul.template.errors import GoError, TemplateExecError
from pyconsul.template.functable import FuncTable
from pyconsul.template.nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommentNode,
    ContinueNode,
    DotNode,
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
)
from pyconsul.template.parser import parse
from pyconsul.template.values import (
    NO_VALUE,
    REFLECT_VALUE,
    GoStruct,
    Iface,
    NilPointer,
    go_sort_key,
    map_zero,
    to_bytes,
    to_go,
    truth,
    type_name,
    unbox,
)

# Python's stack is far smaller than Go's, so recursion through {{template}}
# stops much earlier than Go's 100000; deeper nesting is reported the same way.
MAX_TEMPLATE_DEPTH = 100
# A runaway template (a huge seq, nested ranges) fails instead of eating memory.
MAX_OUTPUT_CHARS = 64 * 1024 * 1024

_MISSING = object()  # no value flows in from a previous pipeline stage


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Template:
    """A parsed template, with the ``{{define}}``d templates it contains.

    ``funcs`` is the :class:`FuncTable` the template may call besides Go's
    builtins; its names are fixed at parse time (unknown names are parse
    errors, as in Go), its implementations may be replaced per execution.
    ``missing_key="zero"`` is Go's ``missingkey=zero``, which
    consul-template sets: a map's missing key is its element's zero value
    (``""`` in a ``map[string]string``) rather than ``<no value>``.
    """

    def __init__(self, name, text, funcs=None, missing_key="default"):
        if missing_key not in ("default", "zero"):
            raise ValueError(f"missing_key {missing_key!r}: default or zero")
        self.name = name
        self.text = text
        self.funcs = funcs if funcs is not None else FuncTable()
        self.missing_key = missing_key  # Go's Option("missingkey=...")
        self.trees = parse(name, text, _Names(self.funcs, builtin_module.BUILTINS))

    def execute(self, data=NO_VALUE, funcs=None):
        """Render with ``data`` as dot; returns the text. Raises TemplateError.

        ``data`` may hold plain Python lists and dicts; ``None`` is Go's nil.
        """
        executor = _Executor(self, funcs if funcs is not None else self.funcs)
        return executor.run(NO_VALUE if data is None else to_go(data))


class _Names:
    """The function names visible to the parser: user functions and builtins."""

    def __init__(self, *tables):
        self.tables = tables

    def __contains__(self, name):
        return any(name in t for t in self.tables)


class _Executor:
    def __init__(self, template, funcs):
        self.template = template
        self.funcs = funcs
        self.tree = None
        self.vars = []
        self.node = None
        self.depth = 0
        self.out = []
        self.out_size = 0

    # -- running -----------------------------------------------------------

    def run(self, data):
        tree = self.template.trees.get(self.template.name)
        self.tree = tree
        self.vars = [["$", data]]
        if tree is None or tree.root is None:
            self.errorf(f"{strconv.quote(self.template.name)} is an incomplete or empty template")
        try:
            self.walk(data, tree.root)
        except RecursionError:
            self.errorf(f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
        return "".join(self.out)

    def write(self, text):
        self.out_size += len(text)
        if self.out_size > MAX_OUTPUT_CHARS:
            self.out.clear()
            self.errorf(f"output exceeds {MAX_OUTPUT_CHARS} characters")
        self.out.append(text)

    # -- errors ------------------------------------------------------------

    def at(self, node):
        """Remember the node being evaluated, for error messages."""
        self.node = node

    def error_context(self, node):
        text = self.template.text
        pos = node.pos
        line_start = text.rfind("\n", 0, pos) + 1
        line = 1 + text.count("\n", 0, pos)
        col = len(to_bytes(text[line_start:pos]))
        return line, col, str(node)

    def errorf(self, message):
        name = self.tree.name if self.tree is not None else self.template.name
        parse_name = self.template.name
        if self.node is None:
            raise TemplateExecError(
                f"template: {name}: {message}", name=parse_name, executing=name, detail=message
            )
        line, col, context = self.error_context(self.node)
        raise TemplateExecError(
            f"template: {parse_name}:{line}:{col}: executing {strconv.quote(name)} "
            f"at <{context}>: {message}",
            name=parse_name,
            line=line,
            col=col,
            executing=name,
            context=context,
            detail=message,
        )

    # -- variables ---------------------------------------------------------

    def mark(self):
        return len(self.vars)

    def pop(self, mark):
        del self.vars[mark:]

    def push(self, name, value):
        self.vars.append([name, value])

    def set_var(self, name, value):
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def set_top_var(self, n, value):
        self.vars[-n][1] = value

    def var_value(self, name):
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.errorf(f"undefined variable: {name}")

    # -- walking the tree --------------------------------------------------

    def walk(self, dot, node):
        self.at(node)
        if isinstance(node, TextNode):
            self.write(node.text)
        elif isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, value)
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, IfNode):
            self.walk_if_or_with(False, dot, node)
        elif isinstance(node, WithNode):
            self.walk_if_or_with(True, dot, node)
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break()
        elif isinstance(node, ContinueNode):
            raise _Continue()
        elif isinstance(node, CommentNode):
            pass
        else:
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, is_with, dot, node):
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if is_with else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def walk_range(self, dot, node):
        self.at(node)
        outer_mark = self.mark()
        try:
            value = unbox(self.eval_pipeline(dot, node.pipe))
            if value is None:
                value = NO_VALUE
            mark = self.mark()
            items = self._range_items(value)
            if items:
                for index, element in items:
                    if node.pipe.decl:
                        self.set_top_var(1, element)
                    if len(node.pipe.decl) > 1:
                        self.set_top_var(2, index)
                    try:
                        self.walk(element, node.list)
                    except _Continue:
                        pass
                    finally:
                        self.pop(mark)
                return
            if node.else_list is not None:
                self.walk(dot, node.else_list)
        except _Break:
            pass
        finally:
            self.pop(outer_mark)

    def _range_items(self, value):
        """(index, element) pairs to iterate, or an empty list for the else branch."""
        if value is NO_VALUE:
            return []
        if isinstance(value, dict):
            boxed = getattr(value, "holds_interfaces", True)
            return [
                (key, _box(value[key], boxed)) for key in sorted(value, key=go_sort_key)
            ]
        if isinstance(value, (list, tuple)) and not isinstance(value, str):
            boxed = getattr(value, "holds_interfaces", True)
            return [(i, _box(v, boxed)) for i, v in enumerate(value)]
        self.errorf(f"range can't iterate over {gofmt.format_value(value)}")

    def walk_template(self, dot, node):
        self.at(node)
        tree = self.template.trees.get(node.name)
        if tree is None:
            self.errorf(f"template {strconv.quote(node.name)} not defined")
        if self.depth >= MAX_TEMPLATE_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
        dot = self.eval_pipeline(dot, node.pipe)
        saved = (self.tree, self.vars, self.depth, self.node)
        # No dynamic scoping: the called template sees only $ (its dot).
        self.tree, self.vars, self.depth = tree, [["$", dot]], self.depth + 1
        try:
            self.walk(dot, tree.root)
        finally:
            self.tree, self.vars, self.depth, self.node = saved

    def print_value(self, node, value):
        self.at(node)
        if type(value) is str:
            self.write(value)
        elif value is NO_VALUE:
            self.write("<no value>")
        else:
            self.write(gofmt.template_print(value))

    # -- evaluation --------------------------------------------------------

    def eval_pipeline(self, dot, pipe):
        if pipe is None:
            return NO_VALUE
        self.at(pipe)
        value = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            # A value held in an interface {} is unwrapped ("dig down one level").
            if isinstance(value, Iface):
                value = value.value
            elif value is None:
                value = NO_VALUE
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.push(variable.ident[0], value)
        return value

    def not_a_function(self, args, final):
        if (args is not None and len(args) > 1) or final is not _MISSING:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot, cmd, final):
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            # A parenthesized pipeline takes no arguments.
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        self.errorf(f"can't evaluate command {strconv.quote(str(first))}")

    def ideal_constant(self, constant):
        """An untyped constant in a place with no expected type."""
        self.at(constant)
        text = constant.text
        if constant.is_complex:
            return constant.complex128
        is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(
            c in text for c in "pP"
        )
        is_rune = text.startswith("'")
        if constant.is_float and not is_hex_int and not is_rune and any(c in text for c in ".eEpP"):
            return constant.float64
        if constant.is_int:
            return constant.int64
        if constant.is_uint:
            self.errorf(f"{text} overflows int")
        return NO_VALUE

    def eval_field_node(self, dot, field, args, final):
        self.at(field)
        return self.eval_field_chain(dot, dot, field, field.ident, args, final)

    def eval_chain_node(self, dot, chain, args, final):
        self.at(chain)
        if not chain.field:
            self.errorf("internal error: no fields in evalChainNode")
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.field, args, final)

    def eval_variable_node(self, dot, variable, args, final):
        self.at(variable)
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, variable, variable.ident[1:], args, final)

    def eval_field_chain(self, dot, receiver, node, idents, args, final):
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, _MISSING, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(self, dot, field_name, node, args, final, receiver):
        if receiver is NO_VALUE:
            return NO_VALUE
        typ = type_name(receiver)
        if receiver is None or isinstance(receiver, NilPointer):
            self.errorf(f"nil pointer evaluating {typ}.{field_name}")
        receiver = unbox(receiver)
        method = _find_method(receiver, field_name)
        if method is not None:
            return self.eval_call(dot, method, False, node, field_name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        if isinstance(receiver, GoStruct) and field_name in receiver.go_fields:
            if has_args:
                self.errorf(f"{field_name} has arguments but cannot be invoked as function")
            return getattr(receiver, field_name)
        if isinstance(receiver, dict):
            if has_args:
                self.errorf(f"{field_name} is not a method but has arguments")
            if field_name in receiver:
                return _box(receiver[field_name], getattr(receiver, "holds_interfaces", True))
            if self.template.missing_key == "zero":
                return map_zero(receiver)
            return NO_VALUE
        self.errorf(f"can't evaluate field {field_name} in type {typ}")

    def eval_function(self, dot, node, cmd, args, final):
        self.at(node)
        name = node.ident
        function = self.funcs.get(name)
        is_builtin = False
        if function is None:
            function = builtin_module.BUILTINS.get(name)
            is_builtin = function is not None
        if function is None:
            self.errorf(f"{strconv.quote(name)} is not a defined function")
        return self.eval_call(dot, function, is_builtin, cmd, name, args, final)

    def eval_call(self, dot, function, is_builtin, node, name, args, final):
        """Check the argument count, evaluate the arguments and call."""
        args = list(args[1:]) if args is not None else []
        num_in = len(args) + (1 if final is not _MISSING else 0)
        params = function.params
        if function.variadic is not None:
            num_fixed = len(params)
            if num_in < num_fixed:
                self.errorf(
                    f"wrong number of args for {name}: want at least {num_fixed} got {len(args)}"
                )
        else:
            num_fixed = len(args)
            if num_in != len(params):
                self.errorf(f"wrong number of args for {name}: want {len(params)} got {num_in}")

        if is_builtin and name in ("and", "or"):
            return self._and_or(dot, name, args, final)

        argv = []
        for i in range(min(num_fixed, len(args))):
            argv.append(self.eval_arg(dot, params[i], args[i]))
        if function.variadic is not None:
            for arg in args[len(argv) :]:
                argv.append(self.eval_arg(dot, function.variadic, arg))
        if final is not _MISSING:
            if function.variadic is None:
                typ = params[-1]
            elif num_in - 1 < num_fixed:
                typ = params[num_in - 1]
            else:
                typ = function.variadic
            argv.append(self.validate_type(final, typ))

        try:
            result = function.impl(*argv)
        except GoError as e:
            self.at(node)
            self.errorf(f"error calling {name}: {e}")
        except (RecursionError, MemoryError):
            raise
        except Exception as e:  # a bug in a function must not escape as a traceback
            self.at(node)
            self.errorf(f"error calling {name}: {type(e).__name__}: {e}")
        return to_go(result)

    def _and_or(self, dot, name, args, final):
        """``and``/``or`` stop at the first argument that decides the result."""
        stop_when = name == "or"
        value = NO_VALUE
        for arg in args:
            value = self.eval_arg(dot, REFLECT_VALUE, arg)
            if truth(value) == stop_when:
                return value
        if final is not _MISSING:
            value = self.validate_type(final, REFLECT_VALUE)
        return value

    def eval_arg(self, dot, typ, node):
        self.at(node)
        if isinstance(node, DotNode):
            return self.validate_type(dot, typ)
        if isinstance(node, NilNode):
            if typ is not None and typ.can_be_nil:
                return typ.zero()
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(node, FieldNode):
            return self.validate_type(self.eval_field_node(dot, node, [node], _MISSING), typ)
        if isinstance(node, VariableNode):
            return self.validate_type(self.eval_variable_node(dot, node, None, _MISSING), typ)
        if isinstance(node, PipeNode):
            return self.validate_type(self.eval_pipeline(dot, node), typ)
        if isinstance(node, IdentifierNode):
            return self.validate_type(self.eval_function(dot, node, node, None, _MISSING), typ)
        if isinstance(node, ChainNode):
            return self.validate_type(self.eval_chain_node(dot, node, None, _MISSING), typ)
        kind = typ.kind if typ is not None else None
        if kind == "bool":
            if isinstance(node, BoolNode):
                return node.value
            self.errorf(f"expected bool; found {node}")
        if kind == "float":
            if isinstance(node, NumberNode) and node.is_float:
                return node.float64
            self.errorf(f"expected float; found {node}")
        if kind == "int":
            if isinstance(node, NumberNode) and node.is_int:
                return node.int64
            self.errorf(f"expected integer; found {node}")
        if kind in ("iface", "value"):
            return self.eval_empty_interface(dot, node)
        if kind == "string":
            if isinstance(node, StringNode):
                return node.text
            self.errorf(f"expected string; found {node}")
        self.errorf(f"can't handle {node} for arg of type {typ}")

    def eval_empty_interface(self, dot, node):
        self.at(node)
        if isinstance(node, BoolNode):
            return node.value
        if isinstance(node, NumberNode):
            return self.ideal_constant(node)
        if isinstance(node, StringNode):
            return node.text
        self.errorf(f"can't handle assignment of {node} to empty interface argument")

    def validate_type(self, value, typ):
        """Check that ``value`` can be passed as ``typ`` (None: anything)."""
        if typ is None:
            return value
        if value is NO_VALUE:
            if typ.can_be_nil:
                return typ.zero()
            self.errorf(f"invalid value; expected {typ}")
        if typ.kind in ("iface", "value"):
            return unbox(value)
        if value is None:
            self.errorf(f"wrong type for value; expected {typ}; got interface {{}}")
        value = unbox(value)
        if not typ.accepts(value):
            self.errorf(f"wrong type for value; expected {typ}; got {type_name(value)}")
        return value


def _box(value, holds_interfaces):
    """An element read from a container of interface {} values."""
    if not holds_interfaces or value is None or isinstance(value, Iface):
        return value
    return Iface(value)


def _find_method(receiver, name):
    methods = getattr(type(receiver), "go_methods", None)
    if not methods or name not in methods:
        return None
    method = methods[name]
    return method.bound(receiver)

