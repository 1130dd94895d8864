/**
 * A stand-in for systemd's NOTIFY_SOCKET (test/fixtures/notify_socket.py): a real AF_UNIX
 * datagram socket, bound at a path in the test's temp dir or at an abstract "@name", that
 * records every datagram with its arrival time. `stopNotifySockets()` in afterEach stops them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const PYTHON = "/usr/bin/python3";
const FIXTURE = fileURLToPath(new URL("../fixtures/notify_socket.py", import.meta.url));

export interface Datagram {
  /** ms since the socket was bound (the receiver's monotonic clock) */
  ms: number;
  data: string;
}

export interface NotifySocket {
  address: string;
  datagrams: Datagram[];
  /** resolves with the first datagram (from the start) that `match` accepts */
  waitFor(match: (d: Datagram) => boolean, timeoutMs?: number): Promise<Datagram>;
}

const running: ChildProcessWithoutNullStreams[] = [];

export function openNotifySocket(address: string): Promise<NotifySocket> {
  const child = spawn(PYTHON, [FIXTURE, address], { stdio: "pipe" });
  running.push(child);
  const datagrams: Datagram[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => reject(new Error(`notify_socket.py exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const msg = JSON.parse(line) as Datagram | { bound: string };
      if ("bound" in msg) {
        resolve({ address, datagrams, waitFor });
        return;
      }
      datagrams.push(msg);
      for (const w of waiters) w();
    });
  });

  function waitFor(match: (d: Datagram) => boolean, timeoutMs = 10_000): Promise<Datagram> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = datagrams.find(match);
        if (found === undefined) return false;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching datagram within ${timeoutMs} ms; got ${JSON.stringify(datagrams.map((d) => d.data))}`));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  }
}

/** SIGTERMs every receiver (which removes its socket file) and waits for it to exit. */
export async function stopNotifySockets(): Promise<void> {
  await Promise.all(
    running.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("close", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
}
