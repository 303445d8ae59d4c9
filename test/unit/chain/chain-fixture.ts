/**
 * A small chain for state-machine tests: named keys derived from labels, a genesis with balances and
 * four producers, and helpers to sign transactions with the right nonce and apply them in blocks.
 */
import {
  applyBlock,
  buildBlock,
  type ChainState,
  createGenesis,
  Ed25519Signer,
  getAccount,
  minimalParams,
  type SignedTx,
  sha256,
  signTx,
  type TxBodies,
  type TxKind,
  toHex,
  UNIT,
  type UnsignedTx,
  validateTx,
} from '../../../chain/index.js';

/** A key pair from a label. */
export function keyOf(label: string): Ed25519Signer {
  return new Ed25519Signer(sha256(new TextEncoder().encode(`test-key/${label}`)));
}

/** The hex address of a signer. */
export const addr = (s: Ed25519Signer): string => toHex(s.publicKey);

export const keys = {
  issuer: keyOf('issuer'),
  alice: keyOf('alice'),
  bob: keyOf('bob'),
  oem: keyOf('oem'),
  device: keyOf('device'),
  carol: keyOf('carol'),
  p: [0, 1, 2, 3].map((i) => keyOf(`producer-${i}`)),
} as const;

export const CHAIN_ID = 'qood-test';
export const T0 = 1_700_000_000_000;

/** Genesis: alice, bob, oem, carol with 1000 QDT (alice 500 QDD, carol 100), a device with 10, four staked producers. */
export function genesis(): ChainState {
  return createGenesis({
    params: minimalParams(CHAIN_ID, addr(keys.issuer)),
    timeMs: T0,
    accounts: [
      { address: addr(keys.issuer), qdt: 10n * UNIT, qdd: 0n },
      { address: addr(keys.alice), qdt: 1000n * UNIT, qdd: 500n * UNIT },
      { address: addr(keys.bob), qdt: 1000n * UNIT },
      { address: addr(keys.oem), qdt: 1000n * UNIT },
      { address: addr(keys.carol), qdt: 1000n * UNIT, qdd: 100n * UNIT },
      { address: addr(keys.device), qdt: 10n * UNIT },
      ...keys.p.map((p, i) => ({ address: addr(p), qdt: 100n * UNIT, staked: BigInt(1000 - i) * UNIT })),
    ],
    producers: keys.p.map((p, i) => ({ address: addr(p), url: `https://p${i}.example` })),
  });
}

/** A signed transaction from `signer` with its current nonce in `state` (plus `nonceOffset`). */
export function tx<K extends TxKind>(
  state: ChainState,
  signer: Ed25519Signer,
  kind: K,
  body: TxBodies[K],
  extra: { fee?: bigint; nonceOffset?: number; chainId?: string } = {},
): SignedTx {
  const u = {
    chainId: extra.chainId ?? CHAIN_ID,
    kind,
    sender: addr(signer),
    nonce: getAccount(state, addr(signer)).nonce + (extra.nonceOffset ?? 0),
    fee: extra.fee ?? 0n,
    body,
  } as UnsignedTx;
  return signTx(u, signer);
}

/** Applies `txs` in one block by producer 0, 500 ms after the state; throws if any is dropped. */
export function block(state: ChainState, ...txs: SignedTx[]): ChainState {
  const built = buildBlock(state, txs, keys.p[0]!, state.timeMs + 500);
  if (built.rejected.length > 0) throw built.rejected[0]!.error;
  const applied = applyBlock(state, built.block);
  if (!applied.ok) throw applied.error;
  return applied.state;
}

/** The code of the error `validateTx` gives, or 'ok'. */
export function reason(state: ChainState, t: SignedTx, timeMs?: number): string {
  const r = validateTx(state, t, { timeMs: timeMs ?? state.timeMs + 500 });
  return r.ok ? 'ok' : r.error.code;
}
