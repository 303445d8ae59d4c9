/**
 * The mosquitto ACL of a fleet broker, as text. The broker runs with `use_identity_as_username`, so a
 * client's username is its certificate's CN: a vehicle id, a node name or a grant id (names.ts keeps
 * these apart). Pattern lines apply to every client with `%u` replaced by its username; `user` blocks
 * to one client. Anything no line allows is refused: a publish is dropped, a subscription refused.
 *
 * The topic layout this enforces (under the prefix, `qood/v1` by default):
 * - `<vehicle>/up/{chunk,descriptor,tx}`: device -> node (chain/wire/device-link.ts)
 * - `<vehicle>/down/{ack,tx-ack,order,grant,revoke}`: node -> device
 * - `<vehicle>/control/<grant>/{cmd,receipt}`, `<vehicle>/listen/<grant>[/pull]`: device <-> grantee
 *   (agent/permissions/topics.ts)
 * - `chain/finality`: the node's retained finality update, read by every client
 */

/** What the ACL is made for. */
export interface FleetAclOptions {
  /** First topic levels (default `qood/v1`). */
  readonly topicPrefix?: string;
  /** Certificate names (CNs) of the nodes: each reads every vehicle's up topics and writes the down ones. */
  readonly nodes: readonly string[];
}

/** The ACL file's text for `options` (stable: the same options give the same bytes). */
export function renderFleetAcl(options: FleetAclOptions): string {
  const p = options.topicPrefix ?? 'qood/v1';
  const lines = [
    '# mosquitto ACL of a QoodBlock fleet broker (written by `qood fleet ca`; see README,',
    '# "For telematics providers"). The username is the client certificate\'s CN',
    '# (use_identity_as_username): a vehicle id, a node name or a grant id.',
    '',
    "# Every client reads the chain's retained finality update: devices check it with their light",
    '# client, so it needs no secrecy, only that nobody but a node writes it (nobody else may).',
    '# (mosquitto warns that this pattern has no %u or %c: it is meant for every client.)',
    `pattern read ${p}/chain/finality`,
    '',
    '# A device (CN = its vehicle id) publishes only its own uplink: chunks, descriptors, queued',
    "# transactions. Another car's up topics are not in any line it matches, so they are refused.",
    `pattern write ${p}/%u/up/#`,
    '# ...and reads only its own downlink: acks, tx acks, order notices, grants, revokes.',
    `pattern read ${p}/%u/down/#`,
    '# Remote control under its grants: it reads the commands and writes the signed receipts.',
    `pattern read ${p}/%u/control/+/cmd`,
    `pattern write ${p}/%u/control/+/receipt`,
    "# Listeners: it writes the sealed messages of each listen grant and reads the grantee's pulls.",
    `pattern write ${p}/%u/listen/+`,
    `pattern read ${p}/%u/listen/+/pull`,
    '',
    "# A grantee (CN = its grant id) uses only its own grant's topics, on whichever vehicle the",
    "# grant names: the grant id is the grant transaction's hash, and the device checks every command",
    '# against the grant it holds, so the vehicle level needs no pinning here.',
    `pattern write ${p}/+/control/%u/cmd`,
    `pattern read ${p}/+/control/%u/receipt`,
    `pattern read ${p}/+/listen/%u`,
    `pattern write ${p}/+/listen/%u/pull`,
  ];
  for (const node of [...new Set(options.nodes)].sort()) {
    lines.push(
      '',
      `# Node '${node}': the ingest reads every vehicle's uplink; the device link writes acks, orders,`,
      '# grants and revokes, and the retained finality update.',
      `user ${node}`,
      `topic read ${p}/+/up/#`,
      `topic write ${p}/+/down/#`,
      `topic write ${p}/chain/finality`,
    );
  }
  return `${lines.join('\n')}\n`;
}
