/** docs/operations.md lists every metric family, and nothing else under a qis_edge_ name. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGENT_FAMILIES } from "../../src/metrics/families.js";

const doc = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");

describe("docs/operations.md", () => {
  it("has a table row for every family, with its type", () => {
    for (const f of AGENT_FAMILIES) expect(doc, f.name).toContain(`| \`${f.name}\` | ${f.type} |`);
  });

  it("names no series that does not exist", () => {
    const known = new Set([...AGENT_FAMILIES.map((f) => f.name), "qis_edge_build_info", "qis_edge_agent_ready"]);
    const named = new Set([...doc.matchAll(/\bqis_edge_[a-z_]+[a-z]\b/g)].map((m) => m[0]));
    expect([...named].filter((n) => !known.has(n) && !n.endsWith("_"))).toEqual([]);
  });
});
