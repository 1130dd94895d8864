/**
 * The metrics and health listener (config `metrics.listen`), written on node:http directly: a
 * client library costs ~11 MiB of RSS (docs/operations.md). Loaded by a dynamic import only
 * when metrics are on, so that an agent without them never loads node:http.
 *
 *   GET /metrics   the Prometheus text format (./render.ts)
 *   GET /healthz   200 {"status":"ready"} once sockets are bound and the store is open,
 *                  else 503 with {"status":"starting"|"stopping","reason":"..."}
 *
 * It is a network listener, so every request is bounded: HEAD and GET only (405), two paths
 * (404), no request body (413, and the connection is closed unread), 4 KiB of headers (431),
 * 5 s to send them, 10 s per request, idle keep-alive connections closed after 5 s, at most
 * 16 connections at once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { QisError } from "../errors.js";
import type { Logger } from "../agent/log.js";
import type { ListenAddress } from "./listen.js";
import { processStartTimeSeconds, ResidentMemory } from "./process.js";
import { renderMetrics, type MetricsSnapshot } from "./render.js";
import { CONTENT_TYPE } from "./text-format.js";

export interface Health {
  ok: boolean;
  status: string;
  reason?: string;
}

/** Where the listener reads what it serves, at each request. */
export interface MetricsSource {
  snapshot(): MetricsSnapshot;
  health(): Health;
}

export interface MetricsServer {
  /** "http://HOST:PORT" as bound (the free port chosen for port 0) */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The listener could not bind metrics.listen (in use, not an address of this machine, ...). */
export class MetricsListenError extends QisError {
  readonly where = "metrics.listen";
  readonly endpoint: string;
  constructor(endpoint: string, cause: NodeJS.ErrnoException) {
    super("ERR_METRICS_LISTEN", `cannot listen on metrics.listen ${endpoint}: ${cause.code ?? cause.message}`, { cause });
    this.endpoint = endpoint;
  }
}

export const LIMITS = { maxHeaderSize: 4096, headersTimeoutMs: 5000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5000, maxConnections: 16 } as const;

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store", ...extra });
  res.end(req.method === "HEAD" ? undefined : body);
}

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";

/** Listens on `listen`; rejects with ERR_METRICS_LISTEN (naming metrics.listen and the cause) when it cannot. */
export async function startMetricsServer(listen: ListenAddress, source: MetricsSource, logger?: Logger): Promise<MetricsServer> {
  const proc = { startTime: processStartTimeSeconds(), rss: new ResidentMemory() };
  const server = createServer(
    {
      maxHeaderSize: LIMITS.maxHeaderSize,
      headersTimeout: LIMITS.headersTimeoutMs,
      requestTimeout: LIMITS.requestTimeoutMs,
      keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
    },
    (req, res) => {
      try {
        handle(req, res);
      } catch (err) {
        logger?.error("metrics request failed", { err });
        if (!res.headersSent) send(res, req, 500, TEXT, "internal error\n", { Connection: "close" });
        else res.destroy();
      }
    },
  );
  server.maxConnections = LIMITS.maxConnections;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const length = req.headers["content-length"];
    // A body is never read: the answer closes the connection instead, with the body unread.
    const close = (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined ? { Connection: "close" } : undefined;
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== "/metrics" && path !== "/healthz") {
      send(res, req, 404, TEXT, "not found: GET /metrics or /healthz\n", close);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, req, 405, TEXT, `method ${req.method ?? "?"} not allowed: GET or HEAD\n`, { Allow: "GET, HEAD", ...close });
      return;
    }
    if (close !== undefined) {
      send(res, req, 413, TEXT, "no request body is accepted\n", close);
      return;
    }
    if (path === "/metrics") {
      send(res, req, 200, CONTENT_TYPE, renderMetrics(source.snapshot(), proc));
      return;
    }
    const h = source.health();
    const body = `${JSON.stringify(h.reason === undefined ? { status: h.status } : { status: h.status, reason: h.reason })}\n`;
    send(res, req, h.ok ? 200 : 503, JSON_TYPE, body);
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      proc.rss.close();
      const where = `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
      reject(new MetricsListenError(where, err));
    };
    server.once("error", failed);
    server.listen({ host: listen.host, port: listen.port, exclusive: true }, () => {
      server.off("error", failed);
      resolve();
    });
  });
  server.on("error", (err) => logger?.error("metrics listener error", { err }));
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        proc.rss.close();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
