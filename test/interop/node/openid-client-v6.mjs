// openid-client v6 against Tessera: discovery from the issuer URL, auth
// code + PKCE + nonce with ID token signature checks, refresh, userinfo,
// client credentials (client_secret_basic, and private_key_jwt with an
// ES256 key and with an Ed25519 key), device authorization, and RFC 8693
// token exchange.
//
// Configuration: ISSUER, WEB_CLIENT_ID, WEB_CLIENT_SECRET, WEB_SCOPE,
// NATIVE_CLIENT_ID, DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, KEY_CLIENT_ID,
// PRIVATE_JWK, KID, ED25519_CLIENT_ID, ED25519_PRIVATE_JWK, ED25519_KID,
// FILES_SCOPE, DOWNSTREAM_AUDIENCE.
import assert from "node:assert/strict";
import * as client from "openid-client";
import { approveDevice, browse, claims, env, steps } from "./lib/driver.mjs";

const issuer = new URL(env("ISSUER"));
const redirectUri = "http://localhost:3000/redirect";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

let web;
let tokens;

await steps([
  ["discovery", async () => {
    // Discovery fetches {issuer}/.well-known/openid-configuration and checks
    // that the document's issuer is the one asked for. The development CA
    // is trusted through NODE_EXTRA_CA_CERTS.
    web = await client.discovery(issuer, env("WEB_CLIENT_ID"), env("WEB_CLIENT_SECRET"));
    client.enableNonRepudiationChecks(web);
    const md = web.serverMetadata();
    return { issuer: md.issuer, token_endpoint: md.token_endpoint, device_authorization_endpoint: md.device_authorization_endpoint };
  }],

  ["authorization code + PKCE + nonce", async () => {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(web, {
      redirect_uri: redirectUri,
      scope: `openid profile email offline_access ${env("WEB_SCOPE")}`,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      nonce,
      state,
    });
    const callback = await browse(url, redirectUri);
    tokens = await client.authorizationCodeGrant(web, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      expectedState: state,
      idTokenExpected: true,
    });
    const id = tokens.claims();
    assert.equal(id.nonce, nonce);
    assert.ok(tokens.refresh_token, "a refresh token for offline_access");
    return { idToken: id, access: claims(tokens.access_token), scope: tokens.scope, tokenType: tokens.token_type };
  }],

  ["refresh", async () => {
    const refreshed = await client.refreshTokenGrant(web, tokens.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "rotated");
    const id = refreshed.claims();
    assert.equal(id.sub, tokens.claims().sub);
    const rotated = refreshed.refresh_token !== tokens.refresh_token;
    tokens = refreshed;
    return { idToken: id, access: claims(refreshed.access_token), rotated };
  }],

  ["userinfo", async () => {
    // The API token's audience is the web API; userinfo takes a token
    // granted openid, which the same (multi-resource) refresh token gives.
    const signIn = await client.refreshTokenGrant(web, tokens.refresh_token, { scope: "openid profile email" });
    const info = await client.fetchUserInfo(web, signIn.access_token, tokens.claims().sub);
    return { userinfo: info, access: claims(signIn.access_token) };
  }],

  ["client credentials client_secret_basic", async () => {
    const daemon = await client.discovery(issuer, env("DAEMON_CLIENT_ID"), undefined, client.ClientSecretBasic(env("DAEMON_CLIENT_SECRET")));
    const res = await client.clientCredentialsGrant(daemon, { scope: env("FILES_SCOPE") });
    return { access: claims(res.access_token), scope: res.scope };
  }],

  ["client credentials private_key_jwt", async () => {
    const jwk = JSON.parse(env("PRIVATE_JWK"));
    const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const daemon = await client.discovery(issuer, env("KEY_CLIENT_ID"), undefined, client.PrivateKeyJwt({ key, kid: env("KID") }));
    const res = await client.clientCredentialsGrant(daemon, { scope: env("FILES_SCOPE") });
    return { access: claims(res.access_token), scope: res.scope };
  }],

  ["client credentials private_key_jwt Ed25519", async () => {
    // oauth4webapi's own signing: PrivateKeyJwt names the algorithm from
    // the CryptoKey (keyToJws), which for a WebCrypto Ed25519 key is RFC
    // 9864's "Ed25519", not RFC 8037's "EdDSA". The assertion is read off
    // the token request as sent, to report which name it really carried.
    const jwk = JSON.parse(env("ED25519_PRIVATE_JWK"));
    const key = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
    const daemon = await client.discovery(issuer, env("ED25519_CLIENT_ID"), undefined, client.PrivateKeyJwt({ key, kid: env("ED25519_KID") }));
    const assertions = [];
    daemon[client.customFetch] = (url, options) => {
      const sent = new URLSearchParams(options.body).get("client_assertion");
      if (sent) assertions.push(sent);
      return fetch(url, options);
    };
    const res = await client.clientCredentialsGrant(daemon, { scope: env("FILES_SCOPE") }).catch(async (err) => {
      // A refused assertion is a 401 with a WWW-Authenticate challenge, which
      // openid-client throws before reading the body that says why.
      const body = await err.response?.text().catch(() => "");
      throw new Error(`${err.message}: ${err.response?.status} ${body}`, { cause: err });
    });
    assert.equal(assertions.length, 1, "one token request with a client assertion");
    const header = JSON.parse(Buffer.from(assertions[0].split(".")[0], "base64url").toString("utf8"));
    return {
      access: claims(res.access_token),
      scope: res.scope,
      assertionHeader: header,
      assertion: claims(assertions[0]),
      signingAlgs: daemon.serverMetadata().token_endpoint_auth_signing_alg_values_supported,
    };
  }],

  ["device authorization", async () => {
    const native = await client.discovery(issuer, env("NATIVE_CLIENT_ID"), undefined, client.None());
    const device = await client.initiateDeviceAuthorization(native, { scope: `openid offline_access ${env("WEB_SCOPE")}` });
    const approval = approveDevice(device.verification_uri, device.user_code);
    const res = await client.pollDeviceAuthorizationGrant(native, device);
    await approval;
    return { idToken: res.claims(), access: claims(res.access_token), refresh: Boolean(res.refresh_token), verificationUri: device.verification_uri };
  }],

  ["token exchange", async () => {
    const res = await client.genericGrantRequest(web, TOKEN_EXCHANGE, {
      subject_token: tokens.access_token,
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      audience: env("DOWNSTREAM_AUDIENCE"),
    });
    return { access: claims(res.access_token), subject: claims(tokens.access_token), issuedTokenType: res.issued_token_type, scope: res.scope };
  }],
]);
