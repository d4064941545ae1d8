// A real OpenID Connect provider (the certified `oidc-provider`) on loopback, for the single
// sign-on tests. Usage: node provider.mjs CONFIG.json; prints "ready" once it listens.
//
// CONFIG: {port, issuer, client: {client_id, client_secret, redirect_uris}, jwks: {keys: [...]},
// accounts: {id: {email, email_verified, name}}}. The signing keys come from the test, so that it
// can mint tokens the provider's published JWKS vouches for.
//
// Besides the provider itself, four hooks for the tests (loopback only, this process only):
// - the sign-in page: GET /interaction/:uid shows one form (an account id), POST signs that
//   account in and grants the requested scopes (no password: the tests are about Vedette);
// - POST /_test/next-id-token (body: a compact JWT) queues an ID token that replaces the one of
//   the next token response, so the tests can hand Vedette's callback a forged token through
//   the real code exchange;
// - POST /_test/accounts/:id (JSON claims) changes an account's claims;
// - POST /_test/published-keys (a JSON public JWK) adds it to the JWKS, as a key rotation would.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;
const queuedIdTokens = [];
const extraPublishedKeys = [];

const provider = new Provider(config.issuer, {
  clients: [{
    ...config.client,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: config.jwks,
  pkce: { required: () => true },
  // The scope's claims (email, name) go into the ID token, as Keycloak and Google do.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  cookies: { keys: ['vedette-sso-tests'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    if (!(id in accounts)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) };
  },
});

async function readBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const page = (uid) => `<!doctype html><html><head><title>Test provider sign-in</title></head>
<body><form method="post" action="/interaction/${uid}">
<label>Account <input name="login" autofocus></label>
<button type="submit">Sign in at the provider</button></form></body></html>`;

provider.use(async (ctx, next) => {
  const interaction = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (interaction && ctx.method === 'GET') {
    await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = page(interaction[1]);
    return;
  }
  if (interaction && ctx.method === 'POST') {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = new URLSearchParams(await readBody(ctx)).get('login');
    if (!(accountId in accounts)) {
      ctx.status = 400;
      ctx.body = 'unknown account';
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return;
  }
  if (ctx.path === '/_test/next-id-token' && ctx.method === 'POST') {
    queuedIdTokens.push((await readBody(ctx)).trim());
    ctx.status = 204;
    return;
  }
  const account = ctx.path.match(/^\/_test\/accounts\/([\w-]+)$/);
  if (account && ctx.method === 'POST') {
    accounts[account[1]] = JSON.parse(await readBody(ctx));
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/_test/published-keys' && ctx.method === 'POST') {
    extraPublishedKeys.push(JSON.parse(await readBody(ctx)));
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && queuedIdTokens.length > 0) {
    ctx.body = { ...ctx.body, id_token: queuedIdTokens.shift() };
  }
  if (ctx.path === '/jwks' && ctx.status === 200 && extraPublishedKeys.length > 0) {
    ctx.body = { keys: [...ctx.body.keys, ...extraPublishedKeys] };
  }
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
