"""Normalisers for the event interfaces, one module per interface.

Each function takes one untrusted value, the path where it sits in the event and the ``Notes``
collecting errors and ``_meta``; it returns the normalised value or None when nothing valid is
left. Unknown keys inside interfaces are dropped silently (Relay's RemoveOtherProcessor); only
unknown *top-level* keys become errors (that is the caller's job).
"""
