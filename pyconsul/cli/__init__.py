"""The ``pyconsul`` command line: Consul's CLI, flag for flag and line for line.

Only the standard library is imported here and in the modules the ``kv``
commands use, so that a short command starts fast and never pulls in Twisted.
"""
