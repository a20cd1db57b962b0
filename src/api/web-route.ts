import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";

/**
 * The dashboard: the static single-page app that `npm run build` writes to `dist/web` (Vite, see
 * web/vite.config.ts), served at `/`. The same relative path works from `src/api` (tsx) and from
 * `dist/api` (compiled): both are two folders below the package root.
 */
export const WEB_ROOT = new URL("../../dist/web/", import.meta.url);

/** Vite names every file under assets/ by its content hash: it can be cached for a year. */
const ASSET_CACHE = "public, max-age=31536000, immutable";

function cacheHeaders(reply: FastifyReply, path: string): void {
  const asset = path.replaceAll("\\", "/").includes("/assets/");
  reply.header("cache-control", asset ? ASSET_CACHE : "no-cache");
}

/**
 * Registers `GET /` (index.html) and `GET /*` (the built files; an unknown path answers the
 * not-found handler). Both are PUBLIC in access.ts: the app itself carries no data, the API behind
 * it checks every call. Without a build, `GET /` answers 503 saying how to build it.
 */
export function webRoutes(app: FastifyInstance, root: URL = WEB_ROOT): void {
  const dir = fileURLToPath(root);
  if (!existsSync(`${dir}index.html`)) {
    app.get("/", async (_req, reply) =>
      reply
        .status(503)
        .send({ error: "UNAVAILABLE", message: "the dashboard is not built: run npm run build" }),
    );
    app.get("/*", async (_req, reply) => reply.callNotFound());
    return;
  }
  app.register(async (web) => {
    await web.register(fastifyStatic, {
      root: dir,
      prefix: "/",
      wildcard: true,
      index: false,
      // The build writes .br and .gz next to each text file (web/vite.config.ts).
      preCompressed: true,
      cacheControl: false,
      setHeaders: cacheHeaders,
    });
    web.get("/", async (_req, reply) => reply.sendFile("index.html"));
  });
}
