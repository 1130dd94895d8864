/**
 * src/security/ as one module: what the agent, the preflight, `keygen` and `inspect` reach with
 * `import("../security/index.js")`, only when signing or verification is asked for. The bundle
 * builds it as a sidecar (scripts/bundle.js SIDECARS), so its code is not even parsed otherwise.
 */
export { PacketSecurity, type PacketSecurityConfig, type SignatureCounters, type SignatureStats } from "./packet-security.js";
export { signingProblems } from "./preflight.js";
export { newSigningKey, signatureVerdict, signingPublicKeyOf } from "./cli.js";
