// MSAL Node confidential client flows (seeds 000 and 001) against Tessera:
// client credentials with a secret from .env and with a certificate
// (SHA-256 and SHA-1 thumbprints, and a wrong thumbprint refused),
// on-behalf-of in the seed's web app -> web API -> downstream API chain,
// and seed 000's refresh token redemption by a confidential client.
//
// Configuration: .env holds clientSecret (the daemon's), webClientSecret,
// oboWebAppSecret and oboWebApiSecret; the environment AUTHORITY,
// KNOWN_AUTHORITY, PROTOCOL_MODE, DAEMON_CLIENT_ID, FILES_SCOPE,
// CERT_KEY_FILE, CERT_SHA256, CERT_SHA1, WRONG_CERT_SHA256, WRONG_CERT_SHA1,
// WEB_CLIENT_ID, WEB_SCOPE, OBO_WEB_APP_CLIENT_ID, OBO_WEB_API_CLIENT_ID,
// OBO_WEB_API_SCOPE, DOWNSTREAM_SCOPE.
import "dotenv/config"; // process.env now has the values defined in a .env file
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as msal from "@azure/msal-node";
import { browse, claims, env, steps } from "./lib/driver.mjs";

const protocolMode = process.env.PROTOCOL_MODE || undefined;
const system = protocolMode ? { protocolMode } : {};
const authority = env("AUTHORITY");
const knownAuthorities = [env("KNOWN_AUTHORITY")];
const redirectUri = "http://localhost:3000/redirect";

function summary(res) {
  const at = claims(res.accessToken);
  return {
    scopes: res.scopes,
    fromCache: res.fromCache,
    claims: at,
    account: res.account ? res.account.username : null,
  };
}

// expectRejected runs fn, which must fail with the given server error code.
async function expectRejected(fn, errorCode) {
  try {
    await fn();
  } catch (err) {
    assert.equal(err.errorCode, errorCode, `${err.name} ${err.errorCode}: ${err.message}`);
    return { name: err.name, errorCode: err.errorCode, errorMessage: err.errorMessage };
  }
  assert.fail(`MSAL returned a token; want ${errorCode}`);
}

// certificateApp is the daemon with a clientCertificate credential.
function certificateApp(clientCertificate) {
  return new msal.ConfidentialClientApplication({
    auth: {
      clientId: env("DAEMON_CLIENT_ID"),
      authority,
      knownAuthorities,
      clientCertificate: { ...clientCertificate, privateKey: readFileSync(env("CERT_KEY_FILE"), "utf8") },
    },
    system,
  });
}

let refreshToken;

