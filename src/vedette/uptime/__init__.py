"""Uptime monitors: HTTP(S) checks run by the worker off its batch loop, their results, the
down / up state machine that opens and resolves uptime issues, and what the pages show.

A consumer like alerts: it reads and writes storage, and hands the issues it stores to the
alert rules. See docs/uptime.md.
"""
