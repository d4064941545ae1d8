"""A site whose self-signed certificate expires tomorrow: a warning issue opens once, and a
renewed certificate resolves it; a certificate nobody trusts is a TLS failure."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from tests.alerts.receivers import self_signed_certificate
from tests.uptime.bench import UptimeBench
from tests.uptime.servers import Site

from vedette.storage.database import Database

pytestmark = pytest.mark.time_sensitive  # openssl signs against the wall clock


def certificate(directory: Path, days: int) -> tuple[Path, Path]:
    """A certificate for localhost valid for ``days``."""
    directory.mkdir(parents=True, exist_ok=True)
    if days == 1:
        return self_signed_certificate(directory)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", str(days), "-subj", "/CN=localhost", "-keyout", str(key),
         "-out", str(cert), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def trusting(*certificates: Path) -> ssl.SSLContext:
    context = ssl.create_default_context()
    for cert in certificates:
        context.load_verify_locations(cafile=str(cert))
    return context


def test_an_expiring_certificate_raises_one_warning_and_a_renewal_resolves_it(
    db: Database, tmp_path: Path
) -> None:
    expiring = certificate(tmp_path / "old", days=1)
    renewed = certificate(tmp_path / "new", days=90)
    bench = UptimeBench(db, ssl_context=trusting(expiring[0], renewed[0]))
    bench.rule("uptime")
    with Site(certificate=expiring) as site:
        monitor = bench.monitor(f"{site.url}/", interval_seconds=60)
        bench.step()
        [check] = bench.checks(monitor)
        assert check.ok and check.certificate_expires_at is not None
        assert 0 < check.certificate_expires_at - bench.clock.now <= 86400 + 60
        [warning] = bench.issues()
        assert warning["level"] == "warning" and warning["status"] == "unresolved"
        assert warning["title"] == f"Uptime: the TLS certificate of {site.url}/ expires soon"
        bench.step(60)
        assert bench.issues()[0]["times_seen"] == 1  # one warning, not one per check
        assert [m["action"] for m in bench.messages()] == ["trigger"]
        site.renew(renewed)
        bench.step(60)
        assert bench.issues()[0]["status"] == "resolved"
        assert bench.state(monitor).tls_issue_id is None
        assert [m["action"] for m in bench.messages()] == ["trigger", "resolve"]
    bench.close()


def test_a_certificate_nobody_trusts_is_a_tls_failure(db: Database, tmp_path: Path) -> None:
    bench = UptimeBench(db)
    with Site(certificate=certificate(tmp_path, days=1)) as site:
        monitor = bench.monitor(site.url, failure_threshold=1)
        bench.step()
        [check] = bench.checks(monitor)
        assert (check.ok, check.error_class) == (False, "tls")
        assert "certificate" in (check.error or "").lower()
    bench.close()
