import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // forks, not threads: a zeromq socket left open aborts a worker thread (exit 134),
    // while a forked worker reports an ordinary timeout (shared/notes/platform.md).
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
