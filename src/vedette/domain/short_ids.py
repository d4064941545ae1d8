"""Issue short ids as Sentry shows them: the project slug upper-cased and a base-36 number."""

from __future__ import annotations

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def short_id(project_slug: str, number: int) -> str:
    digits = ""
    while True:
        number, rem = divmod(number, 36)
        digits = _BASE36[rem] + digits
        if number == 0:
            break
    return f"{project_slug.upper()}-{digits}"
