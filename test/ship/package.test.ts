/**
 * `npm run package -- --target NAME` for every profile in targets/: the tarball lists exactly
 * what the target needs (tar tzf), its binaries are for the target's architecture (file), the
 * unit and config are the profile's, and nothing comes from node_modules. The x64 package is
 * also extracted and run: selftest, and an agent on its default config and the profile's Node
 * flags reaching "ready". ARM packages run under QEMU in cross/qemu-test.sh (.ci/run).
 * ARM addons are cross-built by scripts/package.js (cross/build.sh) when missing: minutes on a
 * fresh clone, so every child process here is awaited (test/run-process.ts), never spawnSync,
 * which would keep the worker from answering vitest past its 60 s RPC timeout.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runText } from "../run-process.js";
import { exitCode, waitForReady } from "./agent-process.js";

const { systemdUnit } = (await import(new URL("../../scripts/systemd-unit.js", import.meta.url).href)) as { systemdUnit(o: { version: string; profile: unknown }): string };

const root = fileURLToPath(new URL("../../", import.meta.url));
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
const out = mkdtempSync(join(tmpdir(), "qis-packages-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Profile {
  name: string;
  arch: string;
  nodeArch: string;
  node: { flags: string[] };
  store: { capacity: number };
  batch: { size: number };
  hwm: { send: number; receive: number };
  systemd: { MemoryMax: string };
  agentConfig: string;
  devicePackages: string[];
}
const profiles: Profile[] = readdirSync(join(root, "targets"))
  .filter((f) => f.endsWith(".json") && !f.endsWith(".agent.json"))
  .map((f) => JSON.parse(readFileSync(join(root, "targets", f), "utf8")) as Profile);

/** What `file` says of an ELF for each nodeArch. */
const ELF: Record<string, RegExp> = {
  x64: /ELF 64-bit LSB shared object, x86-64/,
  arm64: /ELF 64-bit LSB shared object, ARM aarch64/,
  arm: /ELF 32-bit LSB shared object, ARM, EABI5/,
};
const ADDON: Record<string, string> = {
  x64: "prebuilds/linux-x64/node.napi.node",
  arm64: "prebuilds/linux-arm64/node.napi.node",
  arm: "prebuilds/linux-arm/node.napi.armv7.node",
};

describe("device targets", () => {
  it("are the four profiles, each with a default agent config that `config check` accepts", async () => {
    expect(profiles.map((p) => p.name).sort()).toEqual(["gateway-x64", "jetson-arm64", "pi-arm64", "pi-armv7"]);
    for (const p of profiles) {
      const file = join(root, "targets", p.agentConfig);
      const r = await runText(process.execPath, [join(root, "dist", "qis-edge.mjs"), "config", "check", "--ignore-env", file]);
      expect(r.stdout + r.stderr, p.name).toBe(`ok: ${file}\n`);
      // The profile's sizing is what the config says.
      const c = JSON.parse(readFileSync(file, "utf8")) as { store: { capacity: number }; batch: { size: number }; hwm: { send: number; receive: number } };
      expect(c.store.capacity, p.name).toBe(p.store.capacity);
      expect(c.batch.size, p.name).toBe(p.batch.size);
      expect(c.hwm, p.name).toEqual(p.hwm);
      expect(p.node.flags.some((f) => /^--max-old-space-size=\d+$/.test(f)) && p.node.flags.some((f) => /^--max-semi-space-size=\d+$/.test(f)), p.name).toBe(true);
    }
  });
});

