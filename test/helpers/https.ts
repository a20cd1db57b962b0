import { request } from "node:https";
import type { TestServer } from "./server.js";

/**
 * Raw HTTPS GET against a test server that returns the body as text (to check what is streamed or
 * served as-is), with the given headers and, when `operatorToken` is set, the operator's bearer token.
 */
export function httpsGet(
  s: TestServer,
  path: string,
  opts: { headers?: Record<string, string>; operatorToken?: boolean } = {},
): Promise<{ status: number; type: string; text: string }> {
  const headers = opts.operatorToken
    ? { ...opts.headers, authorization: `Bearer ${s.operatorToken}` }
    : (opts.headers ?? {});
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: s.httpsPort, path, ca: s.ca, servername: "localhost", headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}
