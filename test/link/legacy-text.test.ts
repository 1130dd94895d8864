/**
 * Legacy input from the network (issue 16): a control character in the payload's
 * `domain|node_id|context_hash` text, or bytes that are not UTF-8, are refused with the legacy
 * codec's typed error naming the field, never normalised into an address or hashed into an id;
 * an agent with a legacy peer reports them and goes on.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { decodeLegacy, LegacyError } from "../../src/link/legacy/index.js";
import { codec, PACKET_SIZE } from "../../src/packet/index.js";
import type { QisError } from "../../src/errors.js";
import { closeAll, startAgent, waitFor } from "../agent/harness.js";
import { catchError } from "../catch-error.js";

afterEach(closeAll);

const NODE_HEX = "0123456789abcdef0123456789abcdef";

/** A legacy message (delta 0.18, topic bucket +0.1) with the payload text given as bytes. */
function message(domain: Buffer | string, text: Buffer | string, topic?: Buffer | string): [Buffer, Buffer] {
  const s = Buffer.alloc(28);
  s.writeFloatBE(0.18, 0);
  s.writeFloatBE(0.87, 4);
  s.writeInt32BE(42, 8);
  s.writeDoubleBE(Date.now() / 1000, 12);
  const d = Buffer.from(domain);
  return [Buffer.from(topic ?? Buffer.concat([Buffer.from("qis."), d, Buffer.from(".d+0.1")])), Buffer.concat([s, Buffer.from(text)])];
}

const decode = ([topic, payload]: [Buffer, Buffer]) => decodeLegacy(topic, payload, Buffer.alloc(PACKET_SIZE), 0);

describe("legacy text fields", () => {
  it.each([
    ["a NUL in the domain", "hv\u0000ac", `hv\u0000ac|${NODE_HEX}|`, "domain", "U+0000 at index 2"],
    ["a newline in the domain", "hvac\n", `hvac\n|${NODE_HEX}|`, "domain", "U+000A at index 4"],
    ["an escape in node_id", "hvac", "hvac|sensor\u001b[0m|", "node_id", "U+001B at index 6"],
    ["DEL in context_hash", "hvac", `hvac|${NODE_HEX}|ctx\u007f`, "context_hash", "U+007F at index 3"],
  ])("%s is ERR_LEGACY_PAYLOAD naming the field", (_label, domain, text, field, where) => {
    const e = catchError(() => decode(message(domain, text)), LegacyError);
    expect(e.code).toBe("ERR_LEGACY_PAYLOAD");
    expect(e.message).toMatch(new RegExp(`^payload text field ${field} .* contains the control character ${where.replace(/[+]/g, "\\+")}`));
  });

  it("bytes that are not UTF-8 are ERR_LEGACY_PAYLOAD (payload) or ERR_LEGACY_TOPIC (topic)", () => {
    const bad = Buffer.from([0x68, 0x76, 0xed, 0x61, 0x63]); // hv\xedac
    const text = Buffer.concat([bad, Buffer.from(`|${NODE_HEX}|`)]);
    expect(catchError(() => decode(message(bad, text)), LegacyError).code).toBe("ERR_LEGACY_PAYLOAD");
    expect(catchError(() => decode(message("hvac", `hvac|${NODE_HEX}|`, Buffer.concat([Buffer.from("qis."), bad, Buffer.from(".d+0.1")]))), LegacyError).code).toBe(
      "ERR_LEGACY_TOPIC",
    );
  });

  it("an agent with a legacy peer reports each, names the peer, and still takes good messages", async () => {
    const pub = new zmq.Publisher({ linger: 0 });
    await pub.bind("tcp://127.0.0.1:*");
    try {
      const agent = await startAgent({ peers: [{ name: "py", pub: pub.lastEndpoint, codec: "legacy" }] });
      const errors: QisError[] = [];
      agent.on("error", (e: QisError) => errors.push(e));
      // PUB/SUB joins late: send until the good message arrives; the bad ones go first each round.
      await waitFor(
        async () => {
          await pub.send(message("hv\u0000ac", `hv\u0000ac|${NODE_HEX}|`));
          const bad = Buffer.from([0x68, 0x76, 0xed, 0x61, 0x63]);
          await pub.send(message(bad, Buffer.concat([bad, Buffer.from(`|${NODE_HEX}|`)])));
          await pub.send(message("hvac", `hvac|${NODE_HEX}|`));
          await new Promise((r) => setTimeout(r, 20));
          return agent.store.size > 0 && errors.length >= 2;
        },
        () => `store ${agent.store.size}, errors ${errors.map((e) => e.code).join(",")}`,
      );
      const codes = new Set(errors.map((e) => e.code));
      expect([...codes]).toEqual(["ERR_LEGACY_PAYLOAD"]);
      expect(errors.some((e) => /^legacy peer py: payload text field domain .*U\+0000/.test(e.message))).toBe(true);
      expect(errors.some((e) => e.message === "legacy peer py: payload text is not valid UTF-8")).toBe(true);
      // only the good message (sent once a round) became packets: qis.hvac.dp0_1
      const addresses = agent.query("qis.>", 0, 1000).packets.map((p) => codec.decode(p.packet).address);
      expect(new Set(addresses)).toEqual(new Set(["qis.hvac.dp0_1"]));
    } finally {
      pub.close();
    }
  });
});
