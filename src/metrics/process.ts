/**
 * The standard process_* series every Prometheus client exposes, for this process: resident
 * memory (VmRSS, which Node reads from /proc/self/stat), CPU seconds (getrusage: user + system)
 * and the start time (/proc/self/stat's starttime after /proc/stat's btime, read once).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { familyHeader, formatValue } from "./text-format.js";

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times: 100 on every architecture we ship. */
const USER_HZ = 100;

/** Seconds since the epoch at which this process started. */
export function processStartTimeSeconds(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "latin1");
    // Field 2 (the command name, in parentheses) may hold spaces: count fields after its ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTicks = Number(fields[19]); // field 22 of the whole line
    const btime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    if (btime !== null && Number.isFinite(startTicks)) return Number(btime[1]) + startTicks / USER_HZ;
  } catch {
    // not Linux, or /proc not mounted: Node's own idea of when it started
  }
  return Math.round(performance.timeOrigin) / 1000;
}

const RSS = familyHeader("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
const CPU = familyHeader("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
const START = familyHeader("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");

/** The three families, rendered now; `startTime` from processStartTimeSeconds(), read once. */
export function renderProcess(startTime: number): string {
  const cpu = process.cpuUsage();
  return (
    `${RSS}process_resident_memory_bytes ${process.memoryUsage.rss()}\n` +
    `${CPU}process_cpu_seconds_total ${formatValue((cpu.user + cpu.system) / 1e6)}\n` +
    `${START}process_start_time_seconds ${formatValue(startTime)}\n`
  );
}
