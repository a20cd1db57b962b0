/**
 * The one error type of pumpwatch. Every failure a caller can act on is a `PumpwatchError` with a
 * code from the closed set below; each transport maps the code once (HTTP status, MQTT CONNACK
 * return code, Azure DPS errorCode) through the `Record<ErrorCode, …>` tables, so a new code cannot
 * be left unmapped.
 */
export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "THROTTLED"
  | "UNAVAILABLE"
  | "INTERNAL";

export class PumpwatchError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail for the API error body. Never secrets. */
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = "PumpwatchError";
    this.code = code;
    this.detail = detail;
  }
}

export const httpStatus: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  THROTTLED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * MQTT 3.1.1 CONNACK return codes (§3.2.2.3). Azure IoT Hub answers 5 for bad credentials and
 * disabled devices and 3 for transient overload, which the Node SDK retries (azure-protocol.md §5.2).
 */
export const connackCode: Record<ErrorCode, 3 | 4 | 5> = {
  BAD_REQUEST: 5,
  UNAUTHORIZED: 5,
  FORBIDDEN: 5,
  NOT_FOUND: 5,
  CONFLICT: 5,
  PAYLOAD_TOO_LARGE: 5,
  THROTTLED: 3,
  UNAVAILABLE: 3,
  INTERNAL: 3,
};

/** Azure DPS `errorCode` values (status × 1000 + detail), as in `ProvisioningServiceErrorDetails`. */
export const dpsErrorCode: Record<ErrorCode, number> = {
  BAD_REQUEST: 400000,
  UNAUTHORIZED: 401000,
  FORBIDDEN: 403000,
  NOT_FOUND: 404000,
  CONFLICT: 409000,
  PAYLOAD_TOO_LARGE: 413000,
  THROTTLED: 429000,
  UNAVAILABLE: 503000,
  INTERNAL: 500000,
};

export function asPumpwatchError(err: unknown): PumpwatchError {
  if (err instanceof PumpwatchError) return err;
  return new PumpwatchError("INTERNAL", "internal error: the failure was logged; retry later or report it");
}
