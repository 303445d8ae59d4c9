/** The node's SQLite chain store (the contract, the memory store and rebuilding live in chain/). */
export { CHAIN_STORE_APPLICATION_ID, SqliteChainStore } from './sqlite-chain-store.js';
