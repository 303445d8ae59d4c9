/**
 * The owner's side of a grant: builds the `grant` transaction for a terms document, signs it with
 * the owner key and bundles both (what `qood grants issue` writes and the device installs). Also
 * the owner's signed `revoke` transaction. The chain id and the owner account's nonce are the
 * chain's business; the device checks neither (it checks the owner's signature).
 */
import { Ed25519Signer, encodeSignedTx, type GrantExtension, signTx, toHex } from '../../chain/index.js';
import { chainVehicleId, encodeGrantBundle } from './grant.js';
import { encodeTerms, type GrantTerms, termsHash } from './terms.js';

/** Chain id used when none is given. */
export const DEFAULT_CHAIN_ID = 'qood-1';

export interface IssueGrantOptions {
  readonly ownerSecretKey: Uint8Array;
  /** The vehicle's config id (device.vehicleId). */
  readonly vehicleId: string;
  /** Grantee ed25519 public key, hex. */
  readonly grantee: string;
  readonly kind: 'listen' | 'control';
  readonly scope: readonly string[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly terms: GrantTerms;
  /**
   * Listen grants: how far and at what price the grantee may extend it (default: not at all). The
   * entry payment the chain counts out is the terms' `minPaid`.
   */
  readonly extension?: Omit<GrantExtension, 'entryPaid'>;
  readonly chainId?: string;
  /** The owner account's chain nonce (default 0). */
  readonly nonce?: number;
}

/** Signs a grant and returns the bundle and its id. */
export function issueGrant(o: IssueGrantOptions): { id: string; bundle: Uint8Array } {
  const owner = new Ed25519Signer(o.ownerSecretKey);
  const terms = encodeTerms(o.terms);
  const signed = signTx(
    {
      chainId: o.chainId ?? DEFAULT_CHAIN_ID,
      kind: 'grant',
      sender: toHex(owner.publicKey),
      nonce: o.nonce ?? 0,
      fee: 0n,
      body: {
        vehicle: chainVehicleId(o.vehicleId),
        grantee: o.grantee,
        kind: o.kind,
        scope: o.scope,
        fromMs: o.fromMs,
        toMs: o.toMs,
        termsHash: termsHash(terms),
        ...(o.extension === undefined ? {} : { extension: { ...o.extension, entryPaid: o.terms.minPaid } }),
      },
    },
    owner,
  );
  return { id: toHex(signed.id), bundle: encodeGrantBundle(encodeSignedTx(signed), terms) };
}

/** The owner's signed revoke transaction for a grant. */
export function signOwnerRevoke(o: {
  ownerSecretKey: Uint8Array;
  grantId: string;
  chainId?: string;
  nonce?: number;
}): Uint8Array {
  const owner = new Ed25519Signer(o.ownerSecretKey);
  return encodeSignedTx(
    signTx(
      {
        chainId: o.chainId ?? DEFAULT_CHAIN_ID,
        kind: 'revoke',
        sender: toHex(owner.publicKey),
        nonce: o.nonce ?? 0,
        fee: 0n,
        body: { grant: o.grantId },
      },
      owner,
    ),
  );
}

/** Terms with nothing granted beyond the scope: the base the CLI and tests start from. */
export const BASE_TERMS: GrantTerms = {
  rateHz: 0,
  granularity: new Map(),
  conditions: [],
  commandLimit: undefined,
  whileEngineRunning: false,
  pull: false,
  minPaid: 0n,
};
