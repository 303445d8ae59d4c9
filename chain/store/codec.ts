/**
 * How the chain store keeps blocks, certificates and the genesis spec: canonical CBOR, so a stored
 * block's bytes are the bytes its producer signed over (the header) and its transactions' own.
 *
 *   block       = [[header, signature], [signedTxBytes, ...]]
 *   certificate = [chainId, height, blockId32, [[producer32, signature64], ...]]
 *   genesis     = [1, params, timeMs, [[address32, qdt, staked, qdd], ...], [[address32, url], ...]]
 *   params      = [chainId, issuer32, scheduleSize, slotMs, blocksPerTurn, maxVotes, unbondingBlocks,
 *                  manaRegenBlocks, manaPerTx, minFee, doubleSignPenaltyBps, maxUnbonding]
 *
 * Decoders throw CodecError naming the field (a store file edited by hand is refused, not guessed at).
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readAmount, readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { toHex } from '../crypto/hash.js';
import type { FinalityCertificate } from '../dpos/finality.js';
import type { Block, GenesisSpec } from '../state/block.js';
import type { ChainParams } from '../state/params.js';
import { decodeSignedTx, encodeSignedTx } from '../tx/codec.js';
import { readSignedHeader, signedHeaderValue } from '../tx/header.js';

const hex32 = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const addr = (v: CanonicalValue | undefined, path: string) => toHex(readBytes(v, path, 32));

/** A block's stored bytes. */
export function encodeBlock(b: Block): Uint8Array {
  return encodeCanonical([signedHeaderValue(b.header), b.txs.map(encodeSignedTx)]);
}

/** A block from its stored bytes. */
export function decodeBlock(bytes: Uint8Array): Block {
  const a = readArray(decodeCanonical(bytes), 'block', 2);
  return {
    header: readSignedHeader(a[0], 'block.header'),
    txs: readArray(a[1], 'block.txs').map((t, i) => decodeSignedTx(readBytes(t, `block.txs[${i}]`))),
  };
}

/** A certificate's stored bytes. */
export function encodeCertificate(c: FinalityCertificate): Uint8Array {
  return encodeCanonical([
    c.chainId,
    c.height,
    c.blockId,
    c.votes.map((v) => [hex32(v.producer), v.signature]),
  ]);
}

/** A certificate from its stored bytes. */
export function decodeCertificate(bytes: Uint8Array): FinalityCertificate {
  const a = readArray(decodeCanonical(bytes), 'certificate', 4);
  return {
    chainId: readText(a[0], 'certificate.chainId', 64),
    height: readUint(a[1], 'certificate.height'),
    blockId: readBytes(a[2], 'certificate.blockId', 32),
    votes: readArray(a[3], 'certificate.votes').map((v, i) => {
      const x = readArray(v, `certificate.votes[${i}]`, 2);
      return {
        producer: addr(x[0], `certificate.votes[${i}].producer`),
        signature: readBytes(x[1], `certificate.votes[${i}].signature`, 64),
      };
    }),
  };
}

function paramsValue(p: ChainParams): CanonicalValue {
  return [
    p.chainId,
    hex32(p.issuer),
    p.scheduleSize,
    p.slotMs,
    p.blocksPerTurn,
    p.maxVotes,
    p.unbondingBlocks,
    p.manaRegenBlocks,
    p.manaPerTx,
    p.minFee,
    p.doubleSignPenaltyBps,
    p.maxUnbonding,
  ];
}

function readParams(v: CanonicalValue | undefined): ChainParams {
  const a = readArray(v, 'genesis.params', 12);
  return {
    chainId: readText(a[0], 'genesis.params.chainId', 64),
    issuer: addr(a[1], 'genesis.params.issuer'),
    scheduleSize: readUint(a[2], 'genesis.params.scheduleSize'),
    slotMs: readUint(a[3], 'genesis.params.slotMs'),
    blocksPerTurn: readUint(a[4], 'genesis.params.blocksPerTurn'),
    maxVotes: readUint(a[5], 'genesis.params.maxVotes'),
    unbondingBlocks: readUint(a[6], 'genesis.params.unbondingBlocks'),
    manaRegenBlocks: readUint(a[7], 'genesis.params.manaRegenBlocks'),
    manaPerTx: readAmount(a[8], 'genesis.params.manaPerTx'),
    minFee: readAmount(a[9], 'genesis.params.minFee'),
    doubleSignPenaltyBps: readUint(a[10], 'genesis.params.doubleSignPenaltyBps'),
    maxUnbonding: readUint(a[11], 'genesis.params.maxUnbonding'),
  };
}

/** A genesis spec's stored bytes. */
export function encodeGenesis(g: GenesisSpec): Uint8Array {
  return encodeCanonical([
    1,
    paramsValue(g.params),
    g.timeMs,
    g.accounts.map((a) => [hex32(a.address), a.qdt, a.staked ?? 0n, a.qdd ?? 0n]),
    g.producers.map((p) => [hex32(p.address), p.url]),
  ]);
}

/** A genesis spec from its stored bytes. */
export function decodeGenesis(bytes: Uint8Array): GenesisSpec {
  const a = readArray(decodeCanonical(bytes), 'genesis', 5);
  if (readUint(a[0], 'genesis.version') !== 1)
    throw new CodecError('SHAPE', 'genesis.version', 'expected version 1');
  return {
    params: readParams(a[1]),
    timeMs: readUint(a[2], 'genesis.timeMs'),
    accounts: readArray(a[3], 'genesis.accounts').map((x, i) => {
      const p = `genesis.accounts[${i}]`;
      const e = readArray(x, p, 4);
      return {
        address: addr(e[0], `${p}.address`),
        qdt: readAmount(e[1], `${p}.qdt`),
        staked: readAmount(e[2], `${p}.staked`),
        qdd: readAmount(e[3], `${p}.qdd`),
      };
    }),
    producers: readArray(a[4], 'genesis.producers').map((x, i) => {
      const e = readArray(x, `genesis.producers[${i}]`, 2);
      return {
        address: addr(e[0], `genesis.producers[${i}].address`),
        url: readText(e[1], `genesis.producers[${i}].url`),
      };
    }),
  };
}
