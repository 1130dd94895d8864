/** A strict reader of the Prometheus text format (0.0.4), for tests: every line must parse. */

export interface Family {
  name: string;
  type: string;
  help: string;
  /** series text (name{labels}) → value */
  samples: Map<string, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$/;

/** Families in page order; throws on any line that is not HELP, TYPE or a sample of the family they opened. */
export function parseExposition(text: string): Family[] {
  if (!text.endsWith("\n")) throw new Error("the page must end with a line feed");
  const families: Family[] = [];
  let current: Family | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      current = { name: m[1]!, type: "", help: m[2]!, samples: new Map() };
      if (families.some((f) => f.name === current!.name)) throw new Error(`family ${current.name} twice`);
      families.push(current);
    } else if ((m = /^# TYPE (\S+) (counter|gauge)$/.exec(line))) {
      if (current === null || current.name !== m[1] || current.type !== "") throw new Error(`TYPE out of place: ${line}`);
      current.type = m[2]!;
    } else if ((m = SAMPLE.exec(line))) {
      if (current === null || m[1] !== current.name) throw new Error(`sample outside its family: ${line}`);
      const v = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
      if (m[3] !== "NaN" && Number.isNaN(v)) throw new Error(`bad value: ${line}`);
      const series = `${m[1]}${m[2] ?? ""}`;
      if (current.samples.has(series)) throw new Error(`series twice: ${series}`);
      current.samples.set(series, v);
    } else throw new Error(`not a line of the text format: ${JSON.stringify(line)}`);
  }
  return families;
}

/** name{labels} → value over all families. */
export function seriesOf(families: Family[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of families) for (const [k, v] of f.samples) out.set(k, v);
  return out;
}
