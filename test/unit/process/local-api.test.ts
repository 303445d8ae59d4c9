import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callLocalApi, LocalApiCallError } from '../../../process/local-api/client.js';
import { LocalApiError, startLocalApi } from '../../../process/local-api/server.js';
import { Metrics } from '../../../process/metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Sends raw text and returns the reply lines. The bound only ends a hung test: a local socket answers
 * at once, but a loaded two-core machine can stall a test process for a second or more.
 */
function raw(path: string, text: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`got only: ${buf}`));
    }, 10_000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(text));
    s.on('data', (d: string) => {
      buf += d;
      const got = buf.split('\n').filter((l) => l !== '');
      if (got.length >= lines) {
        clearTimeout(timer);
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

describe('local API over a unix socket', () => {
  it('answers methods, reports unknown ones and bad requests, and keeps the connection up', async () => {
    const path = join(dir, 'a.sock');
    const api = await startLocalApi({
      socketPath: path,
      methods: {
        echo: (p) => p,
        fail: () => {
          throw new LocalApiError('INVALID_PARAMS', 'grant id missing');
        },
      },
    });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(await callLocalApi(path, 'echo', { a: 1 })).toEqual({ a: 1 });
      await expect(callLocalApi(path, 'nope')).rejects.toMatchObject({ code: 'NO_SUCH_METHOD' });
      await expect(callLocalApi(path, 'fail')).rejects.toThrow('grant id missing');
      const replies = await raw(
        path,
        'not json\n{"id":7}\n{"id":8,"method":"echo","params":[1]}\n{"id":9,"method":"echo","params":{"x":true}}\n',
        4,
      );
      expect(replies.map((l) => JSON.parse(l))).toEqual([
        { id: null, error: { code: 'BAD_REQUEST', message: 'expected one JSON object per line' } },
        { id: null, error: { code: 'BAD_REQUEST', message: expect.stringContaining('method') } },
        { id: 8, error: { code: 'INVALID_PARAMS', message: 'params must be an object' } },
        { id: 9, result: { x: true } },
      ]);
    } finally {
      await api.close();
    }
  });

  it('rejects an oversized request line instead of buffering it forever', async () => {
    const path = join(dir, 'b.sock');
    const api = await startLocalApi({ socketPath: path, methods: { echo: (p) => p }, maxLineBytes: 1024 });
    try {
      const [reply] = await raw(path, 'x'.repeat(4096), 1);
      expect(JSON.parse(reply!)).toMatchObject({ error: { code: 'TOO_LARGE' } });
    } finally {
      await api.close();
    }
  });

  it('replaces a stale socket file left by a crashed process', async () => {
    const path = join(dir, 'c.sock');
    const first = await startLocalApi({ socketPath: path, methods: {} });
    // Simulate a crash: the file stays, nothing listens.
    await new Promise<void>((r) => (first as unknown as { close(): Promise<void> }).close().then(() => r()));
    const second = await startLocalApi({ socketPath: path, methods: { ping: () => 'pong' } });
    expect(await callLocalApi(path, 'ping')).toBe('pong');
    await second.close();
  });

  it('binds the socket 0600 under a restrictive umask and gives the process its umask back', async () => {
    const path = join(dir, 'd.sock');
    const before = process.umask();
    const api = await startLocalApi({ socketPath: path, methods: {} });
    expect(process.umask()).toBe(before);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await api.close();
  });

  it('the client names the cause when the socket is missing', async () => {
    const err = await callLocalApi(join(dir, 'none.sock'), 'status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalApiCallError);
    expect((err as Error).message).toContain('is the service running');
  });
});

describe('owner group of the local socket (issue 14, item 13)', () => {
  it('an owner group the process is not in refuses the start before listening, and leaves no socket file', async () => {
    const sub = mkdtempSync(join(dir, 'group-'));
    const path = join(sub, 'g.sock');
    // A non-root process, in group 1000 only: gid 4242 is not its group (nor, here, any group).
    for (const gid of [4242, 0]) {
      const err = await startLocalApi({
        socketPath: path,
        methods: {},
        ownerGid: gid,
        identity: { uid: 1000, gids: [1000] },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LocalApiError);
      expect(err).toMatchObject({ code: 'NOT_IN_GROUP', gid });
      expect((err as Error).message).toContain(`the owner group (gid ${gid}) is not a group this process`);
      expect(existsSync(path)).toBe(false);
    }
  });

  it('a real non-root service user whose chown is refused: start fails, nothing listens, no socket file', () => {
    // The real case: a process that is not root asks for a group it is not in. Run as `nobody`
    // (65534) when the tests run as root, against the built module; as ourselves otherwise.
    const built = join(import.meta.dirname, '..', '..', '..', 'dist', 'process', 'local-api', 'server.js');
    const asRoot = process.geteuid?.() === 0;
    const sub = mkdtempSync(join(dir, 'real-'));
    chmodSync(dir, 0o711);
    chmodSync(sub, 0o777);
    // A copy `nobody` can read (the checkout may be in a folder only its owner enters); the server
    // imports only node: modules, and .mjs keeps it an ES module outside the package.
    const mod = mkdtempSync(join(dir, 'mod-'));
    chmodSync(mod, 0o755);
    const server = join(mod, 'server.mjs');
    copyFileSync(built, server);
    chmodSync(server, 0o644);
    const path = join(sub, 'r.sock');
    const script = `
      const { existsSync } = await import('node:fs');
      const { startLocalApi } = await import(${JSON.stringify(server)});
      let out;
      try {
        await startLocalApi({ socketPath: ${JSON.stringify(path)}, methods: {}, ownerGid: 0 });
        out = { started: true };
      } catch (e) {
        out = { code: e.code, message: e.message };
      }
      out.socketFile = existsSync(${JSON.stringify(path)});
      console.log(JSON.stringify(out));
      process.exit(0);
    `;
    if (!asRoot && (process.getgroups?.() ?? []).includes(0)) return; // in group 0 already: nothing to refuse
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { started?: boolean; code?: string; socketFile: boolean };
    expect(out).toMatchObject({ code: 'NOT_IN_GROUP', socketFile: false });
    expect(readdirSync(sub)).toEqual([]);
  });
});

describe('metrics', () => {
  it('counts, declares zeros, sets gauges and snapshots sorted with uptime', () => {
    let now = 1000;
    const m = new Metrics({ nowMs: () => now });
    m.declare('frames.in', 'chunks.stored');
    m.inc('frames.in');
    m.inc('frames.in', 41);
    m.set('store.bytes', 2048);
    now = 3500;
    expect(m.snapshot()).toEqual({
      uptimeMs: 2500,
      counters: { 'chunks.stored': 0, 'frames.in': 42 },
      gauges: { 'store.bytes': 2048 },
    });
    expect(Object.keys(m.snapshot().counters)).toEqual(['chunks.stored', 'frames.in']);
  });
});
