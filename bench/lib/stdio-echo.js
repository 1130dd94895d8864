/**
 * The baseline of bench/stdio.js: a child that answers every request with a fixed ack without
 * looking into it (ndjson: one line per line; cbor: one frame per frame), one write per chunk.
 * What the pipes, the process boundary and the supervisor's reading cost, with no protocol.
 *
 *   node bench/lib/stdio-echo.js ndjson|cbor
 */
const framing = process.argv[2] ?? "ndjson";
const ACK_JSON = Buffer.from('{"event":"ack","op":"observe","id":0,"address":"qis.hvac.energy-anomaly","seq":1838369733106688,"cursor":1}\n');
// The same ack as CBOR, framed.
const ACK_CBOR = (() => {
  const parts = [];
  const text = (s) => {
    const b = Buffer.from(s);
    parts.push(Buffer.from([0x60 | b.length]), b);
  };
  parts.push(Buffer.from([0xa6]));
  text("event"), text("ack"), text("op"), text("observe"), text("id"), parts.push(Buffer.from([0x00]));
  text("address"), parts.push(Buffer.from([0x77])), parts.push(Buffer.from("qis.hvac.energy-anomaly"));
  text("seq"), parts.push(Buffer.from([0x1b, 0, 6, 0x88, 0, 0, 0, 0, 0]));
  text("cursor"), parts.push(Buffer.from([0x01]));
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
})();

process.stdout.write(framing === "cbor" ? ACK_CBOR : ACK_JSON); // stands for "ready"
let rest = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  let n = 0;
  if (framing === "ndjson") {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  } else {
    const b = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let p = 0;
    while (b.length - p >= 4) {
      const len = b.readUInt32BE(p);
      if (b.length - p - 4 < len) break;
      p += 4 + len;
      n++;
    }
    rest = Buffer.from(b.subarray(p));
  }
  if (n === 0) return;
  const ack = framing === "cbor" ? ACK_CBOR : ACK_JSON;
  const out = Buffer.allocUnsafe(n * ack.length);
  for (let k = 0; k < n; k++) ack.copy(out, k * ack.length);
  process.stdout.write(out);
});
process.stdin.on("end", () => process.exit(0));
