"""Code both sides of the wire run: the server (``vedette.processing``) and the client kit
(``vedette.kit``).

A leaf of the layering: modules here import the standard library only and nothing of vedette,
so the kit can use them without loading the server and the server without loading the kit
(whose package imports ``sentry_sdk``). tests/test_architecture.py checks both.
"""
