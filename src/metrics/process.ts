/**
 * The standard process_* series every Prometheus client exposes, for this process: resident
 * memory (/proc/self/statm), CPU seconds (getrusage: user + system) and the start time
 * (/proc/self/stat's starttime after /proc/stat's btime, read once).
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
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

/**
 * Resident bytes from /proc/self/statm, read again through one open descriptor: ~3.5 µs, against
 * ~10 µs for process.memoryUsage.rss() (which opens and parses /proc/self/stat each time), a
 * third of a scrape's render. statm counts pages: the page size (4, 16 or 64 KiB on ARM kernels)
 * is found once by comparing the two. Without /proc, process.memoryUsage.rss().
 */
export class ResidentMemory {
  readonly #buf = Buffer.alloc(128);
  #fd: number | null = null;
  #pageSize = 4096;

  constructor() {
    try {
      this.#fd = openSync("/proc/self/statm", "r");
      const pages = this.#pages();
      const ratio = process.memoryUsage.rss() / pages;
      this.#pageSize = [4096, 16_384, 65_536].reduce((best, p) => (Math.abs(Math.log2(ratio / p)) < Math.abs(Math.log2(ratio / best)) ? p : best));
    } catch {
      this.close();
    }
  }

  #pages(): number {
    const n = readSync(this.#fd!, this.#buf, 0, this.#buf.length, 0);
    const text = this.#buf.toString("latin1", 0, n);
    const start = text.indexOf(" ") + 1;
    const pages = Number(text.slice(start, text.indexOf(" ", start)));
    if (!(pages > 0)) throw new Error(`/proc/self/statm: ${text}`);
    return pages;
  }

  bytes(): number {
    if (this.#fd !== null) {
      try {
        return this.#pages() * this.#pageSize;
      } catch {
        this.close();
      }
    }
    return process.memoryUsage.rss();
  }

  close(): void {
    if (this.#fd === null) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already gone
    }
    this.#fd = null;
  }
}

const RSS = familyHeader("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
const CPU = familyHeader("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
const START = familyHeader("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");

/** What the process families read: the start time (processStartTimeSeconds(), once) and the RSS reader. */
export interface ProcessInfo {
  startTime: number;
  rss: { bytes(): number };
}

/** The three families, rendered now. */
export function renderProcess(p: ProcessInfo): string {
  const cpu = process.cpuUsage();
  return (
    `${RSS}process_resident_memory_bytes ${p.rss.bytes()}\n` +
    `${CPU}process_cpu_seconds_total ${formatValue((cpu.user + cpu.system) / 1e6)}\n` +
    `${START}process_start_time_seconds ${formatValue(p.startTime)}\n`
  );
}
