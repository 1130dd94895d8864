import { defineConfig } from "vitest/config";

// .ci/run sets QIS_EDGE_TEST_RESULTS to also get machine-readable results for its summary line.
const results = process.env.QIS_EDGE_TEST_RESULTS;

/** What every project shares. */
const common = {
  // forks, not threads: a zeromq socket left open aborts a worker thread (exit 134),
  // while a forked worker reports an ordinary timeout (shared/notes/platform.md).
  pool: "forks" as const,
  // Every run gets one temp root as TMPDIR, each test file its own dir in it. A test file that
  // leaves something there fails, and so does one that blocks its worker for long (guards.ts);
  // anything else left in the root fails the run (temp-root.ts).
  setupFiles: ["test/setup/guards.ts"],
  testTimeout: 20_000,
  hookTimeout: 20_000,
};

export default defineConfig({
  test: {
    globalSetup: ["test/setup/temp-root.ts"],
    reporters: results ? ["default", ["json", { outputFile: results }]] : ["default"],
    projects: [
      { test: { ...common, name: "default", include: ["test/**/*.test.ts"] } },
      {
        // The store's and synthesis's behaviour suites once more over their TypeScript paths
        // (the default project runs them over the C paths when the addon is loaded), as the
        // packet suites run over both codecs. native.test.ts compares the two paths itself.
        test: {
          ...common,
          name: "typescript-path",
          include: ["test/store/**/*.test.ts", "test/synth/**/*.test.ts"],
          exclude: ["test/store/native.test.ts", "test/synth/native.test.ts"],
          env: { QIS_EDGE_NO_NATIVE: "1", QIS_EDGE_REQUIRE_NATIVE: "0" },
        },
      },
    ],
  },
});
