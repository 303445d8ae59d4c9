/**
 * How the ingest checks a chunk: an injected function from the sealed bytes to the identity they
 * prove (id, vehicle, stream, seq) or the reason they do not. The sealing format supplies the real
 * one; `sealed-verifier.ts` checks the sealed chunk format of chain/data.
 */

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
