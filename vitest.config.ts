import { defineConfig } from "vitest/config";

// .ci/run sets QIS_EDGE_TEST_RESULTS to also get machine-readable results for its summary line.
const results = process.env.QIS_EDGE_TEST_RESULTS;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // forks, not threads: a zeromq socket left open aborts a worker thread (exit 134),
    // while a forked worker reports an ordinary timeout (shared/notes/platform.md).
    pool: "forks",
    // Every run gets one temp root as TMPDIR, each test file its own dir in it. A test file that
    // leaves something there fails, and so does one that blocks its worker for long (guards.ts);
    // anything else left in the root fails the run (temp-root.ts).
    globalSetup: ["test/setup/temp-root.ts"],
    setupFiles: ["test/setup/guards.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: results ? ["default", ["json", { outputFile: results }]] : ["default"],
  },
});
