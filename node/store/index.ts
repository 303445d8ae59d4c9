/** The chain store: its contract, the memory and SQLite implementations and rebuilding the state. */
export * from '../../chain/store/index.js';
export { CHAIN_STORE_APPLICATION_ID, SqliteChainStore } from './sqlite-chain-store.js';
