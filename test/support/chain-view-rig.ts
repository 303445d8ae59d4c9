/**
 * A device's grant and the chain that records it, for ChainView tests: the owner signs a listen
 * grant with the agent's own `issueGrant` (so the device's grant id is the chain's), the device's
 * GrantRegistry installs it, and a four-producer chain (rounds of 4 blocks) registers the vehicle
 * (block 2), records that very grant transaction and elects a new schedule (block 3, the last of
 * round 0, so consensus runs it from round 2: block 8) and records the owner's revocation (block 9).
 */

import {
  BASE_TERMS,
  chainVehicleId,
  decodeGrantBundle,
  GrantRegistry,
  issueGrant,
} from '../../agent/permissions/index.js';
import { MemoryPermissionStore } from '../../agent/store/index.js';
import {
  encodeUpdate,
  getPublicKey,
  type SignedTx,
  sha256,
  stateKey,
  toHex,
  UNIT,
} from '../../chain/index.js';
import { silentLogger } from '../../process/log.js';
import { buildLightChain, LIGHT_T0, type LightChain, lightKey, lightTx, updateAt } from './light-chain.js';

export const RIG_VEHICLE = 'light-car-1';
export const REVOKED_AT = 9;

export interface ChainViewRig {
  readonly chain: LightChain;
  readonly registry: GrantRegistry;
  readonly grantId: string;
  /** The owner-signed grant bundle the device installed (to install it elsewhere). */
  readonly bundle: Uint8Array;
  /** The canonical update bytes for block `h`, with a proof of the grant. */
  updateBytes(h: number): Uint8Array;
}

/** Builds the rig; `nowMs` is the device's wall clock (default: within the grant's window). */
export function chainViewRig(nowMs: () => number = () => LIGHT_T0 + 60_000): ChainViewRig {
  const ownerSecret = sha256(new TextEncoder().encode('light-key/owner'));
  const owner = lightKey('owner');
  const grantee = lightKey('grantee');
  const { id: grantId, bundle } = issueGrant({
    ownerSecretKey: ownerSecret,
    vehicleId: RIG_VEHICLE,
    grantee: toHex(grantee.publicKey),
    kind: 'listen',
    scope: ['Vehicle.Speed'],
    fromMs: LIGHT_T0,
    toMs: LIGHT_T0 + 3_600_000,
    terms: { ...BASE_TERMS, rateHz: 1 },
    nonce: 1,
    chainId: 'qood-light',
  });
  const grantTx = decodeGrantBundle(bundle).tx;
  const chain = buildLightChain({
    producers: 4,
    electAt: [3],
    height: 12,
    roundBlocks: 4,
    accounts: [{ address: toHex(owner.publicKey), qdt: 1000n * UNIT }],
    extra: (s, h): SignedTx[] => {
      if (h === 2) return [lightTx(s, owner, 'registerVehicle', { vehicle: chainVehicleId(RIG_VEHICLE) })];
      if (h === 3) return [grantTx];
      if (h === REVOKED_AT) return [lightTx(s, owner, 'revoke', { grant: grantId })];
      return [];
    },
  });
  const registry = new GrantRegistry({
    store: new MemoryPermissionStore(),
    ownerPublicKey: getPublicKey(ownerSecret),
    vehicleId: RIG_VEHICLE,
    nowMs,
    logger: silentLogger,
  });
  const installed = registry.install(bundle, 'test');
  if (!installed.ok) throw new Error(`grant refused: ${installed.message}`);
  return {
    chain,
    registry,
    grantId,
    bundle,
    updateBytes: (h) => encodeUpdate(updateAt(chain, h, [stateKey.grant(grantId)])),
  };
}
