"""Aligned columns the way the consul CLI prints its tables.

``consul members`` (and other listings) join the fields of each row with
``|`` and hand the rows to the ``columnize`` Go package (v2.1.0 in Consul
1.10) with its defaults. Its rules, which show in the output byte for byte:

* every row is split at each ``|``, so a ``|`` inside a value makes an extra
  column; each field is stripped of surrounding white space;
* a column is as wide as its longest field *in bytes* of UTF-8, while Go's
  ``%-*s`` pads by *characters*: a field with non-ASCII text widens its
  column by more than it needs;
* every field but the last of its row is padded to the column width and
  followed by two spaces, so a row whose last fields are empty ends in
  spaces; the last field of a row is never padded;
* rows are joined with newlines, with no newline after the last one.
"""

DELIMITER = "|"
GLUE = "  "

# Go's unicode.IsSpace (what strings.TrimSpace removes). Python's str.strip()
# would also remove the ASCII separators \x1c-\x1f, which Go keeps.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
           "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _fields(row):
    return [field.strip(GO_SPACE) for field in row.split(DELIMITER)]


def _byte_length(text):
    return len(text.encode("utf-8", "surrogateescape"))


def columnize(rows):
    """rows ("a|b|c" strings) laid out in columns; no final newline."""
    split_rows = [_fields(row) for row in rows]
    widths = []
    for fields in split_rows:
        for index, field in enumerate(fields):
            if index == len(widths):
                widths.append(0)
            widths[index] = max(widths[index], _byte_length(field))
    lines = []
    for fields in split_rows:
        padded = [field.ljust(widths[index]) + GLUE for index, field in enumerate(fields[:-1])]
        lines.append("".join(padded) + fields[-1])
    return "\n".join(lines)
