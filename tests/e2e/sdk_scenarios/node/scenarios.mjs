// Drive the real @sentry/node through every scenario of tests/fixtures/corpora/sdk-node.
//
//   node scenarios.mjs --list
//   node scenarios.mjs DSN NAME
//   node scenarios.mjs --next      (then {"dsn": ..., "scenario": ...} on stdin)
//
// With --next the process imports the SDK first and then waits for its scenario on stdin, so a
// test can start the next process while the current scenario runs.
//
// One scenario per process: the SDK is initialised inside the scenario with the DSN given,
// its own HTTP transport sends every envelope, and the process flushes and closes the client
// before it exits (the uncaught_exception scenario exits through the SDK, with code 1).
//
// The scenarios reproduce what the corpus generator (gen_node.mjs) did: same release and
// environment, same errors, messages, fingerprints, tags and users, and the same code layout
// (a table of scenarios whose `run` methods are called from runChild), so the grouping the
// corpus manifest expects holds for these events too.

import * as Sentry from "@sentry/node";

const RELEASE = "corpora-shop-node@2.3.0";
const ENVIRONMENT = "corpora";
const SERVER_NAME = "corpora-host";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Code that fails on purpose (keep layout stable: grouping looks at frames).
// ---------------------------------------------------------------------------

function readCustomerName(order) {
  return order.customer.name; // TypeError when customer is null
}

function buildInvoiceLine(order) {
  const name = readCustomerName(order);
  return `${order.id};${name}`;
}

function exportInvoices(orders) {
  return orders.map((order) => buildInvoiceLine(order));
}

function captureNestedTypeError(Sentry) {
  try {
    exportInvoices([{ id: 7, customer: null }]);
  } catch (err) {
    Sentry.captureException(err);
  }
}

async function orderSpans(Sentry) {
  await Sentry.startSpan({ name: "orders:7", op: "cache.get" }, async () => {
    await sleep(4);
  });
  await Sentry.startSpan(
    { name: "SELECT * FROM orders WHERE id = $1", op: "db.query", attributes: { "db.system": "postgresql" } },
    async () => {
      await sleep(3);
      await Sentry.startSpan({ name: "GET https://payments.example.com/v1/charges/ch_7", op: "http.client" }, async () => {
        await sleep(2);
      });
    },
  );
  Sentry.startSpan({ name: "serialize order", op: "serialize" }, () => JSON.stringify({ id: 7, lines: [1, 2] }));
}

// ---------------------------------------------------------------------------
// Scenarios: `run(Sentry, init)` must call init() first.
// ---------------------------------------------------------------------------

