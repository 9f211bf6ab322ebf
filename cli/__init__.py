"""The ``supportbot`` command line: the composition root.

The only package that imports ``bot`` and ``trainer`` together; each command imports what it
needs inside its body, so `supportbot --help` stays fast. One module per command group.
"""
