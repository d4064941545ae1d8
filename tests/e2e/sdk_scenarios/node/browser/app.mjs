// A browser page instrumented with @sentry/browser, bundled by esbuild for the Chromium tests
// (tests/ui/test_browser_sdk.py). The page's query string carries the DSN; each step is a
// function the test calls, so the test decides the order and waits for each to be sent.
import * as Sentry from "@sentry/browser";

const dsn = new URLSearchParams(window.location.search).get("dsn");

Sentry.init({
  dsn,
  release: "browser-shop@1.4.0",
  environment: "production",
  enableLogs: true,
  tracesSampleRate: 1.0,
  integrations: [Sentry.browserTracingIntegration({ idleTimeout: 300, finalTimeout: 5000 })],
});

function checkout(orderId) {
  Sentry.logger.info(Sentry.logger.fmt`Checkout started for order ${orderId}`, { cart_size: 3 });
  Sentry.logger.warn("Payment provider slow", { provider: "acme-pay", latency_ms: 812 });
}

window.shop = {
  checkout,
  feedback(message) {
    return Sentry.captureFeedback({
      name: "Ada Shopper",
      email: "ada@example.com",
      message,
    });
  },
  crash(message) {
    // Uncaught: the global handler reports it with mechanism.handled = false.
    setTimeout(() => {
      throw new Error(message);
    }, 0);
  },
  tracing() {
    return Boolean(Sentry.getActiveSpan());
  },
  flush() {
    return Sentry.flush(5000);
  },
};
