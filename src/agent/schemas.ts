/**
 * The modules built on typebox (schemas and the checks made with them), reached through
 * functions. Here they are static imports; the bundle (scripts/bundle.js) turns each into a
 * require() that esbuild evaluates on the first call, so an agent that never checks a config
 * file, an environment override or an observation neither runs typebox nor builds a schema:
 * ~2 MiB of an idle agent's RSS (docs/devices.md, "Idle memory").
 */
import * as config from "./config-schema.js";
import * as observation from "./observation-schema.js";

export const configSchema = (): typeof config => config;
export const observationSchema = (): typeof observation => observation;
