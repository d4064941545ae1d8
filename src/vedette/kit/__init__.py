"""vedette.kit: error and performance monitoring for FastAPI apps, for any Sentry-compatible DSN.

```python
settings = MonitoringSettings()          # SENTRY_DSN, ENVIRONMENT, APP_VERSION, ...
init_monitoring(settings)                # first, before FastAPI() and the routers
app = instrument_app(FastAPI(lifespan=monitoring_lifespan()))
```

Imports nothing from the Vedette server (tests/test_architecture.py checks), so an app can
install ``vedette[kit]`` without pulling the server's dependencies into its code paths.
"""

from vedette.kit.context import (
    monitored_user,
    report_exception,
    report_message,
    set_process_tags,
    set_user_context,
    user_from_request_state,
)
from vedette.kit.errors import (
    ExpectedError,
    expect_errors,
    expected_error_handler,
    unexpected_error_handler,
)
from vedette.kit.feedback import send_feedback
from vedette.kit.instrument import instrument_app
from vedette.kit.middleware import RequestContextMiddleware
from vedette.kit.sampling import PathSampler
from vedette.kit.scrub import Scrubber
from vedette.kit.settings import MonitoringSettings
from vedette.kit.setup import (
    flush_monitoring,
    init_monitoring,
    is_monitoring,
    monitoring_lifespan,
    shutdown_monitoring,
)
from vedette.kit.tracing import background_transaction, span, traced

__all__ = [
    "ExpectedError",
    "MonitoringSettings",
    "PathSampler",
    "RequestContextMiddleware",
    "Scrubber",
    "background_transaction",
    "expect_errors",
    "expected_error_handler",
    "flush_monitoring",
    "init_monitoring",
    "instrument_app",
    "is_monitoring",
    "monitored_user",
    "monitoring_lifespan",
    "report_exception",
    "report_message",
    "send_feedback",
    "set_process_tags",
    "set_user_context",
    "shutdown_monitoring",
    "span",
    "traced",
    "unexpected_error_handler",
    "user_from_request_state",
]
