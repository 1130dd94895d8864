export { QisError, UsageError } from "./errors.js";
export * from "./packet/index.js";
export * from "./address/index.js";
export {
  ObservationSchema,
  ObservationError,
  parseObservation,
  observationToFields,
  type Observation,
} from "./agent/observation.js";
export * from "./store/index.js";
export * from "./synth/index.js";
