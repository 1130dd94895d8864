/**
 * The Prometheus text exposition format, version 0.0.4: what a metric family looks like on the
 * wire. https://prometheus.io/docs/instrumenting/exposition_formats/
 */

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value: backslash, double quote and line feed escaped. */
export function escapeLabel(value: string): string {
  // Peer names rarely hold any of the three: test once, replace only when needed.
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value;
}

/** HELP text: backslash and line feed escaped (a double quote stays). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** A sample value as Go's ParseFloat reads it. */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

/** The two comment lines that open a family. */
export function familyHeader(name: string, type: "counter" | "gauge", help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
