"""Schemas: the shape of a filtered record, as go-bexpr sees the Go struct.

go-bexpr derives what a selector may reach, and which operators it allows,
from the Go type by reflection (``field_config.go``). A schema here is built
from the same few kinds, and each kind gets the operators go-bexpr gives it:

========================  ================================================  ========================
kind                      operators                                          further selectors
========================  ================================================  ========================
``STRING``                ``==``, ``!=``, in/contains, matches (+ negations)  none
``INT``, ``BOOL``         ``==``, ``!=`` (the value is parsed as Go does)     none
``List(primitive)``       in/contains, is empty (+ negations)                 none
``List(Struct)``          is empty, is not empty                              the struct's fields
``Map(value)``            is empty, in/contains on the keys (+ negations)     any key, then the value
``Struct(fields)``        none                                               its fields
========================  ================================================  ========================

Records are JSON-shaped Python values with the struct's field names. A field
missing from a struct (Go's ``omitempty``) or ``null`` reads as the zero value
of its kind, as the Go struct would hold it.
"""

from pyconsul.filter.grammar import EQUAL, IN, IS_EMPTY, IS_NOT_EMPTY, MATCHES, NOT_EQUAL, NOT_IN, NOT_MATCHES

__all__ = ["BOOL", "FLOAT", "INT", "STRING", "List", "Map", "Primitive", "Struct"]


class Primitive:
    """A string, integer, float or boolean field."""

    def __init__(self, name, operators):
        self.name = name
        self.operators = operators

    def subfields(self, name):
        return None

    def __repr__(self):
        return self.name


STRING = Primitive("STRING", (EQUAL, NOT_EQUAL, IN, NOT_IN, MATCHES, NOT_MATCHES))
INT = Primitive("INT", (EQUAL, NOT_EQUAL))
FLOAT = Primitive("FLOAT", (EQUAL, NOT_EQUAL))
BOOL = Primitive("BOOL", (EQUAL, NOT_EQUAL))


class List:
    """A Go slice. Selecting through it asks whether *any* element matches."""

    def __init__(self, element):
        self.element = element
        if isinstance(element, Primitive):
            self.operators = (IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY)
        else:
            self.operators = (IS_EMPTY, IS_NOT_EMPTY)

    def subfields(self, name):
        # A slice of primitives stops the selector; otherwise the selector
        # goes on into the element type, at the same position.
        if isinstance(self.element, Primitive):
            return None
        return self.element.subfields(name)

    def __repr__(self):
        return "List(%r)" % (self.element,)


class Map:
    """A Go map with string keys; any key may be selected."""

    operators = (IS_EMPTY, IS_NOT_EMPTY, IN, NOT_IN)

    def __init__(self, value):
        self.value = value

    def subfields(self, name):
        return self.value

    def __repr__(self):
        return "Map(%r)" % (self.value,)


class Struct:
    """A Go struct: ``fields`` maps each selectable name to its kind."""

    operators = ()

    def __init__(self, name, fields):
        self.name = name
        self.fields = dict(fields)

    def subfields(self, name):
        return self.fields.get(name)

    def __repr__(self):
        return self.name

