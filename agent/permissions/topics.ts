/**
 * MQTT topics of the permissions, under `<prefix>/<vehicle>/` (prefix `qood/v1` by default):
 *
 *   down/grant                  grant bundles for this vehicle (grant.ts)
 *   down/revoke                 owner-signed revoke transactions
 *   control/<grantId>/cmd       signed control commands from the grantee
 *   control/<grantId>/receipt   signed receipts from the device
 *   listen/<grantId>            sealed listener messages (push, and answers to pulls)
 *   listen/<grantId>/pull       signed pull requests from the grantee
 */

/** The topics of one vehicle. */
export function permissionTopics(prefix: string, vehicleId: string) {
  const base = `${prefix}/${vehicleId}`;
  return {
    grant: `${base}/down/grant`,
    revoke: `${base}/down/revoke`,
    commandFilter: `${base}/control/+/cmd`,
    command: (grantId: string) => `${base}/control/${grantId}/cmd`,
    receipt: (grantId: string) => `${base}/control/${grantId}/receipt`,
    listen: (grantId: string) => `${base}/listen/${grantId}`,
    pullFilter: `${base}/listen/+/pull`,
    pull: (grantId: string) => `${base}/listen/${grantId}/pull`,
    /** The grant id level of a control or listen topic. */
    grantIdOf: (topic: string) => topic.slice(base.length + 1).split('/')[1] ?? '',
  } as const;
}

export type PermissionTopics = ReturnType<typeof permissionTopics>;
