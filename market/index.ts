/**
 * The buyer's tools as a TypeScript API (the `qood market` commands use it): list descriptors on a
 * storage node, order, wait for the fill, fetch, check and decrypt, and see the payment split.
 */
export {
  MarketClient,
  type MarketClientOptions,
  type MarketListing,
  type MarketPage,
  type MarketQuery,
  type OrderStatus,
  type PlacedOrder,
  type SplitReport,
  type SplitShare,
} from './client.js';
export { MARKET_ERROR_CODES, MarketError, type MarketErrorCode } from './errors.js';
export { type FetchFn, NodeHttp } from './http.js';
export {
  checkPurchase,
  type FetchedPurchase,
  type MarketSample,
  type Purchase,
  type PurchaseRecords,
} from './purchase.js';
