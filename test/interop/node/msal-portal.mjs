// Seed 000's MSAL Node sample, with its configuration object filled in
// from what Tessera's portal showed: the Application (client) ID, the
// Directory (tenant) ID in the authority, and the client secret's value.
// It redeems a refresh token the Go test got through seed 002's requests.
//
// Environment: CLIENT_ID, CLIENT_SECRET, AUTHORITY, KNOWN_AUTHORITY,
// REFRESH_TOKEN, SCOPE.
import assert from "node:assert/strict";
import * as msal from "@azure/msal-node";
import { claims, env, steps } from "./lib/driver.mjs";

await steps([
  ["acquireTokenByRefreshToken with the portal's values (seed 000)", async () => {
    const config = {
      auth: {
        clientId: env("CLIENT_ID"),
        authority: env("AUTHORITY"),
        clientSecret: env("CLIENT_SECRET"),
        knownAuthorities: [env("KNOWN_AUTHORITY")],
      },
    };
    const cca = new msal.ConfidentialClientApplication(config);
    const res = await cca.acquireTokenByRefreshToken({ refreshToken: env("REFRESH_TOKEN"), scopes: [env("SCOPE")] });
    assert.ok(res.accessToken, "MSAL got an access token");
    return { claims: claims(res.accessToken), account: res.account ? res.account.username : null };
  }],
]);
