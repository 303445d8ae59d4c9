/**
 * Devices one node can ingest: DEVICES simulated devices (one MQTT client each, in this process)
 * publish real sealed chunk envelopes (sealed and signed by the test device key, 2 KiB bodies) at
 * QoS 1 through a real mosquitto to one `qood node` process with the ingest role, which verifies,
 * stores (SQLite, synchronous FULL) and acknowledges them. Figures: chunks/s stored and
 * acknowledged (until every device has its acks), against the floor of the same clients
 * publishing the same envelopes to a topic nobody reads (what the broker and the clients cost);
 * the node's CPU per 1000 chunks, from /proc/<pid>/stat; and the devices one fully used node core
 * carries at a realistic rate of 0.05 chunks/s per device (three streams, each cut into a chunk
 * every 60 s: the agent's default chunk span).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { ackTopic, chunkTopic, Ed25519Signer, encodeChunkEnvelope, openAck } from '../../chain/index.js';
import { devicePublicKeyHex } from '../../node/ingest/index.js';
import { writeKeyFile } from '../../node/runtime/local-genesis.js';
import { makeSignedRecord, TEST_DEVICE_KEY, TEST_NODE_KEY } from '../support/chunks.js';
import { waitUntil } from '../support/cli.js';
import { Mosquitto } from '../support/mosquitto.js';
import { findProgram } from '../support/system.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const DEVICES = 40;
const PER_DEVICE = 50;
const BODY_BYTES = 2048;
/** Chunks per second one device makes at the agent's defaults (3 streams, a chunk per 60 s each). */
const DEVICE_RATE = 0.05;
const PREFIX = 'qood/v1';
const cli = join(import.meta.dirname, '..', '..', 'cli', 'main.js');
const vehicle = (i: number) => `bench-${i}`;

let dir = '';
let broker: Mosquitto | undefined;
let node: ChildProcess | undefined;
const clients: MqttClient[] = [];
/** Acked chunk ids per device, filled by the clients' ack subscriptions. */
const acked: Set<string>[] = [];
let round = 0;

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime), counted from the state field (3): indexes 11, 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The envelopes of a round: fresh streams, so nothing is a duplicate of an earlier round. */
function envelopes(): Uint8Array[][] {
  const stream = `s${round++}`;
  return Array.from({ length: DEVICES }, (_, d) =>
    Array.from({ length: PER_DEVICE }, (_, seq) => {
      const r = makeSignedRecord(stream, seq, { vehicleId: vehicle(d), size: BODY_BYTES });
      return encodeChunkEnvelope({ id: r.id, stream, seq, bytes: r.bytes });
    }),
  );
}

function publish(c: MqttClient, topic: string, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    c.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
  );
}

interface Round {
  readonly rate: number;
  readonly cpuMsPer1000: number;
}

/** Every device publishes its chunks; ends when each has every ack. */
async function ingestRound(): Promise<Round> {
  const env = envelopes();
  for (const s of acked) s.clear();
  const pid = node!.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await Promise.all(
    env.map((list, d) =>
      Promise.all(list.map((p) => publish(clients[d]!, chunkTopic(PREFIX, vehicle(d)), p))),
    ),
  );
  await waitUntil(() => acked.every((s) => s.size >= PER_DEVICE), 120_000, 'every ack', 5);
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const n = DEVICES * PER_DEVICE;
  return { rate: n / s, cpuMsPer1000: (cpu * 1000 * 1000) / n };
}

/** The floor: the same envelopes to a topic nobody subscribes to, until every PUBACK. */
async function rawRound(): Promise<number> {
  const env = envelopes();
  const t0 = performance.now();
  await Promise.all(
    env.map((list, d) => Promise.all(list.map((p) => publish(clients[d]!, `bench/raw/${vehicle(d)}`, p)))),
  );
  return (DEVICES * PER_DEVICE) / ((performance.now() - t0) / 1000);
}

async function setUp(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'qood-bench-node-ingest-'));
  broker = await Mosquitto.start();
  const key = devicePublicKeyHex(TEST_DEVICE_KEY);
  // The node signs its acks with this key; each device checks the signature, as a real one does.
  writeKeyFile(join(dir, 'node.key'), TEST_NODE_KEY);
  const nodeKeys = [new Ed25519Signer(TEST_NODE_KEY).publicKey];
  writeFileSync(
    join(dir, 'node.yaml'),
    [
      'node:',
      `  dataDir: ${dir}`,
      `  socketPath: ${join(dir, 'node.sock')}`,
      'log:',
      '  level: warn',
      'ingest:',
      `  broker: ${broker.url}`,
      '  clientId: bench-node',
      `  keyFile: ${join(dir, 'node.key')}`,
      '  deviceKeys:',
      ...Array.from({ length: DEVICES }, (_, i) => `    ${vehicle(i)}: ${key}`),
      '',
    ].join('\n'),
  );
  node = spawn(process.execPath, [cli, 'node', '-c', join(dir, 'node.yaml'), '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  node.stdout?.setEncoding('utf8').on('data', (d: string) => {
    if (out.length < 100_000) out += d;
  });
  await waitUntil(() => out.split('ingest subscribed').length > 3, 20_000, 'the node to subscribe');
  for (let d = 0; d < DEVICES; d++) {
    const c = mqtt.connect(broker.url, { clientId: vehicle(d), clean: true, reconnectPeriod: 500 });
    const seen = new Set<string>();
    acked.push(seen);
    c.on('message', (_t, payload) => {
      const a = openAck(payload, { vehicleId: vehicle(d), nodeKeys });
      if (a.ok) for (const id of a.value.ids) seen.add(id);
    });
    clients.push(c);
  }
  await waitUntil(() => clients.every((c) => c.connected), 10_000, 'the devices to connect');
  await Promise.all(
    clients.map(
      (c, d) =>
        new Promise<void>((resolve, reject) =>
          c.subscribe(ackTopic(PREFIX, vehicle(d)), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
}

export const suite: BenchSuite = {
  name: 'node-ingest',
  skip: () =>
    findProgram('mosquitto') === undefined
      ? 'mosquitto is not installed (apt-get install mosquitto)'
      : undefined,
  figures: async () => {
    await setUp();
    await ingestRound(); // warm-up: JIT, SQLite pages, broker sessions
    const n = DEVICES * PER_DEVICE;
    const figures: BenchFigure[] = [
      {
        name: `stored and acknowledged by one qood node (${DEVICES} devices, ${n} chunks)`,
        unit: 'chunks/s',
        runs: 3,
        measure: async () => (await ingestRound()).rate,
        floor: { name: 'raw QoS 1 publish, same clients', measure: rawRound },
        note: `${BODY_BYTES} B sealed bodies; verify + SQLite FULL + ack`,
      },
      {
        name: 'node CPU per 1000 chunks',
        unit: 'ms',
        runs: 3,
        measure: async () => (await ingestRound()).cpuMsPer1000,
        note: 'utime + stime of the node process',
      },
      {
        name: `devices per fully used node core at ${DEVICE_RATE} chunks/s each`,
        unit: 'devices',
        runs: 3,
        measure: async () => 1_000_000 / (await ingestRound()).cpuMsPer1000 / DEVICE_RATE,
        note: 'CPU-bound estimate: 3 streams, a chunk per 60 s each',
      },
    ];
    return figures;
  },
  teardown: async () => {
    await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
    if (node !== undefined && node.exitCode === null) {
      node.kill('SIGTERM');
      await new Promise((r) => node!.once('exit', r));
    }
    await broker?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  },
};
