/**
 * Keys and a genesis for a local network (`qood devnet start`, tests, benches): N producers staked
 * 10,000 - i QDT with 100 QDT liquid each, and a funded account ("whale") that is also the QDD
 * issuer, starting at a slot boundary near now.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { Ed25519Signer, type GenesisSpec, toHex, UNIT } from '../../chain/index.js';
import { type Preset, presetParams } from './genesis-file.js';

export interface LocalGenesisOptions {
  readonly chainId: string;
  readonly preset: Preset;
  readonly producers: readonly Ed25519Signer[];
  readonly whale: Ed25519Signer;
  readonly timeMs: number;
  /** URL each producer registers (its HTTP API). */
  readonly urls?: readonly string[];
}

/** The genesis spec of a local network; the schedule holds every producer. */
export function localGenesis(o: LocalGenesisOptions): GenesisSpec {
  const params = {
    ...presetParams(o.preset, o.chainId, toHex(o.whale.publicKey)),
    scheduleSize: o.producers.length,
  };
  return {
    params,
    timeMs: Math.floor(o.timeMs / params.slotMs) * params.slotMs,
    accounts: [
      ...o.producers.map((k, i) => ({
        address: toHex(k.publicKey),
        qdt: 100n * UNIT,
        staked: BigInt(10_000 - i) * UNIT,
      })),
      { address: toHex(o.whale.publicKey), qdt: 1_000_000_000n * UNIT },
    ],
    producers: o.producers.map((k, i) => ({
      address: toHex(k.publicKey),
      url: o.urls?.[i] ?? `http://producer-${i}.invalid`,
    })),
  };
}

/** Why a key file could not be read. */
export class KeyFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'KeyFileError';
  }
}

/** A new random ed25519 secret key. */
export function newNodeSecret(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** Writes a key file: the 32-byte ed25519 secret as 64 hex digits and a newline, mode 0600. */
export function writeKeyFile(path: string, secret: Uint8Array): void {
  writeFileSync(path, `${toHex(secret)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/** Reads a key file (64 hex digits). */
export function readKeyFile(path: string): Ed25519Signer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new KeyFileError(
      path,
      `cannot read the key file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new KeyFileError(path, 'expected an ed25519 secret key as 64 hex digits');
  return new Ed25519Signer(new Uint8Array(Buffer.from(text, 'hex')));
}
