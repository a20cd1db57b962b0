import type { FastifyError, FastifyInstance } from "fastify";
import { httpStatus, PumpwatchError } from "../core/errors.js";

/** Maps every error to `{"error": CODE, "message": "what was wrong and what to do"}` with its HTTP status. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | PumpwatchError, req, reply) => {
    if (err instanceof PumpwatchError) {
      return reply
        .status(httpStatus[err.code])
        .send({ error: err.code, message: err.message, ...err.detail });
    }
    if (err.validation) {
      return reply.status(400).send({ error: "BAD_REQUEST", message: `invalid request: ${err.message}` });
    }
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, "request failed");
    return reply.status(status).send({
      error: status === 500 ? "INTERNAL" : (err.code ?? "BAD_REQUEST"),
      message:
        status === 500 ? "internal error: the failure was logged; retry later or report it" : err.message,
    });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0];
    return reply
      .status(404)
      .send({ error: "NOT_FOUND", message: `no route ${req.method} ${path}; see docs/api.md` });
  });
}