await steps([
  ["acquireTokenByClientCredential secret from .env", async () => {
    assert.ok(process.env.clientSecret, "dotenv loaded clientSecret from .env");
    const config = {
      auth: {
        clientId: env("DAEMON_CLIENT_ID"),
        authority,
        knownAuthorities,
        clientSecret: process.env.clientSecret,
      },
      system,
    };

    // Create msal application object
    const cca = new msal.ConfidentialClientApplication(config);

    // With client credentials flows permissions need to be granted in the portal by a tenant administrator.
    // The scope is always in the format "<resource>/.default"
    const clientCredentialRequest = {
      scopes: [env("FILES_SCOPE")], // replace with your resource
    };
    const res = await cca.acquireTokenByClientCredential(clientCredentialRequest);
    assert.equal(res.fromCache, false);
    const again = await cca.acquireTokenByClientCredential(clientCredentialRequest);
    return { ...summary(res), secondFromCache: again.fromCache };
  }],

  ["acquireTokenByClientCredential certificate thumbprintSha256", async () => {
    const cca = certificateApp({ thumbprintSha256: env("CERT_SHA256") });
    const res = await cca.acquireTokenByClientCredential({ scopes: [env("FILES_SCOPE")] });
    return summary(res);
  }],

  ["acquireTokenByClientCredential certificate thumbprint (SHA-1)", async () => {
    const cca = certificateApp({ thumbprint: env("CERT_SHA1") });
    const res = await cca.acquireTokenByClientCredential({ scopes: [env("FILES_SCOPE")] });
    return summary(res);
  }],

  ["wrong certificate thumbprint rejected", async () => {
    // The registered key signs, but the header names a certificate the
    // app does not have (another certificate's thumbprints).
    const sha256 = await expectRejected(
      () => certificateApp({ thumbprintSha256: env("WRONG_CERT_SHA256") }).acquireTokenByClientCredential({ scopes: [env("FILES_SCOPE")] }),
      "invalid_client");
    const sha1 = await expectRejected(
      () => certificateApp({ thumbprint: env("WRONG_CERT_SHA1") }).acquireTokenByClientCredential({ scopes: [env("FILES_SCOPE")] }),
      "invalid_client");
    return { sha256, sha1 };
  }],

  ["acquireTokenOnBehalfOf web app -> web API -> downstream API", async () => {
    // The seed's chain. The web app, a confidential client, signs the user
    // in (authorization code, in the browser) and gets a token for the web
    // API ...
    const webApp = new msal.ConfidentialClientApplication({
      auth: { clientId: env("OBO_WEB_APP_CLIENT_ID"), authority, knownAuthorities, clientSecret: process.env.oboWebAppSecret },
      system,
    });
    const scopes = [env("OBO_WEB_API_SCOPE")];
    const url = await webApp.getAuthCodeUrl({ scopes, redirectUri });
    const code = new URL(await browse(url, redirectUri)).searchParams.get("code");
    assert.ok(code, "the web app got a code");
    const a = await webApp.acquireTokenByCode({ code, redirectUri, scopes });

    // ... which it calls with that token; the web API, a confidential
    // client too, calls the downstream API on the user's behalf.
    const webApi = new msal.ConfidentialClientApplication({
      auth: { clientId: env("OBO_WEB_API_CLIENT_ID"), authority, knownAuthorities, clientSecret: process.env.oboWebApiSecret },
      system,
    });
    const oboRequest = { oboAssertion: a.accessToken, scopes: [env("DOWNSTREAM_SCOPE")] };
    const res = await webApi.acquireTokenOnBehalfOf(oboRequest);
    assert.equal(res.fromCache, false);
    const again = await webApi.acquireTokenOnBehalfOf(oboRequest);
    return { a: claims(a.accessToken), ...summary(res), secondFromCache: again.fromCache };
  }],

  ["getAuthCodeUrl+acquireTokenByCode confidential", async () => {
    const cca = new msal.ConfidentialClientApplication({
      auth: { clientId: env("WEB_CLIENT_ID"), authority, knownAuthorities, clientSecret: process.env.webClientSecret },
      system,
    });
    const scopes = [env("WEB_SCOPE")];
    const url = await cca.getAuthCodeUrl({ scopes, redirectUri });
    const code = new URL(await browse(url, redirectUri)).searchParams.get("code");
    const res = await cca.acquireTokenByCode({ code, redirectUri, scopes });
    const cache = JSON.parse(cca.getTokenCache().serialize());
    refreshToken = Object.values(cache.RefreshToken || {})[0]?.secret;
    assert.ok(refreshToken, "MSAL cached a refresh token");
    return summary(res);
  }],

  ["acquireTokenByRefreshToken confidential (seed 000)", async () => {
    const config = {
      auth: {
        clientId: env("WEB_CLIENT_ID"),
        authority: env("AUTHORITY"),
        clientSecret: process.env.webClientSecret,
        knownAuthorities,
      },
      system,
    };
    const cca = new msal.ConfidentialClientApplication(config);
    const refreshTokenRequest = {
      refreshToken,
      scopes: [env("WEB_SCOPE")],
    };
    const res = await cca.acquireTokenByRefreshToken(refreshTokenRequest);
    assert.ok(res.accessToken);
    return summary(res);
  }],
]);
