/**
 * NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID as src/systemd/env.ts reads them, and the
 * addon's sender (native/notify.c) on a real AF_UNIX datagram socket: the bytes it is given
 * arrive as one datagram, an address too long for sun_path is refused before C copies it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nativeNotify } from "../../src/packet/native.js";
import { notifySocketAddress, SystemdEnvError, watchdogRequest } from "../../src/systemd/env.js";
import { catchError } from "../catch-error.js";
import { openNotifySocket, stopNotifySockets } from "./notify-socket.js";

const dirs: string[] = [];
afterEach(async () => {
  await stopNotifySockets();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("notifySocketAddress", () => {
  it("keeps a path as it is and turns an abstract name's @ into a NUL byte", () => {
    expect(Buffer.from(notifySocketAddress("/run/systemd/notify", 108))).toEqual(Buffer.from("/run/systemd/notify"));
    expect(Buffer.from(notifySocketAddress("@qis/notify", 108))).toEqual(Buffer.from("\0qis/notify"));
  });

  it("takes a path of up to 107 bytes (room for the NUL) and an abstract name of up to 108", () => {
    expect(notifySocketAddress(`/${"a".repeat(106)}`, 108)).toHaveLength(107);
    expect(notifySocketAddress(`@${"a".repeat(107)}`, 108)).toHaveLength(108);
    // multi-byte characters count in bytes
    expect(catchError(() => notifySocketAddress(`/${"é".repeat(54)}`, 108), SystemdEnvError)).toMatchObject({ code: "ERR_NOTIFY_SOCKET", message: "NOTIFY_SOCKET is 109 bytes long; an AF_UNIX address takes at most 107" });
    expect(catchError(() => notifySocketAddress(`/${"a".repeat(107)}`, 108), SystemdEnvError)).toMatchObject({ code: "ERR_NOTIFY_SOCKET" });
    expect(catchError(() => notifySocketAddress(`@${"a".repeat(108)}`, 108), SystemdEnvError)).toMatchObject({ code: "ERR_NOTIFY_SOCKET", message: "NOTIFY_SOCKET is 109 bytes long; an AF_UNIX address takes at most 108" });
  });

  it("refuses what is not an AF_UNIX address (ERR_NOTIFY_SOCKET)", () => {
    for (const value of ["vsock:2:1234", "run/notify", "@", "/", "/a\0b"]) {
      const err = catchError(() => notifySocketAddress(value, 108), SystemdEnvError);
      expect(err, JSON.stringify(value)).toMatchObject({ name: "SystemdEnvError", code: "ERR_NOTIFY_SOCKET" });
    }
    expect(catchError(() => notifySocketAddress("vsock:2:1234", 108), SystemdEnvError).message).toBe(
      'NOTIFY_SOCKET="vsock:2:1234" is neither an absolute path nor an abstract "@name" (qis-edge sends to AF_UNIX datagram sockets only)',
    );
  });
});

describe("watchdogRequest", () => {
  it("pings every half WATCHDOG_USEC, for this process or when WATCHDOG_PID is unset", () => {
    expect(watchdogRequest("30000000", undefined, 42)).toEqual({ timeoutUs: 30_000_000, intervalMs: 15_000 });
    expect(watchdogRequest("30000000", "42", 42)).toEqual({ timeoutUs: 30_000_000, intervalMs: 15_000 });
    expect(watchdogRequest("1", "", 42)).toEqual({ timeoutUs: 1, intervalMs: 1 });
    expect(watchdogRequest("9007199254740991", undefined, 42)).toEqual({ timeoutUs: 9007199254740991, intervalMs: 2 ** 31 - 1 });
  });

  it("is null without WATCHDOG_USEC or for another process", () => {
    expect(watchdogRequest(undefined, undefined, 42)).toBeNull();
    expect(watchdogRequest("", "42", 42)).toBeNull();
    expect(watchdogRequest("30000000", "43", 42)).toBeNull();
  });

  it("refuses what is not a positive integer (ERR_NOTIFY_WATCHDOG)", () => {
    for (const [usec, pid] of [["0", undefined], ["-5", undefined], ["30s", undefined], ["1.5", undefined], ["99999999999999999", undefined], ["1000", "self"], ["1000", "0"]] as const) {
      expect(catchError(() => watchdogRequest(usec, pid, 42), SystemdEnvError), `${usec} ${pid}`).toMatchObject({ name: "SystemdEnvError", code: "ERR_NOTIFY_WATCHDOG" });
    }
  });
});

describe.runIf(nativeNotify !== null || process.env.QIS_EDGE_REQUIRE_NATIVE === "1")("the addon's sdNotify", () => {
  const send = (path: Uint8Array, msg: Uint8Array): number => nativeNotify!.send(path, msg);

  it("sends the bytes as one datagram to a path and to an abstract name; returns the errno when it cannot", async () => {
    expect(nativeNotify!.pathMax).toBe(108);
    const dir = mkdtempSync(join(tmpdir(), "qis-notify-"));
    dirs.push(dir);
    const bytes = Buffer.from("READY=1\nSTATUS=é\0x");
    const file = await openNotifySocket(join(dir, "s"));
    expect(send(notifySocketAddress(file.address, 108), bytes)).toBe(0);
    expect((await file.waitFor(() => true)).data).toBe("READY=1\nSTATUS=é\0x");
    const abstract = await openNotifySocket(`@qis-edge-test-${randomBytes(6).toString("hex")}`);
    expect(send(notifySocketAddress(abstract.address, 108), Buffer.from("WATCHDOG=1"))).toBe(0);
    expect((await abstract.waitFor(() => true)).data).toBe("WATCHDOG=1");
    // the abstract name is exactly its bytes: a prefix of it is another socket
    expect(send(notifySocketAddress(abstract.address.slice(0, -1), 108), bytes)).toBe(111); // ECONNREFUSED
    expect(send(notifySocketAddress(join(dir, "missing"), 108), bytes)).toBe(2); // ENOENT
  });

  it("refuses arguments that are not Uint8Arrays or an address longer than sun_path", () => {
    expect(catchError(() => send("/run/x" as unknown as Uint8Array, Buffer.from("x")), TypeError)).toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" });
    expect(catchError(() => send(Buffer.from("/run/x"), "x" as unknown as Uint8Array), TypeError)).toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" });
    expect(catchError(() => send(new Uint8Array(109), Buffer.from("x")), RangeError)).toMatchObject({ name: "RangeError", code: "ERR_OUT_OF_RANGE" });
    expect(catchError(() => send(new Uint8Array(0), Buffer.from("x")), RangeError)).toMatchObject({ name: "RangeError", code: "ERR_OUT_OF_RANGE" });
  });
});
