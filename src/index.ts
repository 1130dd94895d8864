export { QisError, UsageError } from "./errors.js";
export * from "./packet/index.js";
export * from "./address/index.js";
export { ObservationSchema } from "./agent/observation-schema.js";
export {
  ObservationError,
  parseObservation,
  observationToFields,
  type Observation,
} from "./agent/observation.js";
export * from "./store/index.js";
export * from "./synth/index.js";
export { Agent, createAgent, type AgentOptions, type ObserveResult, type PacketEvent, type PeerEvent, type SynthesisEvent, type AgentEndpoints } from "./agent/agent.js";
export { resolveConfig, loadConfigFile, ConfigError, type AgentConfig, type PeerConfig } from "./agent/config.js";
export { configJsonSchema, AgentConfigSchema } from "./agent/config-schema.js";
export { createLogger, silentLogger, type Logger, type LogLevel } from "./agent/log.js";
export type { AgentStats, PeerStats } from "./agent/stats.js";
export { UplinkError, type UplinkErrorCode } from "./link/uplink/errors.js";
export type { Uplink, UplinkState, UplinkStateEvent, UplinkStats, UplinkTransport, TransportHandlers } from "./link/uplink/types.js";
