/** Plain HTTP/1.1 requests for the metrics tests: node:http without connection reuse, and raw bytes. */
import { request } from "node:http";
import { connect } from "node:net";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function http(url: string, method = "GET", headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url}: no answer in 5 s`)));
    req.end();
  });
}

/** Writes `raw` on a new connection; resolves with everything read until the server closes it. */
export function rawExchange(port: number, raw: string, timeoutMs = 5000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closedByServer: false });
    }, timeoutMs);
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => (text += d));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    sock.write(raw);
  });
}
