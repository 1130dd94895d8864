/** The stdio protocol: an agent as a supervisor's child process (docs/stdio.md). */
export { CborReader, CborWriter, createReader, createWriter, FRAMINGS, MAX_MESSAGE_BYTES, NdjsonReader, NdjsonWriter, type Framing, type MessageSink } from "./framing.js";
export { ErrorCode, OPS, PROTOCOL_VERSION, QUERY_LIMIT_DEFAULT, QUERY_LIMIT_MAX, requestSchemas, type Op } from "./protocol.js";
export { StdioSession, type StdioCounters, type StdioOptions } from "./session.js";
