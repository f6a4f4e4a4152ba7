// The Node side of the line protocol with the Go driver
// (test/interop/nodetest/driver_test.go documents it). Every request is one
// JSON line on stdout and gets exactly one JSON line back on stdin, in order.
import readline from "node:readline";
import assert from "node:assert/strict";

const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
const early = [];
lines.on("line", (line) => {
  const msg = JSON.parse(line);
  const next = waiting.shift();
  if (next) next(msg);
  else early.push(msg);
});

function send(obj) {
  // Writes to a pipe are synchronous on Linux, so nothing is lost on exit.
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function ask(request) {
  send(request);
  return new Promise((resolve) => {
    if (early.length) resolve(early.shift());
    else waiting.push(resolve);
  });
}

/** Signs in at url in the real browser; resolves to the URL the browser was sent to that starts with redirect. */
export async function browse(url, redirect) {
  return (await ask({ browse: String(url), redirect })).url;
}

/** MSAL's openBrowser: the Go side signs in; the browser then reaches MSAL's loopback server itself. */
export async function openBrowser(url) {
  await ask({ open: String(url) });
}

/** Enters userCode at verificationUri in the browser, signs in and consents. */
export async function approveDevice(verificationUri, userCode) {
  await ask({ device: verificationUri, code: userCode });
}

/** Runs the admin CLI (tessera --data-dir DIR args... --output json) on the Go side. */
export async function cli(...args) {
  const reply = await ask({ cli: args });
  return reply.out;
}

/** Reports an observation for the Go test to assert on. */
export function report(step, data = {}) {
  send({ result: { step, ...data } });
}

export function env(name) {
  const v = process.env[name];
  assert.ok(v, `environment variable ${name} is not set`);
  return v;
}

/** The payload of a JWT, decoded without verification (for assertions). */
export function claims(jwt) {
  assert.equal(typeof jwt, "string", "not a JWT");
  const parts = jwt.split(".");
  assert.equal(parts.length, 3, "not a JWS compact serialization");
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs the named steps in order. A failing step is reported with its error
 * and the rest still run (later steps that need it fail on their own); the
 * process exits 1 if any step failed.
 */
export async function steps(list) {
  let failed = false;
  for (const [name, fn] of list) {
    try {
      const data = (await fn()) || {};
      report(name, { ok: true, ...data });
    } catch (err) {
      failed = true;
      const detail = { ok: false, error: String(err?.stack || err) };
      for (const k of ["errorCode", "subError", "errorMessage", "name"]) {
        if (err && err[k] !== undefined) detail[k] = err[k];
      }
      report(name, detail);
      process.stderr.write(`step ${name} failed: ${err?.stack || err}\n`);
    }
  }
  lines.close();
  process.exit(failed ? 1 : 0);
}
