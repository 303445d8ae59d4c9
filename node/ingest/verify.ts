/**
 * How the ingest checks a chunk, a descriptor or a queued transaction: injected functions from the
 * signed bytes to the identity they prove (chunk: id, vehicle, stream, seq; descriptor: id,
 * vehicle, chunk ids; transaction: that the device of the vehicle signed it) or the reason they do
 * not. `sealed-verifier.ts` supplies the real ones, on the formats of chain/data and chain/wire.
 */
import type { TxEnvelope } from '../../chain/index.js';

/** What verifying a sealed chunk found. */
export type ChunkVerdict =
  | {
      readonly ok: true;
      /** Hex SHA-256 of the chunk header. */
      readonly id: string;
      readonly vehicleId: string;
      readonly stream: string;
      readonly seq: number;
    }
  | { readonly ok: false; readonly reason: string };

/** Verifies a sealed chunk's signature and integrity; never throws. */
export type VerifyChunk = (bytes: Uint8Array) => ChunkVerdict;

/** What verifying a signed descriptor found. */
export type DescriptorVerdict =
  | {
      readonly ok: true;
      /** Hex descriptor id. */
      readonly id: string;
      readonly vehicleId: string;
      /** When the device cut the batch, ms since the Unix epoch. */
      readonly createdMs: number;
      /** Hex ids of the chunks it lists, in the listed order. */
      readonly chunkIds: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

/** Verifies a signed descriptor against the device keys bound to its vehicle; never throws. */
export type VerifyDescriptor = (bytes: Uint8Array) => DescriptorVerdict;

/** What verifying a queued transaction's device signature found. */
export type TxVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Verifies that a device key bound to `vehicleId` (the vehicle of the topic the envelope came
 * on) signed the envelope; never throws.
 */
export type VerifyTx = (vehicleId: string, envelope: TxEnvelope) => TxVerdict;
