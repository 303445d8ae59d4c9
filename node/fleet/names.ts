/**
 * What a certificate subject may be named, per role. The broker turns the subject CN into the MQTT
 * username (`use_identity_as_username`) and its ACL patterns put the username in a topic level
 * (`qood/v1/%u/up/#`), so every name must be one topic level: the agent's `vehicleId` rule (1 to 64
 * letters, digits, `.`, `_`, `-`). The roles must not collide either, since every pattern applies to
 * every client: a vehicle named `chain` would write the finality topic, and a vehicle named like a
 * grant id (64 hex digits) would get that grantee's topics. So vehicle ids that are 64 hex digits and
 * the reserved level `chain` are refused; grant ids are exactly 64 lower-case hex digits.
 */
import { FleetError } from './fleet-error.js';

/** The roles a fleet certificate is issued for; the subject's OU names it. */
export const FLEET_ROLES = ['vehicle', 'node', 'grantee', 'broker'] as const;
/** One of `FLEET_ROLES`. */
export type FleetRole = (typeof FLEET_ROLES)[number];

const TOPIC_LEVEL = /^[A-Za-z0-9._-]{1,64}$/;
const GRANT_ID = /^[0-9a-f]{64}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** Host names and IPv4/IPv6 addresses a broker certificate may carry. */
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

/** Topic levels no vehicle may use as its id (they are other subtrees of the prefix). */
export const RESERVED_VEHICLE_IDS = ['chain'] as const;

function usage(message: string): FleetError {
  return new FleetError({ code: 'usage', message });
}

/** Throws unless `id` can be a vehicle's certificate name. */
export function checkVehicleId(id: string): void {
  if (!TOPIC_LEVEL.test(id))
    throw usage(
      `vehicle id '${id}': expected 1 to 64 letters, digits, dot, underscore or dash (it is an MQTT topic level)`,
    );
  if ((RESERVED_VEHICLE_IDS as readonly string[]).includes(id))
    throw usage(`vehicle id '${id}' is reserved: '${id}' is another subtree of the topic prefix`);
  if (GRANT_ID.test(id.toLowerCase()))
    throw usage(
      `vehicle id '${id}': 64 hex digits is the form of a grant id, so the broker's grantee patterns would apply to it`,
    );
}

/** Throws unless `name` can be a node's certificate name (a topic-safe name, as a vehicle id). */
export function checkNodeName(name: string): void {
  if (!TOPIC_LEVEL.test(name))
    throw usage(`node name '${name}': expected 1 to 64 letters, digits, dot, underscore or dash`);
  if (GRANT_ID.test(name.toLowerCase()))
    throw usage(`node name '${name}': 64 hex digits is the form of a grant id`);
}

/** Throws unless `id` is a grant id: 64 lower-case hex digits (the grant transaction's id). */
export function checkGrantId(id: string): void {
  if (!GRANT_ID.test(id))
    throw usage(`grant id '${id}': expected 64 lower-case hex digits (the grant transaction's id)`);
}

/** Throws unless `host` is a host name or IP address for a broker certificate. */
export function checkHost(host: string): void {
  if (!HOST.test(host)) throw usage(`broker host '${host}': expected a host name or an IP address`);
}

/** The lower-case hex of an ed25519 public key given as 64 hex digits; throws otherwise. */
export function normaliseEd25519Key(hex: string, what: string): string {
  if (!HEX_KEY.test(hex))
    throw usage(`${what} '${hex}': expected an ed25519 public key as 64 hex digits (32 bytes)`);
  return hex.toLowerCase();
}

/** True when `host` is an IPv4 or IPv6 address (it goes in an IP SAN, not a DNS one). */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
