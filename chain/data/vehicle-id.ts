/**
 * The chain names a vehicle by 32 bytes; a device's config and its chunks name it by a topic-safe
 * text id. The chain id is taggedHash("qood/vehicle-id/v1", utf8(vehicleId)), the same the agent's
 * grants use (agent/permissions/grant.ts `chainVehicleId`), so a storage node and a buyer can tie a
 * signed descriptor's vehicle to the `veh/<id>` record that binds its device.
 */
import { taggedHash, toHex } from '../crypto/hash.js';

/** The chain's 32-byte id (hex) of a vehicle named by its text id. */
export function vehicleChainId(vehicleId: string): string {
  return toHex(taggedHash('qood/vehicle-id/v1', new TextEncoder().encode(vehicleId)));
}
