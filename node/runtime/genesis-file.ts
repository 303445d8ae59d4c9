/**
 * The genesis file every node of a chain shares (YAML). The consensus parameters are not written in
 * it: they come from the preset in the node config (minimal or mainnet), with an optional schedule
 * size, so a file cannot carry a hand-edited parameter the code was never tested with.
 *
 *   version: 1
 *   chainId: qood-devnet
 *   timeMs: 1767225600000          # genesis time, ms since the epoch; slot s starts at timeMs + s * 500
 *   issuer: <64 hex>               # the QDD issuer account
 *   scheduleSize: 4                # optional; the preset's otherwise
 *   accounts:
 *     - { address: <64 hex>, qdt: "100000000", staked: "10000000000" }   # base units (6 decimals)
 *   producers:
 *     - { address: <64 hex>, url: "http://127.0.0.1:27001" }
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { type ChainParams, type GenesisSpec, mainnetParams, minimalParams } from '../../chain/index.js';

export const PRESETS = ['minimal', 'mainnet'] as const;
export type Preset = (typeof PRESETS)[number];

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'an address: 64 lowercase hex digits');
const amount = z
  .union([z.string().regex(/^\d{1,20}$/, 'an amount in base units (digits)'), z.number().int().nonnegative()])
  .transform((v) => BigInt(v));

export const genesisFileSchema = z
  .object({
    version: z.literal(1),
    chainId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits, dot, underscore or dash'),
    timeMs: z.number().int().positive(),
    issuer: hex32,
    scheduleSize: z.number().int().min(1).max(21).optional(),
    accounts: z
      .array(
        z.object({ address: hex32, qdt: amount, staked: amount.optional(), qdd: amount.optional() }).strict(),
      )
      .min(1),
    producers: z.array(z.object({ address: hex32, url: z.string().min(1).max(200) }).strict()).min(1),
  })
  .strict();

/** Why a genesis file was refused. */
export class GenesisFileError extends Error {
  constructor(
    readonly path: string,
    readonly problems: readonly string[],
  ) {
    super(`${path}: ${problems.join('; ')}`);
    this.name = 'GenesisFileError';
  }
}

/** The parameters of `preset` for a chain. */
export function presetParams(preset: Preset, chainId: string, issuer: string): ChainParams {
  return preset === 'minimal' ? minimalParams(chainId, issuer) : mainnetParams(chainId, issuer);
}

/** The genesis spec in YAML `text` under `preset`; throws GenesisFileError naming each problem. */
export function parseGenesis(text: string, preset: Preset, path = 'genesis'): GenesisSpec {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new GenesisFileError(path, [`not YAML: ${(err as Error).message}`]);
  }
  const r = genesisFileSchema.safeParse(doc);
  if (!r.success)
    throw new GenesisFileError(
      path,
      r.error.issues.map((i) => `${i.path.join('.') || 'top'}: ${i.message}`),
    );
  const g = r.data;
  const base = presetParams(preset, g.chainId, g.issuer);
  return {
    params: g.scheduleSize === undefined ? base : { ...base, scheduleSize: g.scheduleSize },
    timeMs: g.timeMs,
    accounts: g.accounts.map((a) => ({
      address: a.address,
      qdt: a.qdt,
      ...(a.staked === undefined ? {} : { staked: a.staked }),
      ...(a.qdd === undefined ? {} : { qdd: a.qdd }),
    })),
    producers: g.producers,
  };
}

/** Reads and parses a genesis file. */
export function readGenesisFile(path: string, preset: Preset): GenesisSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GenesisFileError(path, [
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
  return parseGenesis(text, preset, path);
}

/** The YAML of a genesis spec (its params reduced to chainId, issuer and schedule size). */
export function formatGenesis(spec: GenesisSpec): string {
  return stringify({
    version: 1,
    chainId: spec.params.chainId,
    timeMs: spec.timeMs,
    issuer: spec.params.issuer,
    scheduleSize: spec.params.scheduleSize,
    accounts: spec.accounts.map((a) => ({
      address: a.address,
      qdt: a.qdt.toString(),
      ...(a.staked === undefined ? {} : { staked: a.staked.toString() }),
      ...(a.qdd === undefined ? {} : { qdd: a.qdd.toString() }),
    })),
    producers: spec.producers.map((p) => ({ address: p.address, url: p.url })),
  });
}
