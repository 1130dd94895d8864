/**
 * The benchmark packets: varied, realistic PacketFields from a fixed seed, so every run and every
 * machine encodes the same 10,000 packets. Shared by the bench scripts.
 */
import { FLAG_LEGACY, FLAG_SYNTHESIZED } from "../../dist/index.js";
import { prng } from "./harness.js";

export const ADDRESSES = [
  "qis.hvac.energy-anomaly",
  "qis.iot.predictive-maintenance.bearing-wear",
  "qis.hvac.chiller.efficiency-drift",
  "qis.grid.transformer.hotspot-temperature",
  "qis.water.pump.cavitation",
  "qis.agri.irrigation.soil-moisture-deficit",
  "qis.iot.predictive-maintenance.belt-slip",
  "qis.fleet.ev-battery.capacity-fade",
  "qis.health.wearable.arrhythmia-flag",
  "qis.retail.cold-chain.temperature-excursion",
  "qis.mfg.cnc.spindle-vibration",
  "qis.building.occupancy.co2-ventilation",
];
const CONCLUSIONS = [
  "compressor short-cycling after 02:00",
  "bearing temperature trend +3.1 C/week",
  "replace filter within 10 days",
  "no anomaly after recalibration",
  "vibration RMS above ISO 10816 zone B",
  "setpoint drift 0.8 C since firmware 2.4.1",
  "belt tension low; slip events at startup",
  "capacity fade 2.3%/100 cycles, within spec",
];
const CONCLUSIONS_UTF8 = [
  "température de soufflage élevée (+4 °C)",
  "Lagerverschleiß wahrscheinlich – Schmierung prüfen",
  "振動が増加: ベアリング交換を推奨",
  "pump cavitation suspected 💧 check inlet ⚠️",
  "давление падает — проверить клапан",
];

export function makePackets(count, seed) {
  const r = prng(seed);
  const int = (n) => Math.floor(r() * n);
  const bytes = (n) => Uint8Array.from({ length: n }, () => int(256));
  const nodes = Array.from({ length: 8 }, () => ({ id: bytes(16), seq: int(1_000_000) }));
  const t0 = 1_760_000_000_000;
  const list = [];
  const stats = { context: 0, conclusion: 0, utf8: 0, synthesized: 0 };
  for (let i = 0; i < count; i++) {
    const node = nodes[int(nodes.length)];
    const synthesized = r() < 0.15;
    const p = {
      flags: synthesized ? FLAG_SYNTHESIZED : r() < 0.03 ? FLAG_LEGACY : 0,
      hops: synthesized ? 1 + int(3) : 0,
      timestampMs: t0 + i * 37 + int(1000),
      ttlS: [0, 300, 3600, 86_400][int(4)],
      nObservations: 1 + Math.floor(r() ** 3 * 50_000),
      outcomeDelta: r() * 2 - 1,
      confidence: r(),
      seq: node.seq++,
      nodeId: node.id,
      address: ADDRESSES[int(ADDRESSES.length)],
    };
    if (r() < 0.4) {
      const n = 4 + int(13); // 4..16 values
      p.contextHash = bytes(16);
      p.context = Array.from({ length: n }, () => (r() - 0.5) * 200);
      stats.context++;
    }
    if (r() < 0.35) {
      const utf8 = r() < 0.12;
      p.conclusion = utf8 ? CONCLUSIONS_UTF8[int(CONCLUSIONS_UTF8.length)] : CONCLUSIONS[int(CONCLUSIONS.length)];
      stats.conclusion++;
      if (utf8) stats.utf8++;
    }
    if (synthesized) stats.synthesized++;
    list.push(p);
  }
  return { list, stats };
}

