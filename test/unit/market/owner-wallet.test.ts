/**
 * The owner's wallet (market/owner-wallet.ts) against a real one-producer chain node: register a
 * vehicle, bind a device, grant (the bundle the device installs checks against the owner key), and
 * revoke, each waited for until the light client proves its effect in a final state; funding a
 * device and the verified history. Then a node that lies (a real HTTP proxy rewriting its answers)
 * about state, about inclusion or about blocks is caught with a MarketError naming the lie.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_TERMS,
  encodeGrantBundle,
  encodeTerms,
  termsHash,
  verifyGrantBundle,
} from '../../../agent/permissions/index.js';
import {
  type CanonicalValue,
  decodeBlock,
  decodeCanonical,
  decodeUpdate,
  encodeBlock,
  encodeCanonical,
  encodeSignedTx,
  encodeUpdate,
  fromHex,
  toHex,
  UNIT,
} from '../../../chain/index.js';
import { MarketError, OwnerWallet } from '../../../market/index.js';
import { type OwnerChain, startLyingProxy, startOwnerChain } from '../../support/owner-chain.js';

let chain: OwnerChain;
let checkpoint: Uint8Array;
const ownerSecret = new Uint8Array(32).fill(41);
const deviceSecret = new Uint8Array(32).fill(42);
const granteeSecret = new Uint8Array(32).fill(43);
const VEHICLE = 'owner-car-1';

const wallet = (nodeUrl: string, secretKey: Uint8Array = ownerSecret) =>
  new OwnerWallet({ nodeUrl, secretKey, checkpoint, pollMs: 50 });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    if (err instanceof MarketError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

/** A positional record (CBOR array) with item `i` replaced. */
function altered(value: Uint8Array, i: number, v: CanonicalValue): Uint8Array {
  const a = [...(decodeCanonical(value) as CanonicalValue[])];
  a[i] = v;
  return encodeCanonical(a);
}

let grantId = '';
let deviceAddress = '';

