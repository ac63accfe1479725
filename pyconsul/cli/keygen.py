"""``pyconsul keygen``: a new gossip encryption key.

The key is 32 random bytes (AES-256) from the operating system, in standard
base64 -- the form ``-encrypt`` and the ``encrypt`` configuration key take.
It is made here rather than by the gossip codec so that the command stays
free of the cryptography package.
"""

import base64
import os

from pyconsul.cli.command import Command

KEY_SIZE = 32


def new_key(random_bytes=os.urandom):
    return base64.b64encode(random_bytes(KEY_SIZE)).decode("ascii")


class KeygenCommand(Command):
    synopsis = "Generates a new gossip encryption key"
    usage = """
Usage: {prog} keygen

  Prints a new random key for encrypting gossip traffic, ready to be given
  to every agent of the cluster with -encrypt (or "encrypt" in a
  configuration file).
"""

    def __init__(self, random_bytes=os.urandom):
        self.random_bytes = random_bytes

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
        try:
            key = new_key(self.random_bytes)
        except OSError as error:
            console.err("Error reading random data: %s" % error)
            return 1
        console.out(key)
        return 0


command = KeygenCommand()
