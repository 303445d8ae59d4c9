/**
 * Generates test/vectors/device-link.json: the signed bytes of the device <-> storage node sync
 * (chain/wire/device-link.ts) from fixed keys: a queued transaction's record id and its
 * device-signed `up/tx` envelope, and a storage node's signed `down/ack` and `down/tx-ack`.
 * `npm run build && node dist/test/vectors/generate-device-link.js` rewrites the file;
 * test/unit/chain/wire/device-link-vectors.test.ts fails when the code no longer produces it.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Ed25519Signer,
  encodeAck,
  encodeTxAck,
  encodeTxEnvelope,
  outboxTxId,
  signTxEnvelope,
  toHex,
} from '../../chain/index.js';
import { fixed } from './generate-chain.js';

export function generateDeviceLinkVectors(): Record<string, unknown> {
  const device = new Ed25519Signer(fixed('vector/device-secret'));
  const node = new Ed25519Signer(fixed('vector/storage-node-secret'));
  const vehicleId = 'car-1';
  const tx = { seq: 42, kind: 'revoke', bytes: Uint8Array.of(0xff, 0x00, 0x01) };
  const txId = outboxTxId(vehicleId, tx);
  const chunkId = toHex(fixed('vector/chunk-id'));
  return {
    devicePublicKey: toHex(device.publicKey),
    nodePublicKey: toHex(node.publicKey),
    vehicleId,
    tx: { seq: tx.seq, kind: tx.kind, bytes: toHex(tx.bytes), id: txId },
    txEnvelope: toHex(encodeTxEnvelope(signTxEnvelope(vehicleId, tx, device))),
    ack: { ids: [chunkId], bytes: toHex(encodeAck(vehicleId, [chunkId], node)) },
    txAck: { bytes: toHex(encodeTxAck(vehicleId, [{ seq: tx.seq, id: txId }], node)) },
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(here, '..', '..', '..', 'test', 'vectors', 'device-link.json');
  writeFileSync(out, `${JSON.stringify(generateDeviceLinkVectors(), null, 2)}\n`);
  process.stdout.write(`written ${out}\n`);
}
