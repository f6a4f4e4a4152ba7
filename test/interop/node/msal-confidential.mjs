// MSAL Node confidential client flows (seeds 000 and 001) against Tessera:
// client credentials with a secret from .env and with a certificate
// (SHA-256 and SHA-1 thumbprints), on-behalf-of, and seed 000's refresh
// token redemption by a confidential client.
//
// Configuration: .env holds clientSecret (the daemon's) and webClientSecret;
// the environment AUTHORITY, KNOWN_AUTHORITY, PROTOCOL_MODE,
// DAEMON_CLIENT_ID, FILES_SCOPE, CERT_KEY_FILE, CERT_SHA256, CERT_SHA1,
// NATIVE_CLIENT_ID, WEB_CLIENT_ID, WEB_SCOPE, DOWNSTREAM_SCOPE.
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

// Signs the user in for the native app and returns its token for API A.
async function userTokenForA() {
  const pca = new msal.PublicClientApplication({
    auth: { clientId: env("NATIVE_CLIENT_ID"), authority, knownAuthorities },
    system,
  });
  const crypto = new msal.CryptoProvider();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const scopes = [env("WEB_SCOPE")];
  const url = await pca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: "S256" });
  const code = new URL(await browse(url, redirectUri)).searchParams.get("code");
  assert.ok(code);
  return pca.acquireTokenByCode({ code, redirectUri, scopes, codeVerifier: verifier });
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
    const cca = new msal.ConfidentialClientApplication({
      auth: {
        clientId: env("DAEMON_CLIENT_ID"),
        authority,
        knownAuthorities,
        clientCertificate: {
          thumbprintSha256: env("CERT_SHA256"),
          privateKey: readFileSync(env("CERT_KEY_FILE"), "utf8"),
        },
      },
      system,
    });
    const res = await cca.acquireTokenByClientCredential({ scopes: [env("FILES_SCOPE")] });
    return summary(res);
  }],

  ["acquireTokenByClientCredential certificate thumbprint (SHA-1)", async () => {
    const cca = new msal.ConfidentialClientApplication({
      auth: {
        clientId: env("DAEMON_CLIENT_ID"),
        authority,
        knownAuthorities,
        clientCertificate: {
          thumbprint: env("CERT_SHA1"),
          privateKey: readFileSync(env("CERT_KEY_FILE"), "utf8"),
        },
      },
      system,
    });
    const res = await cca.acquireTokenByClientCredential({ scopes: [env("FILES_SCOPE")] });
    return summary(res);
  }],

  ["acquireTokenOnBehalfOf", async () => {
    // The public client calls web API A with a user token ...
    const a = await userTokenForA();
    // ... and A, a confidential client, calls downstream API B as the user.
    const api = new msal.ConfidentialClientApplication({
      auth: { clientId: env("WEB_CLIENT_ID"), authority, knownAuthorities, clientSecret: process.env.webClientSecret },
      system,
    });
    const oboRequest = { oboAssertion: a.accessToken, scopes: [env("DOWNSTREAM_SCOPE")] };
    const res = await api.acquireTokenOnBehalfOf(oboRequest);
    assert.equal(res.fromCache, false);
    const again = await api.acquireTokenOnBehalfOf(oboRequest);
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
