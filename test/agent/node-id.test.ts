import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadOrCreateNodeId, lockStateDir } from "../../src/agent/node-id.js";
import { QisError } from "../../src/errors.js";
import { catchError } from "../catch-error.js";

const bases: string[] = [];
afterEach(() => {
  for (const b of bases.splice(0)) rmSync(b, { recursive: true, force: true });
});
const tempBase = (): string => {
  const b = mkdtempSync(join(tmpdir(), "qis-state-"));
  bases.push(b);
  return b;
};
const fresh = (): string => join(tempBase(), "state", "nested");

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("loadOrCreateNodeId", () => {
  it("creates the id once (mkdir -p, mode 0600, 32 hex and a newline), then reuses it", () => {
    const dir = fresh();
    const first = loadOrCreateNodeId(dir);
    expect(first.created).toBe(true);
    expect(first.nodeId).toMatch(/^[0-9a-f]{32}$/);
    const file = join(dir, "node-id");
    expect(readFileSync(file, "utf8")).toBe(`${first.nodeId}\n`);
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["node-id"]); // no temp file left behind
    expect(loadOrCreateNodeId(dir)).toEqual({ nodeId: first.nodeId, created: false });
    expect(loadOrCreateNodeId(fresh()).nodeId).not.toBe(first.nodeId);
  });

  it("accepts an id written by hand: upper case, surrounding whitespace", () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "node-id"), "  ABCDEF0123456789ABCDEF0123456789\r\n");
    expect(loadOrCreateNodeId(dir)).toEqual({ nodeId: "abcdef0123456789abcdef0123456789", created: false });
  });

  it.each([
    ["empty", "", "found an empty file"],
    ["short", "abcd\n", 'found "abcd\\n"'],
    ["not hex", "zz".repeat(16), `found "${"zz".repeat(16)}"`],
    ["binary", "\u0000\u0001\u0002", "found 3 characters of binary data"],
  ])("a corrupt file (%s) is ERR_NODE_ID naming the path and what was found, and is left alone", (_name, content, found) => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "node-id");
    writeFileSync(file, content);
    const err = catchError(() => loadOrCreateNodeId(dir), QisError);
    expect(err.code).toBe("ERR_NODE_ID");
    expect(err.message).toContain(`${file}: expected 32 hex digits (a node id), ${found}`);
    expect(readFileSync(file, "utf8")).toBe(content);
  });

  it("a node-id that is a directory is ERR_NODE_ID", () => {
    const dir = fresh();
    mkdirSync(join(dir, "node-id"), { recursive: true });
    expect(catchError(() => loadOrCreateNodeId(dir), QisError).code).toBe("ERR_NODE_ID");
  });

  it("a stateDir that cannot be created is ERR_STATE_DIR", () => {
    const base = tempBase();
    writeFileSync(join(base, "file"), "");
    expect(catchError(() => loadOrCreateNodeId(join(base, "file", "sub")), QisError).code).toBe("ERR_STATE_DIR");
  });
});

describe("lockStateDir", () => {
  it("creates agent.lock holding our pid; release removes it; the dir can then be locked again", () => {
    const dir = fresh();
    const lock = lockStateDir(dir);
    const file = join(dir, "agent.lock");
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
    expect(existsSync(file)).toBe(false);
    lock.release(); // idempotent
    lockStateDir(dir).release();
  });

  it("locking a dir this process holds is ERR_STATE_LOCKED", () => {
    const dir = fresh();
    const lock = lockStateDir(dir);
    const err = catchError(() => lockStateDir(dir), QisError);
    expect(err.code).toBe("ERR_STATE_LOCKED");
    expect(catchError(() => lockStateDir(`${dir}/../nested/.`), QisError).code).toBe("ERR_STATE_LOCKED");
    lock.release();
  });

  it("a lock held by a live pid is ERR_STATE_LOCKED naming the pid and the dir, and is kept", () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "agent.lock");
    const other = process.ppid; // alive: it is running us
    writeFileSync(file, `${other}\n`);
    const err = catchError(() => lockStateDir(dir), QisError);
    expect(err.code).toBe("ERR_STATE_LOCKED");
    expect(err.message).toBe(`another agent (pid ${other}) uses ${dir}; give each agent its own stateDir`);
    expect(readFileSync(file, "utf8")).toBe(`${other}\n`);
  });

  it("a stale lock (its pid is gone) is taken over", () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "agent.lock");
    writeFileSync(file, `${deadPid()}\n`);
    const lock = lockStateDir(dir);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
  });

  it("a lock naming our own pid that this process does not hold is stale (a restarted container's pid 1)", () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "agent.lock"), `${process.pid}\n`);
    lockStateDir(dir).release();
  });

  it("a lock without a pid is taken over only once it is older than a few seconds", () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "agent.lock");
    writeFileSync(file, "");
    expect(catchError(() => lockStateDir(dir), QisError).code).toBe("ERR_STATE_LOCKED");
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    lockStateDir(dir).release();
  });
});
