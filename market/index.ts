/**
 * The buyer's tools as a TypeScript API (the `qood market` commands use it): list descriptors on a
 * storage node, order, wait for the fill, fetch, check and decrypt, and see the payment split. And
 * the owner's wallet (`qood owner`): register, bind, grant, revoke, fund, with every answer proven.
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
  type FinalTx,
  type GrantRequest,
  type HistoryEntry,
  type OwnerBalance,
  type OwnerHistory,
  OwnerWallet,
  type OwnerWalletOptions,
  type SubmittedTx,
} from './owner-wallet.js';
export { decodeRecord, type Proven, ProvenReader, type ProvenReaderOptions } from './proven-reader.js';
export {
  checkPurchase,
  type FetchedPurchase,
  type MarketSample,
  type Purchase,
  type PurchaseRecords,
} from './purchase.js';
