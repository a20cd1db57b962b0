import { request } from "node:https";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
type Json = any;

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is JSON, else undefined. */
  body: Json;
  raw: Buffer;
}

export interface ClientTarget {
  httpsPort: number;
  ca: string;
}

/**
 * An HTTPS client of the pumpwatch API as a browser or an integration uses it: a cookie jar for the
 * session cookie, the CSRF header on writes once logged in, or a bearer token.
 */
export class ApiClient {
  readonly #target: ClientTarget;
  #cookie: string | undefined;
  csrf: string | undefined;
  bearer: string | undefined;

  constructor(target: ClientTarget, opts: { bearer?: string } = {}) {
    this.#target = target;
    this.bearer = opts.bearer;
  }

  get hasSession(): boolean {
    return this.#cookie !== undefined;
  }

  /** The Cookie header a browser would send (for raw requests such as event streams). */
  cookieHeader(): string {
    return this.#cookie ?? "";
  }

  /** Drops the CSRF token (to check that writes without it are refused). */
  forgetCsrf(): void {
    this.csrf = undefined;
  }

  async login(email: string, password: string): Promise<ApiResponse> {
    const res = await this.call("POST", "/api/auth/login", { email, password });
    if (res.status === 200) this.csrf = res.body.csrfToken;
    return res;
  }

  /** Takes over the session that an answer (login, invitation) started. */
  adopt(res: ApiResponse): void {
    if (res.body?.csrfToken) this.csrf = res.body.csrfToken;
  }

  call(
    method: string,
    path: string,
    body?: unknown,
    opts: { headers?: Record<string, string>; rawBody?: string } = {},
  ): Promise<ApiResponse> {
    const payload = opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const headers: Record<string, string> = { ...opts.headers };
    if (payload !== undefined) {
      headers["content-type"] ??= "application/json";
      // Node sends DELETE bodies neither chunked nor with a length unless told.
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    if (this.bearer) headers["authorization"] ??= `Bearer ${this.bearer}`;
    if (this.#cookie) headers["cookie"] = this.#cookie;
    if (this.csrf && !["GET", "HEAD"].includes(method)) headers["x-csrf-token"] ??= this.csrf;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: this.#target.httpsPort,
          path,
          method,
          ca: this.#target.ca,
          servername: "localhost",
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            for (const c of res.headers["set-cookie"] ?? []) {
              const [pair] = c.split(";");
              const [name, value] = pair!.split("=");
              if (!name?.startsWith("__Host-pumpwatch-session")) continue;
              this.#cookie = value ? `${name}=${value}` : undefined;
              if (!value) this.csrf = undefined;
            }
            const raw = Buffer.concat(chunks);
            const isJson = String(res.headers["content-type"] ?? "").includes("json");
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: isJson && raw.length > 0 ? JSON.parse(raw.toString("utf8")) : undefined,
              raw,
            });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }
}