const SCENARIOS = {
  type_error_nested: {
    async run(Sentry, init) {
      init();
      captureNestedTypeError(Sentry);
    },
  },
  type_error_twice: {
    async run(Sentry, init) {
      init();
      captureNestedTypeError(Sentry);
      captureNestedTypeError(Sentry);
    },
  },
  capture_message: {
    async run(Sentry, init) {
      init();
      Sentry.captureMessage("Webhook queue drained");
      Sentry.captureMessage("Slow checkout: 4200 ms", "warning");
    },
  },
  fingerprint: {
    async run(Sentry, init) {
      init();
      Sentry.captureException(new Error("stripe: card_declined"), { fingerprint: ["payment-error", "stripe"] });
      Sentry.captureException(new RangeError("amount out of range: -5"), { fingerprint: ["payment-error", "stripe"] });
    },
  },
  scope_data: {
    async run(Sentry, init) {
      init();
      Sentry.setUser({ id: "42", email: "jane@example.com", username: "jane", ip_address: "198.51.100.23" });
      Sentry.setTag("tenant", "acme");
      Sentry.setTags({ feature: "checkout", plan: "pro" });
      Sentry.setContext("order", { id: 9001, total_cents: 4999, currency: "EUR" });
      Sentry.setExtra("retry_count", 2);
      Sentry.addBreadcrumb({ category: "auth", message: "User jane logged in", level: "info" });
      Sentry.addBreadcrumb({ type: "http", category: "fetch", data: { method: "GET", url: "https://api.example.com/cart", status_code: 200 } });
      Sentry.addBreadcrumb({ category: "ui.click", message: "button#checkout", level: "debug" });
      Sentry.captureException(new Error("cart 9001 has no shipping address"));
    },
  },
  transaction_spans: {
    async run(Sentry, init) {
      init({ tracesSampleRate: 1.0 });
      await Sentry.startSpan(
        { name: "GET /api/orders/:id", op: "http.server", attributes: { "http.request.method": "GET" } },
        async () => {
          Sentry.setTag("route.group", "orders");
          await orderSpans(Sentry);
        },
      );
    },
  },
  transaction_spans_static: {
    async run(Sentry, init) {
      init({ tracesSampleRate: 1.0, traceLifecycle: "static" });
      await Sentry.startSpan(
        { name: "GET /api/orders/:id", op: "http.server", attributes: { "http.request.method": "GET" } },
        async () => {
          Sentry.setTag("route.group", "orders");
          await orderSpans(Sentry);
        },
      );
    },
  },
  error_in_span: {
    async run(Sentry, init) {
      init({ tracesSampleRate: 1.0 });
      await Sentry.startSpan({ name: "POST /api/orders/:id/reserve", op: "http.server" }, async (root) => {
        try {
          await Sentry.startSpan({ name: "reserve stock", op: "inventory.reserve" }, async () => {
            await sleep(2);
            throw new Error("inventory service refused reservation");
          });
        } catch (err) {
          Sentry.captureException(err);
          root.setStatus({ code: 2, message: "internal_error" });
        }
      });
    },
  },
  check_in: {
    async run(Sentry, init) {
      init();
      const checkInId = Sentry.captureCheckIn(
        { monitorSlug: "nightly-invoice-node", status: "in_progress" },
        {
          schedule: { type: "crontab", value: "0 2 * * *" },
          checkinMargin: 5,
          maxRuntime: 30,
          timezone: "Europe/Vienna",
        },
      );
      Sentry.captureCheckIn({ checkInId, monitorSlug: "nightly-invoice-node", status: "ok", duration: 12.5 });
    },
  },
  unicode_emoji: {
    async run(Sentry, init) {
      init();
      Sentry.setUser({ id: "u-ü", username: "Jürgen 🦊" });
      Sentry.addBreadcrumb({ category: "i18n", message: "Sprache gewechselt → Deutsch 🇩🇪" });
      Sentry.captureMessage("Paiement refusé: carte expirée 💳 — 支付失败 — Ошибка ✓", "warning");
      Sentry.captureException(new Error("ungültige Eingabe: «naïve» 🚀"));
    },
  },
  client_report: {
    async run(Sentry, init) {
      init({ beforeSend: (event) => ((event.message || "").startsWith("drop") ? null : event) });
      Sentry.captureMessage("drop: health check ok");
      Sentry.captureMessage("drop: health check ok again");
      Sentry.captureMessage("kept: order 3 shipped late");
    },
  },
  logs: {
    async run(Sentry, init) {
      init({ enableLogs: true });
      Sentry.logger.info(Sentry.logger.fmt`Order ${17} created for ${"acme"}`);
      Sentry.logger.warn("Stock low", { sku: "SKU-7", left: 2 });
      Sentry.logger.error("Carrier DHL timed out");
    },
  },
  uncaught_exception: {
    uncaught: true,
    async run(Sentry, init) {
      init();
      setTimeout(() => exportInvoices([{ id: 8, customer: null }]), 0);
      await sleep(1000);
    },
  },
};

// ---------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------

async function runChild(dsn, name) {
  const spec = SCENARIOS[name];
  if (!spec) {
    console.error(`unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(SCENARIOS).join(", ")}`);
    process.exit(2);
  }
  const init = (options = {}) => {
    Sentry.init({
      dsn,
      release: RELEASE,
      environment: ENVIRONMENT,
      serverName: SERVER_NAME,
      ...options,
    });
  };
  await spec.run(Sentry, init);
  await Sentry.flush(5000);
  await Sentry.close(5000);
}

async function readRequest() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

const argv = process.argv.slice(2);
if (argv[0] === "--list") {
  console.log(Object.keys(SCENARIOS).join("\n"));
} else if (argv[0] === "--next" && argv.length === 1) {
  const request = await readRequest();
  await runChild(request.dsn, request.scenario);
} else if (argv.length !== 2) {
  console.error("usage: node scenarios.mjs DSN SCENARIO | node scenarios.mjs --next | node scenarios.mjs --list");
  process.exit(2);
} else {
  await runChild(argv[0], argv[1]);
}
