/**
 * An agent in a child process, driven over Node's IPC channel: what `qis-edge demo` starts for
 * each node, and what the tests use to kill and restart real agent processes.
 *
 *   node dist/cli/agent-worker.js '<config JSON>'     (started with fork(), so process.send exists)
 *
 * Requests {id, op, ...} get one reply {id, ok, ...} or {id, ok: false, code, message}:
 *   observe {observations: object[]}   → {seqs: number[]}
 *   stats                              → {stats}
 *   estimate {address}                 → {estimate}
 *   consensus {domain}                 → {consensus}
 *   identities {pattern}               → {identities: string[]} ("<node id hex>:<seq>", store order)
 *   addPeer {pub, store?, name?, publicKey?} → {} (agent.addPeer: one more qis peer at run time)
 *   snapshot                           → {stats, synth} (agent.stats() and agent.synth.snapshot(), one moment)
 *   close                              → {} then exit 0
 * Events {event, ...}: ready {nodeId, endpoints}, peer {name, up}, synthesis {...}, uplink {name, broker, state, code?, reason?}, error {code, message}.
 * The worker exits when the parent goes away (the IPC channel closes): never an orphan.
 */
import { createAgent, type Agent } from "../agent/agent.js";
import { resolveConfig } from "../agent/config.js";
import { createLogger } from "../agent/log.js";
import { QisError } from "../errors.js";
import { PacketView } from "../packet/index.js";

interface Request {
  id: number;
  op: string;
  [key: string]: unknown;
}

const send = (msg: object): void => {
  process.send?.(msg);
};

function handle(agent: Agent, req: Request): object {
  switch (req.op) {
    case "observe": {
      const list = req.observations as unknown[];
      return { seqs: list.map((o) => agent.observe(o).seq) };
    }
    case "stats":
      return { stats: agent.stats() };
    case "estimate":
      return { estimate: agent.synth.estimate(req.address as string) ?? null };
    case "consensus":
      return { consensus: agent.synth.consensus(req.domain as string) ?? null };
    case "identities": {
      const ids: string[] = [];
      const view = new PacketView();
      agent.store.query((req.pattern as string | null) ?? null, 0, Infinity, (buf, offset) => {
        view.at(buf, offset);
        const at = view.nodeIdOffset;
        ids.push(`${Buffer.from(buf.subarray(at, at + 16)).toString("hex")}:${view.seq}`);
      });
      return { identities: ids };
    }
    case "addPeer": {
      const { pub, store, name, publicKey } = req;
      if (typeof pub !== "string") throw new QisError("ERR_WORKER_OP", 'addPeer: "pub" must be an endpoint string');
      if (store !== undefined && store !== null && typeof store !== "string") throw new QisError("ERR_WORKER_OP", 'addPeer: "store" must be an endpoint string or null');
      if (name !== undefined && typeof name !== "string") throw new QisError("ERR_WORKER_OP", 'addPeer: "name" must be a string');
      if (publicKey !== undefined && publicKey !== null && typeof publicKey !== "string") throw new QisError("ERR_WORKER_OP", 'addPeer: "publicKey" must be a Z85 key string or null');
      agent.addPeer({ pub, store: store ?? null, ...(name !== undefined ? { name } : {}), ...(typeof publicKey === "string" ? { publicKey } : {}) });
      return {};
    }
    case "snapshot":
      return { stats: agent.stats(), synth: agent.synth.snapshot() };
    default:
      throw new QisError("ERR_WORKER_OP", `unknown op "${req.op}"`);
  }
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    process.stderr.write("ERR_USAGE: agent-worker runs under fork() with an IPC channel\n");
    process.exit(2);
  }
  const config = resolveConfig(JSON.parse(process.argv[2] ?? "{}"), { env: {} });
  const agent = await createAgent(config, { logger: createLogger({ level: config.log.level, stream: process.stderr }) });
  agent.on("peer", (e) => send({ event: "peer", ...e }));
  agent.on("synthesis", (e) => send({ event: "synthesis", ...e }));
  agent.on("uplink", (e) => send({ event: "uplink", ...e }));
  agent.on("error", (err: QisError) => send({ event: "error", code: err.code, message: err.message }));
  const stop = async (): Promise<void> => {
    await agent.close();
    process.exit(0);
  };
  process.on("disconnect", () => void stop());
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  process.on("message", (req: Request) => {
    if (req.op === "close") {
      send({ id: req.id, ok: true });
      void stop();
      return;
    }
    try {
      send({ id: req.id, ok: true, ...handle(agent, req) });
    } catch (err) {
      const e = err as QisError;
      send({ id: req.id, ok: false, code: e.code ?? "ERR_INTERNAL", message: e.message });
    }
  });
  send({ event: "ready", nodeId: agent.nodeId, endpoints: agent.endpoints, epoch: agent.epoch });
}

main().catch((err: unknown) => {
  const e = err as QisError;
  process.stderr.write(`${e.code ?? "ERR_INTERNAL"}: ${e.message}\n`);
  process.exit(2);
});
