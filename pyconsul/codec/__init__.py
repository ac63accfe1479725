"""Bytes <-> messages for each wire. Every decoder raises one error type on
bad input and nothing else, so an adapter can count and drop what it cannot
read."""
