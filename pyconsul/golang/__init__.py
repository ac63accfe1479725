"""The parts of Go's standard library whose exact behaviour pyconsul must share.

Consul and confd are Go programs. The values they accept, the text they print
and the wording of their errors come from Go's ``strconv``, ``time``,
``encoding/json`` and ``encoding/base64`` packages, and scripts and clients
depend on every detail. These modules reproduce those details once, for the
CLI, the HTTP API and the template engine:

- :mod:`~pyconsul.golang.strconv`: numbers, booleans, quoting and unquoting;
- :mod:`~pyconsul.golang.duration`: ``time.ParseDuration``, ``Duration.String``,
  ``Duration.Round`` and the rest of its arithmetic;
- :mod:`~pyconsul.golang.timefmt`: the ``time`` package's calendar and ``Time.Format``;
- :mod:`~pyconsul.golang.json`: the encoder, the scanner's syntax errors, ``Unmarshal``;
- :mod:`~pyconsul.golang.gostruct`: ``json.Decoder.Decode`` into Go structs, with
  encoding/json's matching of keys and its error texts;
- :mod:`~pyconsul.golang.base64`: ``StdEncoding`` with Go's error offsets;
- :mod:`~pyconsul.golang.errors`: :class:`GoError`, the base of all their errors.

A Go string holds arbitrary bytes; here it is a ``str`` in which bytes that
are not valid UTF-8 appear as lone surrogates (Python's ``surrogateescape``).

Only the standard library is used, and this file imports nothing, so that the
command-line tool starts quickly.
"""
