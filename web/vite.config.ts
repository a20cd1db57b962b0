import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import preact from "@preact/preset-vite";
import { defineConfig, type Plugin } from "vite";

const outDir = fileURLToPath(new URL("../dist/web", import.meta.url));
const COMPRESSIBLE = /\.(js|css|html|svg|json)$/;

/**
 * Writes `.gz` and `.br` next to every text file of the build, so the server (@fastify/static with
 * `preCompressed`) sends compressed files without compressing per request.
 */
function precompress(): Plugin {
  const gz = promisify(gzip);
  const br = promisify(brotliCompress);
  return {
    name: "pumpwatch-precompress",
    apply: "build",
    async closeBundle() {
      const files = (await readdir(outDir, { recursive: true })).filter((f) => COMPRESSIBLE.test(f));
      for (const file of files) {
        const path = join(outDir, file);
        const data = await readFile(path);
        await writeFile(`${path}.gz`, await gz(data, { level: 9 }));
        await writeFile(`${path}.br`, await br(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  plugins: [preact(), precompress()],
  build: {
    outDir,
    emptyOutDir: true,
    // The CSP forbids inline code: no inlined scripts, and the module-preload helper stays a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    target: "es2022",
  },
});
