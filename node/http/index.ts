/**
 * The node's HTTP JSON API: routes (api.ts, market-api.ts) on plain requests and responses
 * (types.ts), and the node:http server (server.ts).
 */
export { handleApi, MAX_BODY_BYTES } from './api.js';
export {
  DEFAULT_PAGE_CHUNKS,
  FETCH_REFUSALS,
  type FetchRefusal,
  handleMarket,
  MAX_PAGE_BYTES,
  MAX_PAGE_CHUNKS,
  type MarketContext,
} from './market-api.js';
export { type ApiServer, startApiServer } from './server.js';
export type { ApiRequest, ApiResponse } from './types.js';
