/**
 * What every socket of one agent shares: its ZeroMQ context (its own, so that its socket limit
 * and its ZAP handler are the agent's alone) and, when links are secured, its CURVE key pair.
 * Bound sockets are CURVE servers; connecting ones authenticate the peer by its public key.
 */
import * as zmq from "zeromq";
import { QisError } from "../../errors.js";

export interface CurveKeys {
  /** Z85, 40 characters */
  publicKey: string;
  secretKey: string;
}

export interface LinkEnv {
  context: zmq.Context;
  /** this agent's key pair; null: plain links */
  curve: CurveKeys | null;
}

/** The socket options this module sets. */
export interface LinkSocketOptions {
  context?: zmq.Context;
  curveServer?: boolean;
  curvePublicKey?: string;
  curveSecretKey?: string;
  curveServerKey?: string;
}

/** Options for a socket that binds (PUB, ROUTER): a CURVE server when keys are configured. */
export function serverOptions(env: LinkEnv | undefined): LinkSocketOptions {
  if (env === undefined) return {};
  if (env.curve === null) return { context: env.context };
  return { context: env.context, curveServer: true, curvePublicKey: env.curve.publicKey, curveSecretKey: env.curve.secretKey };
}

/** Options for a socket that connects (SUB, DEALER) to a peer whose public key is `serverKey`. */
export function clientOptions(env: LinkEnv | undefined, serverKey: string | null, peer: string): LinkSocketOptions {
  if (env === undefined) return {};
  if (env.curve === null) return { context: env.context };
  if (serverKey === null) throw new QisError("ERR_PEER_KEY", `peer ${peer}: links are secured with CURVE, so the peer needs its "publicKey"`);
  return { context: env.context, curveServerKey: serverKey, curvePublicKey: env.curve.publicKey, curveSecretKey: env.curve.secretKey };
}
