/**
 * Pins the signed bytes of the device <-> storage node sync (test/vectors/device-link.json, made by
 * test/vectors/generate-device-link.ts): the record id a device signs for a queued transaction, its
 * envelope, and a storage node's signed acks. The pinned acks open under the pinned node key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTxEnvelope, fromHex, openAck, openTxAck, verifyTxEnvelope } from '../../../../chain/index.js';
import { projectRoot } from '../../../support/system.js';
import { generateDeviceLinkVectors } from '../../../vectors/generate-device-link.js';

const pinned = JSON.parse(
  readFileSync(join(projectRoot(), 'test', 'vectors', 'device-link.json'), 'utf8'),
) as {
  devicePublicKey: string;
  nodePublicKey: string;
  vehicleId: string;
  tx: { seq: number; id: string };
  txEnvelope: string;
  ack: { ids: string[]; bytes: string };
  txAck: { bytes: string };
};

describe('device link vectors (test/vectors/device-link.json)', () => {
  it('are exactly what the code produces today (a change here is a protocol change)', () => {
    expect(JSON.parse(JSON.stringify(generateDeviceLinkVectors()))).toEqual(pinned);
  });

  it('the pinned envelope verifies under the device key and the pinned acks under the node key', () => {
    const e = decodeTxEnvelope(fromHex(pinned.txEnvelope));
    expect(e.ok && verifyTxEnvelope(pinned.vehicleId, e.value, fromHex(pinned.devicePublicKey))).toBe(true);
    const trust = { vehicleId: pinned.vehicleId, nodeKeys: [fromHex(pinned.nodePublicKey)] };
    const ack = openAck(fromHex(pinned.ack.bytes), trust);
    expect(ack.ok && ack.value.ids).toEqual(pinned.ack.ids);
    const txAck = openTxAck(fromHex(pinned.txAck.bytes), trust);
    expect(txAck.ok && txAck.value.txs).toEqual([{ seq: pinned.tx.seq, id: pinned.tx.id }]);
  });
});
