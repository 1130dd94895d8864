/**
 * The pieces of the client commands that need no agent: the JSON value splitter `observe`
 * reads with, the peers table, finding the socket, and `config check` on the control keys.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { JsonValueSplitter, type JsonPiece } from "../../src/cli/client/json-values.js";
import { peerTable } from "../../src/cli/client/read.js";
import { locateControl } from "../../src/cli/client/common.js";
import { stopAll, tempDir } from "../cli/run-agent.js";
import { runCli } from "../cli/run-cli.js";

afterEach(stopAll);

function split(chunks: string[], max = 1 << 20): JsonPiece[] {
  const s = new JsonValueSplitter(max);
  const out: JsonPiece[] = [];
  for (const c of chunks) s.push(c, out);
  s.end(out);
  return out;
}

describe("JsonValueSplitter", () => {
  it("NDJSON, objects over lines, arrays, braces inside strings, values split across chunks", () => {
    const out = split(['{"a":1}\n{"b":', '"}{"}\n[1,', "2]\n{\n", '  "c": "x\\"}"\n}\n']);
    expect(out).toEqual([
      { ok: true, value: { a: 1 }, line: 1 },
      { ok: true, value: { b: "}{" }, line: 2 },
      { ok: true, value: [1, 2], line: 3 },
      { ok: true, value: { c: 'x"}' }, line: 4 },
    ]);
  });

  it("garbage between values is reported by line and skipped to the end of its line; bad JSON inside braces too; an unfinished value at the end", () => {
    const out = split(['hello {"a":1}\n{"a":2}\n{"a":,}\n{"a":3']);
    expect(out.map((p) => [p.ok, p.line, p.ok ? p.value : p.reason.split(":")[0]])).toEqual([
      [false, 1, 'expected a JSON object or array, found "h"'],
      [true, 2, { a: 2 }],
      [false, 3, "not JSON"],
      [false, 4, "the input ended inside a JSON value"],
    ]);
  });

  it("a value longer than the limit is refused and skipped; the next one is read", () => {
    const out = split([`{"a":"${"x".repeat(100)}"}\n{"b":1}\n`], 50);
    expect(out).toEqual([
      { ok: false, reason: "a JSON value longer than 50 bytes", line: 1 },
      { ok: true, value: { b: 1 }, line: 2 },
    ]);
  });
});

describe("peers table", () => {
  it("one row per peer, numbers aligned right", () => {
    const t = peerTable([
      { name: "boiler-room", up: true, pub: "tcp://10.0.0.2:5600", packets: 1234, invalidPackets: 0, gaps: 2, catchUps: 1, catchUpProblem: null },
      { name: "b", up: false, pub: "tcp://10.0.0.3:5600", packets: 5, invalidPackets: 17, gaps: 0, catchUps: 0, catchUpProblem: "ERR_CATCHUP_PAGE_CAP" },
    ]);
    expect(t).toBe(
      [
        "NAME         UP    PUB                  PACKETS  INVALID  GAPS  CATCH-UPS  PROBLEM",
        "boiler-room  up    tcp://10.0.0.2:5600     1234        0     2          1  -",
        "b            down  tcp://10.0.0.3:5600        5       17     0          0  ERR_CATCHUP_PAGE_CAP",
        "",
      ].join("\n"),
    );
  });
});

describe("finding the socket", () => {
  it("--socket, else --state-dir, else the config's control.path (relative to its state dir), with the environment's overrides", () => {
    const env = { QIS_EDGE_STATE_DIR: "", QIS_EDGE_CONTROL_PATH: "" };
    expect(locateControl({ socket: "/x/y.sock", "state-dir": "/ignored" }, env)).toEqual({ path: "/x/y.sock", foundBy: "--socket" });
    expect(locateControl({ "state-dir": "/srv/agent" }, env)).toEqual({ path: "/srv/agent/control.sock", foundBy: "--state-dir /srv/agent" });
    expect(locateControl({ "state-dir": "/srv/agent" }, { ...env, QIS_EDGE_CONTROL_PATH: "ctl/s" }).path).toBe("/srv/agent/ctl/s");
    const dir = tempDir("qis-ctl-");
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ stateDir: "/var/lib/qis", control: { path: "/run/qis/ctl.sock" } }));
    expect(locateControl({ config }, env)).toEqual({ path: "/run/qis/ctl.sock", foundBy: `--config ${config}` });
    writeFileSync(config, JSON.stringify({ control: { enabled: false } }));
    expect(() => locateControl({ config }, env)).toThrow(expect.objectContaining({ code: "ERR_NO_AGENT", message: expect.stringContaining("control.enabled false") }));
  });
});

describe("config check on the control keys", () => {
  it("refuses a bad maxClients, an empty path, a path too long for a socket and a regular file there", async () => {
    const dir = tempDir("qis-ctl-");
    const f = join(dir, "c.json");
    writeFileSync(f, JSON.stringify({ control: { maxClients: 0, path: "" } }));
    const r = await runCli(["config", "check", f], undefined, { QIS_EDGE_STATE_DIR: "", QIS_EDGE_CONTROL_PATH: "" });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").slice(1, 3).map((l) => l.slice(0, l.indexOf(": expected")))).toEqual(["  /control/path", "  /control/maxClients"]);

    const long = `/tmp/${"d".repeat(120)}/c.sock`;
    writeFileSync(f, JSON.stringify({ stateDir: dir, control: { path: long } }));
    const r2 = await runCli(["config", "check", f], undefined, { QIS_EDGE_STATE_DIR: "", QIS_EDGE_CONTROL_PATH: "" });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`  /control/path: expected a path for a Unix socket (at most 107 bytes) in a directory that exists, found ${long}, ${Buffer.byteLength(long)} bytes long\n`);

    writeFileSync(f, JSON.stringify({ stateDir: dir, control: { path: "c.json" } }));
    const r3 = await runCli(["config", "check", f], undefined, { QIS_EDGE_STATE_DIR: "", QIS_EDGE_CONTROL_PATH: "" });
    expect(r3.stderr).toContain(`found ${f}, which exists and is not a socket`);

    writeFileSync(f, JSON.stringify({ stateDir: dir, control: { enabled: true, maxClients: 64, path: "ctl.sock" } }));
    const ok = await runCli(["config", "check", f], undefined, { QIS_EDGE_STATE_DIR: "", QIS_EDGE_CONTROL_PATH: "" });
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
  });
});
