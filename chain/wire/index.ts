/**
 * Wire formats both ends read: device <-> node (uplink envelopes, acks, topics, order notices) and
 * grantee <-> device (signed commands and receipts, sealed listener messages).
 */
export * from './control.js';
export * from './device-link.js';
export * from './listen.js';
export * from './order-notice.js';
