"""``python -m examples.mailsink --port 8025 --dir DIR``: a local SMTP server for the demo.

It accepts every message, keeps it as ``DIR/NNNN.eml`` and prints its subject, so that
``vedette demo`` shows alert emails without a real mail server.
"""

from __future__ import annotations

import argparse
import threading
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Keeper:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = len(list(directory.glob("*.eml")))

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content
        self.count += 1
        path = self.directory / f"{self.count:04d}.eml"
        path.write_bytes(content)
        subject = message_from_bytes(content, policy=policy.default)["Subject"]
        print(f"demo mail to {', '.join(envelope.rcpt_tos)}: {subject} ({path})", flush=True)
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.mailsink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keeper(args.dir), hostname=args.host, port=args.port)
    controller.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
