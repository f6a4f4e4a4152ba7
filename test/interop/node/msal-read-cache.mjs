// MSAL Node reads a token cache file that Tessera's client wrote (plain
// MSAL JSON, client/cache), through seed 001's file cachePlugin: the
// account is there, acquireTokenSilent is served from the cache, and the
// refresh token Tessera's client stored redeems.
//
// Configuration (environment): AUTHORITY, KNOWN_AUTHORITY, PROTOCOL_MODE
// ("OIDC", or empty for MSAL's default AAD mode), CLIENT_ID, SCOPE,
// CACHE_PATH (the file Tessera's client wrote).
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as msal from "@azure/msal-node";
import { claims, env, steps } from "./lib/driver.mjs";

const protocolMode = process.env.PROTOCOL_MODE || undefined;
const scopes = [env("SCOPE")];

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

const pca = new msal.PublicClientApplication({
  auth: {
    clientId: env("CLIENT_ID"),
    authority: env("AUTHORITY"),
    knownAuthorities: [env("KNOWN_AUTHORITY")],
  },
  cache: {
    cachePlugin,
  },
  system: protocolMode ? { protocolMode } : {},
});

async function refreshTokens() {
  const file = JSON.parse(await fs.readFile(cachePath, "utf-8"));
  return Object.values(file.RefreshToken || {}).map((rt) => rt.secret);
}

function summary(res) {
  const at = claims(res.accessToken);
  return {
    scopes: res.scopes,
    fromCache: res.fromCache,
    username: res.account?.username,
    homeAccountId: res.account?.homeAccountId,
    aud: at.aud,
    scp: at.scp,
    accessToken: res.accessToken,
  };
}

await steps([
  ["getAllAccounts", async () => {
    const accounts = await pca.getAllAccounts();
    return {
      accounts: accounts.length,
      username: accounts[0]?.username,
      homeAccountId: accounts[0]?.homeAccountId,
      environment: accounts[0]?.environment,
      tenantId: accounts[0]?.tenantId,
    };
  }],

  ["acquireTokenSilent from Tessera's cache", async () => {
    const [account] = await pca.getAllAccounts();
    assert.ok(account, "an account in the file");
    const res = await pca.acquireTokenSilent({ account, scopes });
    return summary(res);
  }],

  ["acquireTokenSilent forceRefresh with Tessera's refresh token", async () => {
    const [account] = await pca.getAllAccounts();
    const [before] = await refreshTokens();
    assert.ok(before, "a refresh token in the file");
    const res = await pca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    assert.equal(res.fromCache, false);
    const after = await refreshTokens();
    assert.equal(after.length, 1, "one refresh token in the file");
    assert.notEqual(after[0], before, "MSAL stored the rotated refresh token over Tessera's");
    return { ...summary(res), rotated: after[0] !== before };
  }],

  ["cache file after MSAL wrote it", async () => {
    // One entry per credential: MSAL replaced Tessera's entries rather than
    // adding its own beside them under other keys.
    const file = JSON.parse(await fs.readFile(cachePath, "utf-8"));
    const keys = {};
    for (const section of ["Account", "AccessToken", "IdToken", "RefreshToken", "AppMetadata"]) {
      keys[section] = Object.keys(file[section] || {});
    }
    return { keys };
  }],
]);
