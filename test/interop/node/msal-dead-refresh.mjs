// A dead refresh token makes MSAL Node raise InteractionRequiredAuthError
// (what an app answers by signing the user in again), not a server error:
// once for a token revoked at the revocation endpoint (RFC 7009), once for
// a token reused after rotation outside the server's grace window.
//
// Configuration: AUTHORITY, KNOWN_AUTHORITY, PROTOCOL_MODE, CLIENT_ID,
// SCOPE, REVOCATION_ENDPOINT, GRACE_MS.
import assert from "node:assert/strict";
import * as msal from "@azure/msal-node";
import { browse, env, sleep, steps } from "./lib/driver.mjs";

const protocolMode = process.env.PROTOCOL_MODE || undefined;
const scopes = [env("SCOPE")];
const redirectUri = "http://localhost:3000/redirect";
const crypto = new msal.CryptoProvider();

function newApp() {
  return new msal.PublicClientApplication({
    auth: { clientId: env("CLIENT_ID"), authority: env("AUTHORITY"), knownAuthorities: [env("KNOWN_AUTHORITY")] },
    system: protocolMode ? { protocolMode } : {},
  });
}

async function signIn(pca) {
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const url = await pca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: "S256" });
  const code = new URL(await browse(url, redirectUri)).searchParams.get("code");
  return pca.acquireTokenByCode({ code, redirectUri, scopes, codeVerifier: verifier });
}

function cachedRefreshToken(pca) {
  const cache = JSON.parse(pca.getTokenCache().serialize());
  const [rt] = Object.values(cache.RefreshToken || {});
  assert.ok(rt, "MSAL cached a refresh token");
  return rt.secret;
}

// expectInteraction runs fn and returns what MSAL threw, which must be an
// InteractionRequiredAuthError.
async function expectInteraction(fn) {
  try {
    await fn();
  } catch (err) {
    const seen = {
      name: err.name,
      isInteractionRequired: err instanceof msal.InteractionRequiredAuthError,
      errorCode: err.errorCode,
      subError: err.subError,
      errorMessage: err.errorMessage,
    };
    assert.ok(seen.isInteractionRequired, `not an InteractionRequiredAuthError: ${err.name} ${err.errorCode} ${err.message}`);
    return seen;
  }
  assert.fail("MSAL returned a token for a dead refresh token");
}

await steps([
  ["revoked refresh token", async () => {
    const pca = newApp();
    const res = await signIn(pca);
    const rt = cachedRefreshToken(pca);
    const revoke = await fetch(env("REVOCATION_ENDPOINT"), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: rt, token_type_hint: "refresh_token", client_id: env("CLIENT_ID") }),
    });
    assert.equal(revoke.status, 200, `revocation answered ${revoke.status}: ${await revoke.text()}`);
    const silent = await expectInteraction(() => pca.acquireTokenSilent({ account: res.account, scopes, forceRefresh: true }));
    const byRefreshToken = await expectInteraction(() => newApp().acquireTokenByRefreshToken({ refreshToken: rt, scopes }));
    return { silent, byRefreshToken };
  }],

  ["refresh token reused after rotation", async () => {
    const pca = newApp();
    const res = await signIn(pca);
    const old = cachedRefreshToken(pca);
    await pca.acquireTokenSilent({ account: res.account, scopes, forceRefresh: true });
    const current = cachedRefreshToken(pca);
    assert.notEqual(current, old, "rotated");
    await sleep(Number(env("GRACE_MS")) + 500);
    // The old token again, outside the grace window: a replay, which ends
    // the whole family ...
    const reused = await expectInteraction(() => newApp().acquireTokenByRefreshToken({ refreshToken: old, scopes }));
    // ... so the app's current token is dead too.
    const family = await expectInteraction(() => pca.acquireTokenSilent({ account: res.account, scopes, forceRefresh: true }));
    return { reused, family };
  }],
]);
