// The real @sentry/node sends, for each map of values given, one error carrying the values in
// extra, a context, breadcrumbs, the request (headers, query string, cookies) and the
// exception's value.
//
//   NODE_PATH=tests/e2e/sdk_scenarios/node/node_modules node node_secrets.cjs DSN '[{...}, ...]'
//
// Prints the event ids, one a line.
const Sentry = require("@sentry/node");

function send(values) {
  const entries = Object.entries(values);
  const joined = entries.map(([, value]) => value).join(" | ");
  return Sentry.withScope((scope) => {
    scope.setContext("gateway", values);
    for (const [name, value] of entries) {
      scope.setExtra(`note_${name}`, value);
      scope.addBreadcrumb({ category: "privacy-test", message: value, data: { target: value } });
    }
    scope.addEventProcessor((event) => {
      event.request = {
        url: "https://shop.example/pay",
        method: "POST",
        query_string: entries.map(([, value], i) => `q${i}=${encodeURIComponent(value)}`).join("&"),
        headers: Object.fromEntries(entries.map(([, value], i) => [`X-Note-${i}`, value])),
        cookies: Object.fromEntries(entries.map(([, value], i) => [`pref${i}`, value])),
      };
      return event;
    });
    return Sentry.captureException(new Error(`gateway refused: ${joined}`));
  });
}

async function main() {
  const [dsn, mapsJson] = process.argv.slice(2);
  Sentry.init({ dsn, defaultIntegrations: false, sendDefaultPii: true });
  const ids = JSON.parse(mapsJson).map(send);
  await Sentry.close(10000);
  process.stdout.write(`${ids.join("\n")}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