describe.each(profiles.map((p) => [p.name, p] as const))("package %s", (name, profile) => {
  const base = `qis-edge-${version}-${name}`;
  const tarball = join(out, `${base}.tar.gz`);
  let listing: string[] = [];
  let extracted = "";
  let dir = "";

  beforeAll(async () => {
    const r = await runText(process.execPath, [join(root, "scripts", "package.js"), "--target", name, "--out", out], { cwd: root, timeoutMs: 600_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    listing = (await runText("tar", ["tzf", tarball])).stdout.trim().split("\n");
    extracted = mkdtempSync(join(tmpdir(), "qis-pkg-x-"));
    expect((await runText("tar", ["xzf", tarball, "-C", extracted])).status).toBe(0);
    dir = join(extracted, base);
  }, 600_000);
  // Not join(dir, ".."): when beforeAll failed early, dir is "" and that would be the cwd's parent.
  afterAll(() => {
    if (extracted) rmSync(extracted, { recursive: true, force: true });
  });

  it("lists only what the target needs (tar tzf)", () => {
    const a = profile.nodeArch;
    const zmq = listing.find((f) => f.startsWith(`${base}/build/linux/${a}/node/glibc-`) && f.endsWith("/addon.node"));
    expect(zmq, listing.join("\n")).toBeDefined();
    const files = listing.filter((f) => !f.endsWith("/")).sort();
    expect(files).toEqual(
      [
        "INSTALL",
        "agent.json",
        "build/manifest.json",
        zmq!.slice(base.length + 1),
        ADDON[a]!,
        "qis-edge",
        "qis-edge.mjs",
        "qis-edge-mqtt.cjs",
        "qis-edge-nats.cjs",
        "qis-edge-discovery.cjs",
        "qis-edge-client.cjs",
        "qis-edge-control.cjs",
        "qis-edge-signing.cjs",
        "qis-edge.service",
        "target.json",
      ]
        .map((f) => `${base}/${f}`)
        .sort(),
    );
    expect(listing.some((f) => f.includes("node_modules"))).toBe(false);
  });

  it("has binaries for the target's architecture (file) and a manifest naming only them", async () => {
    for (const f of listing.filter((x) => x.endsWith(".node"))) {
      const r = await runText("file", ["-b", join(dir, "..", f)]);
      expect(r.status, "the `file` command is missing (apt-get install file)").toBe(0);
      expect(r.stdout, f).toMatch(ELF[profile.nodeArch]!);
    }
    const manifest = JSON.parse(readFileSync(join(dir, "build", "manifest.json"), "utf8")) as Record<string, string>;
    expect(Object.keys(manifest).map((k) => (JSON.parse(k) as { arch: string }).arch)).toEqual([profile.nodeArch]);
  });

  it("has a systemd unit with its own user, restart on failure and the profile's MemoryMax and Node flags", () => {
    const unit = readFileSync(join(dir, "qis-edge.service"), "utf8");
    // scripts/systemd-unit.js's, which test/ship/systemd-unit.test.ts checks with systemd-analyze verify
    expect(unit).toBe(systemdUnit({ version, profile }));
    expect(unit).toMatch(/^User=qis-edge$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(new RegExp(`^MemoryMax=${profile.systemd.MemoryMax}$`, "m"));
    expect(unit).toContain(`node ${profile.node.flags.join(" ")} /opt/qis-edge/qis-edge.mjs run --config /etc/qis-edge/agent.json`);
    expect(readFileSync(join(dir, "agent.json"), "utf8")).toBe(readFileSync(join(root, "targets", profile.agentConfig), "utf8"));
    const install = readFileSync(join(dir, "INSTALL"), "utf8");
    for (const p of profile.devicePackages) expect(install).toContain(`apt-get install -y ${p}`);
  });

  it.runIf(profile.nodeArch === process.arch)("runs here: selftest, and an agent on the default config reaches ready", async () => {
    const self = await runText(join(dir, "qis-edge"), ["selftest", "--state-dir", dir], { timeoutMs: 60_000 });
    expect(self.status, self.stdout + self.stderr).toBe(0);
    // The default config binds 0.0.0.0:5600/5601 and /var/lib/qis-edge: moved to loopback and temp.
    const env = { ...process.env, QIS_EDGE_STATE_DIR: dir, QIS_EDGE_STORE_FILE: join(dir, "store.bin"), QIS_EDGE_PUB_BIND: "tcp://127.0.0.1:*", QIS_EDGE_STORE_BIND: "tcp://127.0.0.1:*" };
    const child = spawn(join(dir, "qis-edge"), ["run", "--config", join(dir, "agent.json")], { env, stdio: ["ignore", "ignore", "pipe"] });
    const started = waitForReady(child);
    const ready = await started.ready;
    child.kill("SIGTERM");
    const code = await exitCode(child);
    expect(ready, started.log()).toBe(true);
    expect(code).toBe(0);
  }, 60_000);
});
