#!/usr/bin/env node
// Entry point of the `pumpwatch` command: runs the compiled CLI (built by `npm ci` via `prepare`).
import { main } from "../dist/cli.js";

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === "number") process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`pumpwatch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
