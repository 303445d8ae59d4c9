/**
 * `GET /light/state?key=<state key>[&key=...]`: state records with what makes them checkable by a
 * light client that does not trust this node (issue 14: the buyer's client used to believe the
 * plain `/state` answers). The answer is one light-client finality update (chain/light/codec.ts,
 * `application/cbor`): the last final header, the votes of its certificate, the `sched/active`
 * record proven under its state root (so a client in an earlier round can follow the schedule),
 * and a Merkle proof of each asked key (its value, or its absence) under that same state root.
 *
 * A client at an older final height applies it as an update (checking the certificate against the
 * schedule it trusts, then each proof); a client already at that height checks the proofs against
 * its head. A node that changes a value, invents a record or hides one fails those checks.
 */
import {
  activeSchedule,
  encodeActiveSchedule,
  encodeUpdate,
  MAX_UPDATE_PROOFS,
  proveKey,
  stateKey,
} from '../../chain/index.js';
import type { FullNode } from '../runtime/full-node.js';
import type { ApiResponse } from './types.js';

/** Most keys one request may ask for. */
export const MAX_PROVEN_KEYS = Math.min(16, MAX_UPDATE_PROOFS);

const KEY = /^(supply|sched|sched\/active|[a-z]{2,8}\/[0-9A-Za-z._-]{1,128}(\/[0-9]{1,15})?)$/;

const err = (status: number, code: string, message: string): ApiResponse => ({
  status,
  body: { error: { code, message } },
});

/** Answers GET /light/state. */
export function provenState(node: FullNode, query: string): ApiResponse {
  const q = new URLSearchParams(query);
  for (const k of q.keys())
    if (k !== 'key') return err(400, 'BAD_QUERY', `unknown parameter '${k}'; expected key (repeatable)`);
  const keys = q.getAll('key');
  if (keys.length === 0 || keys.length > MAX_PROVEN_KEYS)
    return err(400, 'BAD_QUERY', `ask for 1 to ${MAX_PROVEN_KEYS} keys, got ${keys.length}`);
  const bad = keys.find((k) => !KEY.test(k));
  if (bad !== undefined)
    return err(400, 'BAD_KEY', `key '${bad.slice(0, 80)}': expected a state key such as acct/<64 hex>`);
  const fin = node.lastFinal;
  const cert = node.certificate;
  const block = node.block(fin.height);
  const record = activeSchedule(fin.state);
  if (cert === undefined || fin.height === 0 || block === undefined || record === undefined)
    return err(404, 'NOT_FINAL_YET', 'no block is final yet');
  if (cert.height !== fin.height)
    return err(
      503,
      'NOT_READY',
      `the certificate is of height ${cert.height}, the final state of ${fin.height}`,
    );
  const sched = proveKey(fin.state, stateKey.activeSchedule());
  if (sched.value === null || !Buffer.from(sched.value).equals(Buffer.from(encodeActiveSchedule(record))))
    return err(503, 'NOT_READY', 'the schedule record does not prove');
  const bytes = encodeUpdate({
    header: block.header.header,
    votes: cert.votes,
    schedule: { record, proof: sched.proof },
    proofs: keys.map((k) => {
      const p = proveKey(fin.state, k);
      return { key: p.key, value: p.value, proof: p.proof };
    }),
  });
  return { status: 200, contentType: 'application/cbor', body: bytes };
}
