import type { FastifyInstance } from "fastify";
import { PumpwatchError } from "../core/errors.js";
import {
  type PrivacyInput,
  type PrivacyLocale,
  privacyInformation,
  privacyMarkdown,
} from "../tenancy/privacy.js";

/** The language asked for: `lang`, else the first of German or English in Accept-Language, else English. */
function locale(lang: string | undefined, accept: string | undefined): PrivacyLocale {
  if (lang !== undefined) {
    if (lang === "de" || lang === "en") return lang;
    throw new PumpwatchError("BAD_REQUEST", `'lang' must be de or en, got '${lang}'`);
  }
  for (const part of (accept ?? "").split(",")) {
    const tag = part.trim().slice(0, 2).toLowerCase();
    if (tag === "de" || tag === "en") return tag;
  }
  return "en";
}

/**
 * `GET /api/privacy` — the privacy information of this installation, generated from its data
 * model and settings (issue 6 item 9). Public: people read it before they have an account.
 * `lang` de|en (default from Accept-Language), `format` json (structured, for the dashboard) or
 * markdown.
 */
export function privacyRoute(app: FastifyInstance, input: Omit<PrivacyInput, "locale">): void {
  app.get<{ Querystring: { lang?: string; format?: string } }>("/api/privacy", async (req, reply) => {
    const doc = privacyInformation({
      ...input,
      locale: locale(req.query.lang, req.headers["accept-language"]),
    });
    const format = req.query.format ?? "json";
    if (format === "json") return doc;
    if (format === "markdown") return reply.type("text/markdown; charset=utf-8").send(privacyMarkdown(doc));
    throw new PumpwatchError("BAD_REQUEST", `'format' must be json or markdown, got '${format}'`);
  });
}
