/**
 * Runs the pumpwatch CLI from the TypeScript sources, so tests and benchmarks can start a real server
 * as a child process: `node --import tsx test/helpers/cli.ts start --data DIR ...`.
 */
import { main } from "../../src/cli.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pumpwatch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
