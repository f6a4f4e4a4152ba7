// MSAL Node public client flows (seeds 000 and 001) against Tessera:
// auth code + PKCE, interactive with the loopback server, device code,
// refresh token, and the silent flow with seed 001's file cache plugin.
//
// Configuration (environment): AUTHORITY, KNOWN_AUTHORITY, PROTOCOL_MODE
// ("OIDC", or empty for MSAL's default AAD mode), TENANT, CLIENT_ID, SCOPE,
// CACHE_PATH.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as msal from "@azure/msal-node";
import { browse, openBrowser, approveDevice, cli, claims, env, sleep, steps } from "./lib/driver.mjs";

const protocolMode = process.env.PROTOCOL_MODE || undefined;
const scopes = [env("SCOPE")];
const redirectUri = "http://localhost:3000/redirect";

/**
 * Cache Plugin configuration (seed 001's readFromStorage/writeToStorage,
 * adapted to MSAL Node's beforeCacheAccess/afterCacheAccess interface)
 */
const cachePath = env("CACHE_PATH");

const readFromStorage = () => {
  return fs.readFile(cachePath, "utf-8");
};

const writeToStorage = (getMergedState) => {
  return readFromStorage().then((oldFile) => {
    const mergedState = getMergedState(oldFile);
    return fs.writeFile(cachePath, mergedState);
  });
};

const cachePlugin = {
  beforeCacheAccess: async (cacheContext) => {
    cacheContext.tokenCache.deserialize(await readFromStorage());
  },
  afterCacheAccess: async (cacheContext) => {
    if (cacheContext.cacheHasChanged) {
      await writeToStorage(() => cacheContext.tokenCache.serialize());
    }
  },
};

/**
 * Public Client Application Configuration
 */
const publicClientConfig = {
  auth: {
    clientId: env("CLIENT_ID"),
    authority: env("AUTHORITY"),
    knownAuthorities: [env("KNOWN_AUTHORITY")],
  },
  cache: {
    cachePlugin,
  },
  system: protocolMode ? { protocolMode } : {},
};

await fs.writeFile(cachePath, "");
const pca = new msal.PublicClientApplication(publicClientConfig);
const cryptoProvider = new msal.CryptoProvider();

async function cacheFile() {
  return JSON.parse(await fs.readFile(cachePath, "utf-8"));
}

async function refreshTokens() {
  return Object.values((await cacheFile()).RefreshToken || {}).map((rt) => rt.secret);
}

// refreshUntilLifetime refreshes until the access token has the lifetime an
// admin command just set. A server on SQLite sees the change within 10 ms;
// on PostgreSQL its cache hears of it by NOTIFY, which can arrive a moment
// later on a loaded machine: five seconds bound the wait.
async function refreshUntilLifetime(account, seconds) {
  for (let tries = 0; ; tries++) {
    const res = await pca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    const lifetime = claims(res.accessToken).exp - claims(res.accessToken).iat;
    if (lifetime === seconds || tries >= 50) {
      assert.equal(lifetime, seconds);
      return res;
    }
    await sleep(100);
  }
}

function summary(res) {
  const at = claims(res.accessToken);
  return {
    scopes: res.scopes,
    fromCache: res.fromCache,
    username: res.account?.username,
    homeAccountId: res.account?.homeAccountId,
    idTokenSub: res.idTokenClaims?.sub,
    idTokenAud: res.idTokenClaims?.aud,
    idTokenAcr: res.idTokenClaims?.acr,
    acr: at.acr,
    aud: at.aud,
    scp: at.scp,
    oid: at.oid,
    lifetime: at.exp - at.iat,
    tokenType: res.tokenType,
  };
}

let homeAccountId;
let lastAccessToken;

