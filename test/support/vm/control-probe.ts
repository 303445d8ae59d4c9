/**
 * Runs inside the control VM test (compiled to dist/): a grantee on the broker. It publishes the
 * owner's grant on the vehicle's downlink, then sends signed commands one at a time and waits for
 * each receipt: three unlocks, a replay of the first unlock's bytes, and a `lock` the grant does
 * not cover. Writes the receipts (checked against the device key) as JSON to its last argument.
 *
 *   node control-probe.js BROKER VEHICLE GRANT_HEX_FILE GRANTEE_SECRET_HEX DATA_DIR OUT
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeGrantBundle } from '../../../agent/permissions/index.js';
import { openMqttUplink } from '../../../agent/sync/index.js';
import {
  Ed25519Signer,
  fromHex,
  getPublicKey,
  openReceipt,
  type Receipt,
  signCommand,
  toHex,
} from '../../../chain/index.js';

const [broker, vehicle, grantFile, secretHex, dataDir, out] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const bundle = fromHex(readFileSync(grantFile, 'utf8').trim());
const grantId = toHex(decodeGrantBundle(bundle).tx.id);
const grantee = new Ed25519Signer(fromHex(secretHex));
const devicePub = getPublicKey(fromHex(readFileSync(join(dataDir, 'device.key'), 'utf8').trim()));
const base = `qood/v1/${vehicle}`;

const link = openMqttUplink({ url: broker, clientId: `grantee-${process.pid}` });
const deadline = Date.now() + 30_000;
while (!link.connected) {
  if (Date.now() > deadline) throw new Error(`not connected to ${broker}`);
  await new Promise((r) => setTimeout(r, 50));
}
const receipts: Receipt[] = [];
link.onMessage((topic, payload) => {
  if (topic === `${base}/control/${grantId}/receipt`) receipts.push(openReceipt(payload, devicePub));
});
await link.subscribe(`${base}/control/${grantId}/receipt`);
await link.publish(`${base}/down/grant`, bundle);
await new Promise((r) => setTimeout(r, 2000));

const command = (name: string) =>
  signCommand(
    { grantId, command: name, args: {}, nonce: toHex(new Uint8Array(randomBytes(16))), issuedMs: Date.now() },
    grantee,
  );
async function send(bytes: Uint8Array): Promise<void> {
  const before = receipts.length;
  await link.publish(`${base}/control/${grantId}/cmd`, bytes);
  const until = Date.now() + 20_000;
  while (receipts.length === before) {
    if (Date.now() > until) throw new Error('no receipt within 20 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
const first = command('unlock');
await send(first);
await send(command('unlock'));
await send(command('unlock'));
await send(first);
await send(command('lock'));
writeFileSync(out, JSON.stringify(receipts));
await link.close();