beforeAll(async () => {
  chain = await startOwnerChain();
  checkpoint = await chain.checkpoint();
  // The whale pays the owner's start: QDT gives the owner mana for fee-free transactions.
  const whale = wallet(chain.apiUrl, chain.whaleSecret);
  await whale.fundDevice(wallet(chain.apiUrl).address, 1000n * UNIT);
  deviceAddress = wallet(chain.apiUrl, deviceSecret).address;
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

describe('the owner wallet against a real node', () => {
  it('registers, binds, grants and revokes, each proven final', async () => {
    const w = wallet(chain.apiUrl);
    expect((await w.balance()).qdt).toBe(1000n * UNIT);

    const reg = await w.registerVehicle(VEHICLE);
    expect(reg.kind).toBe('registerVehicle');
    expect((await w.vehicle(VEHICLE))?.owner).toBe(w.address);
    // Doing it twice is refused before anything is signed.
    expect(await codeOf(w.registerVehicle(VEHICLE))).toMatch(/^ALREADY_DONE: .*owner-car-1/);

    await w.bindDevice(VEHICLE, deviceAddress);
    expect((await w.vehicle(VEHICLE))?.devices).toEqual([deviceAddress]);

    const terms = encodeTerms({ ...BASE_TERMS, rateHz: 1 });
    const now = Date.now();
    const signed = await w.signGrant({
      vehicleId: VEHICLE,
      grantee: wallet(chain.apiUrl, granteeSecret).address,
      kind: 'listen',
      scope: ['Vehicle.Speed'],
      fromMs: now,
      toMs: now + 3_600_000,
      termsHash: termsHash(terms),
    });
    // The bundle the device installs checks against the owner key and the vehicle.
    const bundle = encodeGrantBundle(encodeSignedTx(signed), terms);
    const v = verifyGrantBundle(bundle, { ownerPublicKey: fromHex(w.address), vehicleId: VEHICLE }, now);
    const granted = await w.submitGrant(signed);
    grantId = granted.grantId;
    expect(v.id).toBe(grantId);
    expect(granted.grant).toMatchObject({ kind: 'listen', scope: ['Vehicle.Speed'], revoked: false });

    const revoked = await w.revoke(grantId);
    expect(revoked.grant.revoked).toBe(true);
    expect((await w.grant(grantId))?.revoked).toBe(true);
    expect(await codeOf(w.revoke(grantId))).toMatch(/^ALREADY_DONE: /);
  }, 60_000);

  it('funds a device and lists its history from blocks chained to the certified head', async () => {
    const w = wallet(chain.apiUrl);
    const before = await w.balance();
    await w.fundDevice(deviceAddress, 5n * UNIT);
    const after = await w.balance();
    expect(before.qdt - after.qdt).toBeGreaterThanOrEqual(5n * UNIT);
    const h = await w.history();
    expect(h.fromHeight).toBe(1);
    expect(h.entries.map((e) => e.kind)).toEqual([
      'transfer',
      'revoke',
      'grant',
      'bindDevice',
      'registerVehicle',
      'transfer',
    ]);
    expect(h.entries.at(-1)?.direction).toBe('in');
  }, 60_000);

  it('refuses to act on a vehicle another key owns, naming it', async () => {
    const stranger = wallet(chain.apiUrl, granteeSecret);
    expect(await codeOf(stranger.bindDevice(VEHICLE, deviceAddress))).toMatch(
      /^NOT_OWNER: vehicle 'owner-car-1' is registered to /,
    );
    expect(await codeOf(stranger.bindDevice('never-registered', deviceAddress))).toMatch(
      /^MISSING_RECORD: vehicle 'never-registered' is not registered/,
    );
    expect(await codeOf(stranger.bindDevice(VEHICLE, 'XYZ'))).toMatch(/^BAD_ARGUMENT: device key 'XYZ'/);
  });
});

describe('a node that lies to the owner', () => {
  it('is caught when it changes a record, claims an inclusion that did not happen, or alters a block', async () => {
    const proxy = await startLyingProxy(chain.apiUrl);
    try {
      const w = wallet(proxy.url);
      const owner = w.address;
      // The revoked grant reported live again (records are positional arrays; `revoked` is item 11),
      // in the JSON /state answer and in the proof-carrying one.
      proxy.setRewrite((path, body) => {
        if (path.startsWith('/light/state')) {
          const u = decodeUpdate(body);
          return encodeUpdate({
            ...u,
            proofs: u.proofs.map((p) =>
              p.key === `grant/${grantId}` && p.value !== null
                ? { ...p, value: altered(p.value, 11, false) }
                : p,
            ),
          });
        }
        return body;
      });
      expect(await codeOf(w.grant(grantId))).toMatch(/^UNPROVEN: the node's answer for grant\//);
      // The owner's nonce moved on, as if a transaction were final (an inclusion that did not happen).
      proxy.setRewrite((path, body) => {
        if (!path.startsWith('/light/state')) return body;
        const u = decodeUpdate(body);
        return encodeUpdate({
          ...u,
          proofs: u.proofs.map((p) =>
            p.key === `acct/${owner}` && p.value !== null
              ? {
                  ...p,
                  value: altered(p.value, 4, Number((decodeCanonical(p.value) as CanonicalValue[])[4]) + 1),
                }
              : p,
          ),
        });
      });
      expect(await codeOf(w.balance())).toMatch(/^UNPROVEN: /);
      expect(await codeOf(w.fundDevice(deviceAddress, 1n))).toMatch(/^UNPROVEN: /);
      // A block with the owner's transaction taken out.
      proxy.setRewrite((path, body) => {
        if (!path.startsWith('/blocks/')) return body;
        const doc = JSON.parse(Buffer.from(body).toString('utf8')) as { bytes: string };
        const b = decodeBlock(fromHex(doc.bytes));
        if (!b.txs.some((t) => t.tx.sender === owner)) return body;
        const forged = encodeBlock({ ...b, txs: b.txs.filter((t) => t.tx.sender !== owner) });
        return Buffer.from(JSON.stringify({ ...doc, bytes: toHex(forged) }));
      });
      expect(await codeOf(w.history())).toMatch(/^BAD_BLOCK: \/blocks\/\d+: its transactions do not match/);
      // The honest answers through the same proxy still check.
      proxy.setRewrite((_p, b) => b);
      expect((await w.grant(grantId))?.revoked).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