await steps([
  ["acquireTokenInteractive", async () => {
    const res = await pca.acquireTokenInteractive({
      scopes,
      openBrowser: async (url) => {
        await openBrowser(url);
      },
      successTemplate: "Signed in; you can close this window.",
      errorTemplate: "Sign-in failed: {error}",
    });
    assert.ok(res.accessToken);
    assert.equal(res.fromCache, false);
    assert.ok(res.account, "an account");
    homeAccountId = res.account.homeAccountId;
    return summary(res);
  }],

  ["getAuthCodeUrl+acquireTokenByCode", async () => {
    const { verifier, challenge } = await cryptoProvider.generatePkceCodes();
    const state = cryptoProvider.createNewGuid();
    const nonce = cryptoProvider.createNewGuid();
    const url = await pca.getAuthCodeUrl({
      scopes,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: "S256",
      state,
      nonce,
    });
    const callback = new URL(await browse(url, redirectUri));
    assert.equal(callback.searchParams.get("state"), state);
    const code = callback.searchParams.get("code");
    assert.ok(code, `no code in ${callback}`);
    const res = await pca.acquireTokenByCode({ code, redirectUri, scopes, codeVerifier: verifier, nonce });
    assert.equal(res.idTokenClaims.nonce, nonce);
    assert.equal(res.account.homeAccountId, homeAccountId, "the same account as the interactive sign-in");
    return { ...summary(res), authorizeURL: url, nonce: res.idTokenClaims.nonce };
  }],

  ["acquireTokenByDeviceCode", async () => {
    let message;
    let approval;
    const res = await pca.acquireTokenByDeviceCode({
      scopes,
      deviceCodeCallback: (response) => {
        message = response.message;
        // Follow the message as a person would.
        const m = /open the page (\S+) and enter the code (\S+) /.exec(response.message);
        assert.ok(m, `unexpected device code message: ${response.message}`);
        assert.equal(m[1], response.verificationUri);
        assert.equal(m[2], response.userCode);
        approval = approveDevice(m[1], m[2]);
      },
    });
    await approval;
    assert.equal(res.account.homeAccountId, homeAccountId);
    return { ...summary(res), message };
  }],

  ["acquireTokenByRefreshToken", async () => {
    // Seed 000: the refresh token is taken from where the app stored it
    // (here, the cache file) and redeemed.
    const [refreshToken] = await refreshTokens();
    assert.ok(refreshToken, "a refresh token in the cache file");
    const res = await pca.acquireTokenByRefreshToken({ refreshToken, scopes });
    assert.ok(res.accessToken);
    const after = await refreshTokens();
    assert.equal(after.length, 1);
    assert.notEqual(after[0], refreshToken, "the cache holds the rotated refresh token");
    lastAccessToken = res.accessToken;
    return summary(res);
  }],

  ["getAllAccounts+acquireTokenSilent from cache", async () => {
    const accounts = await pca.getAllAccounts();
    assert.equal(accounts.length, 1, "one account for one user, whatever the flow");
    const res = await pca.acquireTokenSilent({ account: accounts[0], scopes });
    assert.equal(res.fromCache, true);
    assert.equal(res.accessToken, lastAccessToken);
    return { ...summary(res), accounts: accounts.length };
  }],

  ["acquireTokenSilent forceRefresh", async () => {
    const [account] = await pca.getAllAccounts();
    const [before] = await refreshTokens();
    const res = await pca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    assert.equal(res.fromCache, false);
    assert.notEqual(res.accessToken, lastAccessToken);
    const after = await refreshTokens();
    assert.equal(after.length, 1);
    assert.notEqual(after[0], before, "rotated");
    lastAccessToken = res.accessToken;
    return { ...summary(res), rotated: after[0] !== before };
  }],

  ["acquireTokenSilent after expiry", async () => {
    // A 5-minute access token lies inside MSAL's 5-minute renewal offset:
    // from its second second on, MSAL treats it as expired and refreshes.
    await cli("app", "set", "--tenant", env("TENANT"), "--app", env("CLIENT_ID"), "--access-token-lifetime", "5m");
    const [account] = await pca.getAllAccounts();
    const short = await refreshUntilLifetime(account, 300);
    await sleep(1100);
    const [before] = await refreshTokens();
    const res = await pca.acquireTokenSilent({ account, scopes });
    assert.equal(res.fromCache, false, "refreshed, not served from the cache");
    assert.notEqual(res.accessToken, short.accessToken);
    const after = await refreshTokens();
    assert.notEqual(after[0], before, "rotated");
    return { ...summary(res), rotated: after[0] !== before };
  }],

  ["acquireTokenSilent once more", async () => {
    await sleep(1100);
    const [account] = await pca.getAllAccounts();
    const [before] = await refreshTokens();
    const res = await pca.acquireTokenSilent({ account, scopes });
    assert.equal(res.fromCache, false);
    const file = await cacheFile();
    const after = Object.values(file.RefreshToken).map((rt) => rt.secret);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], before, "rotated again");
    return { ...summary(res), rotated: after[0] !== before, refreshToken: after[0] };
  }],

  ["cache file", async () => {
    const file = await cacheFile();
    const sections = Object.keys(file).sort();
    const rt = Object.values(file.RefreshToken)[0];
    const account = Object.values(file.Account)[0];
    const at = Object.values(file.AccessToken);
    return {
      sections,
      refreshToken: rt.secret,
      refreshTokenKey: Object.keys(file.RefreshToken)[0],
      refreshTokenFields: Object.keys(rt).sort(),
      accountHomeAccountId: account.home_account_id,
      accountAuthorityType: account.authority_type,
      accessTokenTargets: at.map((t) => t.target),
      credentialTypes: [...new Set(Object.values({ ...file.AccessToken, ...file.RefreshToken, ...file.IdToken }).map((c) => c.credential_type))].sort(),
    };
  }],

  ["token left in the cache file for Tessera's client", async () => {
    // An hour-long access token, outside any client's renewal window, for
    // the Go test to read from the same file with Tessera's client.
    await cli("app", "set", "--tenant", env("TENANT"), "--app", env("CLIENT_ID"), "--access-token-lifetime", "1h");
    const [account] = await pca.getAllAccounts();
    const res = await refreshUntilLifetime(account, 3600);
    const [refreshToken] = await refreshTokens();
    return { ...summary(res), accessToken: res.accessToken, refreshToken };
  }],
]);
