// openid-client v5 (installed as the npm alias openid-client-v5) against
// Tessera, the same flows as openid-client-v6.mjs. v5 always verifies the
// ID token's signature (from the JWKS) and at_hash.
//
// Configuration: as openid-client-v6.mjs.
import assert from "node:assert/strict";
import { Issuer, generators } from "openid-client-v5";
import { approveDevice, browse, claims, env, steps } from "./lib/driver.mjs";

const redirectUri = "http://localhost:3000/redirect";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

let issuer;
let web;
let tokenSet;

await steps([
  ["discovery", async () => {
    issuer = await Issuer.discover(env("ISSUER"));
    web = new issuer.Client({
      client_id: env("WEB_CLIENT_ID"),
      client_secret: env("WEB_CLIENT_SECRET"),
      redirect_uris: [redirectUri],
      response_types: ["code"],
    });
    const md = issuer.metadata;
    return { issuer: md.issuer, token_endpoint: md.token_endpoint, device_authorization_endpoint: md.device_authorization_endpoint };
  }],

  ["authorization code + PKCE + nonce", async () => {
    const verifier = generators.codeVerifier();
    const nonce = generators.nonce();
    const state = generators.state();
    const url = web.authorizationUrl({
      scope: `openid profile email offline_access ${env("WEB_SCOPE")}`,
      code_challenge: generators.codeChallenge(verifier),
      code_challenge_method: "S256",
      nonce,
      state,
    });
    const callback = await browse(url, redirectUri);
    const params = web.callbackParams(callback);
    tokenSet = await web.callback(redirectUri, params, { code_verifier: verifier, nonce, state });
    const id = tokenSet.claims();
    assert.equal(id.nonce, nonce);
    assert.ok(tokenSet.refresh_token);
    return { idToken: id, access: claims(tokenSet.access_token), scope: tokenSet.scope, tokenType: tokenSet.token_type };
  }],

  ["refresh", async () => {
    // Given the whole TokenSet, v5 also checks that the new ID token has
    // the same subject.
    const refreshed = await web.refresh(tokenSet);
    const rotated = refreshed.refresh_token !== tokenSet.refresh_token;
    const subject = tokenSet.claims().sub;
    tokenSet = refreshed;
    assert.equal(refreshed.claims().sub, subject);
    return { idToken: refreshed.claims(), access: claims(refreshed.access_token), rotated };
  }],

  ["userinfo", async () => {
    // The API token's audience is the web API; userinfo takes a token
    // granted openid, which the same (multi-resource) refresh token gives.
    const signIn = await web.refresh(tokenSet.refresh_token, { exchangeBody: { scope: "openid profile email" } });
    return { userinfo: await web.userinfo(signIn.access_token), access: claims(signIn.access_token) };
  }],

  ["client credentials client_secret_basic", async () => {
    const daemon = new issuer.Client({
      client_id: env("DAEMON_CLIENT_ID"),
      client_secret: env("DAEMON_CLIENT_SECRET"),
      token_endpoint_auth_method: "client_secret_basic",
    });
    const res = await daemon.grant({ grant_type: "client_credentials", scope: env("FILES_SCOPE") });
    return { access: claims(res.access_token), scope: res.scope };
  }],

  ["client credentials private_key_jwt", async () => {
    const daemon = new issuer.Client(
      { client_id: env("KEY_CLIENT_ID"), token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "ES256" },
      { keys: [JSON.parse(env("PRIVATE_JWK"))] },
    );
    const res = await daemon.grant({ grant_type: "client_credentials", scope: env("FILES_SCOPE") });
    return { access: claims(res.access_token), scope: res.scope };
  }],

  ["device authorization", async () => {
    const native = new issuer.Client({ client_id: env("NATIVE_CLIENT_ID"), token_endpoint_auth_method: "none" });
    const handle = await native.deviceAuthorization({ scope: `openid offline_access ${env("WEB_SCOPE")}` });
    const approval = approveDevice(handle.verification_uri, handle.user_code);
    const res = await handle.poll();
    await approval;
    return { idToken: res.claims(), access: claims(res.access_token), refresh: Boolean(res.refresh_token), verificationUri: handle.verification_uri };
  }],

  ["token exchange", async () => {
    const res = await web.grant({
      grant_type: TOKEN_EXCHANGE,
      subject_token: tokenSet.access_token,
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      audience: env("DOWNSTREAM_AUDIENCE"),
    });
    return { access: claims(res.access_token), subject: claims(tokenSet.access_token), issuedTokenType: res.issued_token_type, scope: res.scope };
  }],
]);
