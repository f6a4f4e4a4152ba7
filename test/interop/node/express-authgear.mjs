// Seed 003: the Authgear-style Express + axios app, pointed at Tessera's
// default-tenant aliases (/oauth2/authorize, /oauth2/token). The browser
// opens the app's /login, which redirects to authorize; after sign-in the
// app's callback redeems the code with axios exactly as the seed does; then
// the token pair is refreshed the same way.
//
// Configuration: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URL, TOKEN_HOST.
import express from "express";
import axios from "axios";
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { browse, claims, env, steps } from "./lib/driver.mjs";

const app = express();
const port = process.env.PORT || 3000;

const config = {
  client: {
    id: env("CLIENT_ID"),
    secret: env("CLIENT_SECRET"),
    redirect_url: env("REDIRECT_URL"),
  },
  auth: {
    tokenHost: env("TOKEN_HOST"),
    tokenPath: '/oauth2/token',
    authorizePath: '/oauth2/authorize',
    scope: 'openid+offline_access',
  },
};

const states = new Set();
let callbackDone;
const callbackResult = new Promise((resolve) => {
  callbackDone = resolve;
});

app.get("/login", (req, res) => {
  const state = randomUUID();
  states.add(state);
  // The scope goes into the URL as configured: '+' is a space in a query.
  res.redirect(`${config.auth.tokenHost}${config.auth.authorizePath}?client_id=${config.client.id}` +
    `&redirect_uri=${encodeURIComponent(config.client.redirect_url)}&response_type=code` +
    `&scope=${config.auth.scope}&state=${state}`);
});

app.get(new URL(config.client.redirect_url).pathname, async (req, res) => {
  if (!states.delete(req.query.state)) {
    res.status(400).send("Invalid state");
    callbackDone({ error: `invalid state in ${req.originalUrl}` });
    return;
  }
  // From here on, the seed's code.
  const data = {
    client_id: config.client.id,
    client_secret: config.client.secret,
    code: req.query.code,
    grant_type: 'authorization_code',
    response_type: 'code',
    redirect_uri: config.client.redirect_url,
    scope: config.auth.scope
  };

  try {
    const getToken = await axios.post(`
    ${config.auth.tokenHost}${config.auth.tokenPath}`,
      data,
      {
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }
    );

    const accessToken = getToken.data.access_token;
    const refreshToken = getToken.data.refresh_token;
    res.send(`
  <p>${JSON.stringify(getToken.data)}</p>
    <div style="max-width: 650px; margin: 16px auto; background-color: #EDEDED; padding: 16px;">
      <p>Welcome</p>
      <p>Refresh token: ${refreshToken}</p>

    </div>
`);
    callbackDone({ data: getToken.data, accessToken, refreshToken });
  } catch (error) {
    res.send("An error occurred! Login could not complete. Error data: " + error);
    callbackDone({ error: String(error), response: error.response?.data });
  }
});

await new Promise((resolve) => {
  app.listen(port, resolve);
});

let tokens;

await steps([
  ["login + callback (authorization_code)", async () => {
    await browse(`http://localhost:${port}/login`, config.client.redirect_url);
    const result = await callbackResult;
    assert.ok(!result.error, `the callback failed: ${result.error} ${JSON.stringify(result.response)}`);
    tokens = result.data;
    assert.ok(result.refreshToken, "refresh_token in the token response");
    return {
      keys: Object.keys(tokens).sort(),
      scope: tokens.scope,
      tokenType: tokens.token_type,
      access: claims(tokens.access_token),
      idToken: claims(tokens.id_token),
    };
  }],

  ["refresh", async () => {
    const data = {
      client_id: config.client.id,
      client_secret: config.client.secret,
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      scope: config.auth.scope
    };
    const refreshed = await axios.post(`${config.auth.tokenHost}${config.auth.tokenPath}`, data, {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    return {
      keys: Object.keys(refreshed.data).sort(),
      scope: refreshed.data.scope,
      rotated: refreshed.data.refresh_token !== tokens.refresh_token && Boolean(refreshed.data.refresh_token),
      access: claims(refreshed.data.access_token),
      idToken: claims(refreshed.data.id_token),
    };
  }],
]);
