/**
 * The agent's state directory: its persistent node id and the lock that keeps two agents from
 * sharing one (two agents with one node id would look like one node to every peer, and their
 * seq counters would collide).
 */
import { randomBytes } from "../util/random.js";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QisError } from "../errors.js";

const ID_FILE = "node-id";
const LOCK_FILE = "agent.lock";

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new QisError("ERR_STATE_DIR", `cannot create the state directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

function describeContent(text: string): string {
  if (text.length === 0) return "an empty file";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) return `${text.length} characters of binary data`;
  return JSON.stringify(text.length > 48 ? `${text.slice(0, 48)}...` : text);
}

/**
 * The node id kept in `stateDir/node-id` (32 lower-case hex digits and a newline), created on
 * first use. A file that exists but does not hold an id is an error, never replaced: replacing it
 * would silently turn this device into a new node. Call it while holding lockStateDir's lock.
 */
export function loadOrCreateNodeId(stateDir: string): { nodeId: string; created: boolean } {
  const file = join(stateDir, ID_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR: a part of stateDir is a file; ensureDir below reports that as ERR_STATE_DIR.
    if (code !== "ENOENT" && code !== "ENOTDIR") throw new QisError("ERR_NODE_ID", `cannot read the node id ${file}: ${code ?? (e as Error).message}`, { cause: e });
  }
  if (text !== undefined) {
    const id = text.trim();
    if (!/^[0-9a-fA-F]{32}$/.test(id)) {
      throw new QisError("ERR_NODE_ID", `${file}: expected 32 hex digits (a node id), found ${describeContent(text)}; fix or remove the file (removing it gives this device a new identity)`);
    }
    return { nodeId: id.toLowerCase(), created: false };
  }
  ensureDir(stateDir);
  const nodeId = randomBytes(16).toString("hex");
  // Temp file + fsync + rename: a crash leaves either no id file or a whole one, never a torn one.
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeFileSync(fd, `${nodeId}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone or never created
    }
    throw new QisError("ERR_NODE_ID", `cannot write the node id ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  syncDir(stateDir);
  return { nodeId, created: true };
}

/** Makes a rename durable. Not every platform/filesystem can fsync a directory; that is no error. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Locks held by this process, so that locking one directory twice in-process is refused too. */
const held = new Set<string>();

/** A lock file younger than this without a pid may be one being written right now. */
const FRESH_MS = 5000;

/**
 * Takes `stateDir/agent.lock` (created with O_EXCL, holding our pid). A lock whose pid is alive
 * is ERR_STATE_LOCKED; a stale one (its process is gone) is taken over. A lock naming our own
 * pid is stale too unless this process holds it: in a container the agent is often pid 1 on
 * every start, so a crashed predecessor's lock names the pid we now have.
 */
export function lockStateDir(stateDir: string): { release(): void } {
  ensureDir(stateDir);
  const file = join(stateDir, LOCK_FILE);
  // The real path: two spellings of one directory must meet in `held`.
  const key = join(realpathSync(stateDir), LOCK_FILE);
  const locked = (who: string): QisError =>
    new QisError("ERR_STATE_LOCKED", `another agent (${who}) uses ${stateDir}; give each agent its own stateDir`);
  if (held.has(key)) throw locked(`pid ${process.pid}, this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      try {
        writeFileSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw locked("one starting now");
        throw new QisError("ERR_STATE_DIR", `cannot create ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
    }
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // removed meanwhile: try again
    }
    const pid = /^\s*([0-9]+)\s*$/.exec(text)?.[1];
    if (pid === undefined) {
      if (Date.now() - mtime(file) < FRESH_MS) throw locked("one starting now");
    } else if (Number(pid) !== process.pid && alive(Number(pid))) {
      throw locked(`pid ${pid}`);
    }
    // Stale: remove it only if it still says what we read, then retry the exclusive create once.
    try {
      if (readFileSync(file, "utf8") === text) unlinkSync(file);
    } catch {
      // already removed by another starter; the create decides who wins
    }
  }
  held.add(key);
  let released = false;
  return {
    release(): void {
      if (released) return;
      released = true;
      held.delete(key);
      try {
        if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
      } catch {
        // gone already: nothing to release
      }
    },
  };
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
