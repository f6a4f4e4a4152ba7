// Package token mints and verifies JWTs with tenants' signing keys, publishes
// JWKS, and makes the opaque secrets (refresh tokens, codes) that are stored
// only as hashes.
//
// Private signing keys are sealed with a key derived from the master key and
// bound to their tenant and kid; the store only ever sees them encrypted.
package token
