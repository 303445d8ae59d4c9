/**
 * The request and response the HTTP API's routes (api.ts, market-api.ts) take and give: plain
 * values, so each route is a function tested without a socket; server.ts maps them to node:http.
 */

/** A request as the API sees it. */
export interface ApiRequest {
  readonly method: string;
  /** Path without the query string, percent-encoded as received. */
  readonly path: string;
  readonly contentType: string;
  readonly body: Uint8Array;
  /** The query string without its '?' (default: none). */
  readonly query?: string;
  /** Request headers by lower-case name (default: none). */
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

/** A response: status and a JSON-serialisable body, or bytes of `contentType`. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** Set when `body` is bytes (a Uint8Array) sent as they are. */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}
