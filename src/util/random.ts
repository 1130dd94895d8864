/**
 * Random bytes from the kernel's generator (/dev/urandom, what OpenSSL itself seeds from), for
 * the seeds, node id and epoch an agent needs at start-up.
 *
 * Why not crypto.randomBytes: loading node:crypto loads a dozen of Node's internal modules
 * (keys, ciphers, x509, streams): ~0.6 MiB of an idle agent's RSS for 24 random bytes
 * (docs/devices.md, "Idle memory"). Where /dev/urandom cannot be read (not Linux or macOS, a
 * bare chroot), node:crypto it is.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";

export function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  let fd = -1;
  try {
    fd = openSync("/dev/urandom", "r");
    for (let got = 0; got < n; ) {
      const r = readSync(fd, out, got, n - got, null);
      if (r <= 0) throw new Error("/dev/urandom: short read");
      got += r;
    }
    return out;
  } catch {
    // Only built-ins are required here, so the bundle's own URL serves as well as this file's.
    return (createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto")).randomBytes(n);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
