/**
 * Enrolling a fleet at the provider: certificates the fleet CA issues per second (each with a P-256
 * TLS key made for it and an `openssl ca` signature: two openssl processes), against the floor of
 * `openssl genpkey` alone (one process making a P-256 key: what any issuance costs at least); and
 * TLS connects per second with those certificates to a mosquitto running the shipped fleet config
 * (client certificate checked against the CA and CRL, identity as username, ACL), against plain
 * MQTT connects to a mosquitto without TLS. Each run enrols BATCH devices one after another.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { FleetCa, type IssuedCertificate } from '../../node/fleet/index.js';
import { mustConnect, shippedFleetAclPath, startFleetBroker } from '../support/fleet-broker.js';
import { Mosquitto } from '../support/mosquitto.js';
import { findProgram } from '../support/system.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const BATCH = 50;

let dir = '';
let run = 0;
let ca: FleetCa | undefined;
let fleetBroker: Mosquitto | undefined;
let plainBroker: Mosquitto | undefined;
let certs: IssuedCertificate[] = [];

async function issueBatch(): Promise<number> {
  const c = ca!;
  const r = run++;
  const t0 = performance.now();
  for (let i = 0; i < BATCH; i++)
    await c.issue(
      { role: 'vehicle', vehicleId: `bench-${r}-${i}`, deviceKey: randomBytes(32).toString('hex') },
      { outDir: join(dir, 'devices') },
    );
  return (BATCH * 1000) / (performance.now() - t0);
}

function genpkeyBatch(): number {
  const t0 = performance.now();
  for (let i = 0; i < BATCH; i++)
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return (BATCH * 1000) / (performance.now() - t0);
}

async function connectBatch(): Promise<number> {
  const t0 = performance.now();
  const clients = [];
  for (const cert of certs) clients.push(await mustConnect(fleetBroker!.url, cert));
  const rate = (certs.length * 1000) / (performance.now() - t0);
  for (const c of clients) c.end(true);
  return rate;
}

async function plainConnectBatch(): Promise<number> {
  const t0 = performance.now();
  const clients = [];
  for (let i = 0; i < BATCH; i++) {
    const c = mqtt.connect(plainBroker!.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    clients.push(c);
  }
  const rate = (BATCH * 1000) / (performance.now() - t0);
  for (const c of clients) c.end(true);
  return rate;
}

export const suite: BenchSuite = {
  name: 'fleet enrolment',
  skip: () => {
    const lacking = ['mosquitto', 'openssl'].filter((b) => findProgram(b) === undefined);
    return lacking.length === 0
      ? undefined
      : `needs ${lacking.join(', ')} (apt-get install ${lacking.join(' ')})`;
  },
  figures: async (): Promise<readonly BenchFigure[]> => {
    dir = mkdtempSync(join(tmpdir(), 'qood-bench-fleet-'));
    ca = await FleetCa.init({ dir: join(dir, 'ca') });
    fleetBroker = await startFleetBroker(ca, shippedFleetAclPath());
    plainBroker = await Mosquitto.start();
    for (let i = 0; i < BATCH; i++)
      certs.push(
        await ca.issue(
          { role: 'vehicle', vehicleId: `conn-${i}`, deviceKey: randomBytes(32).toString('hex') },
          { outDir: join(dir, 'conn') },
        ),
      );
    return [
      {
        name: `issue ${BATCH} device certificates (P-256 key + openssl ca)`,
        unit: 'certs/s',
        runs: 3,
        measure: issueBatch,
        floor: { name: 'openssl genpkey P-256', measure: genpkeyBatch },
      },
      {
        name: `connect ${BATCH} devices (TLS client certificate, CRL, ACL)`,
        unit: 'connects/s',
        runs: 3,
        measure: connectBatch,
        floor: { name: 'plain MQTT connects', measure: plainConnectBatch },
      },
    ];
  },
  teardown: async () => {
    await fleetBroker?.stop();
    await plainBroker?.stop();
    certs = [];
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  },
};
