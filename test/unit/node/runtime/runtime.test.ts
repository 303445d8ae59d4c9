import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Ed25519Signer,
  encodeSignedTx,
  fromHex,
  keyHash,
  MemoryChainStore,
  type SignedTx,
  signTx,
  smtVerify,
  toHex,
  UNIT,
} from '../../../../chain/index.js';
import { handleApi } from '../../../../node/http/index.js';
import { tcpTransport } from '../../../../node/p2p/index.js';
import {
  checkTx,
  FileSigningGuard,
  FullNode,
  formatGenesis,
  localGenesis,
  parseGenesis,
  readKeyFile,
  SigningGuardError,
  writeKeyFile,
} from '../../../../node/runtime/index.js';

const key = (n: number) => new Ed25519Signer(new Uint8Array(32).fill(n));
const whale = key(9);
const spec = localGenesis({
  chainId: 'qood-unit',
  preset: 'minimal',
  producers: [key(1), key(2), key(3), key(4)],
  whale,
  timeMs: 1_800_000_000_000,
});
const dir = mkdtempSync(join(tmpdir(), 'qood-node-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const transfer = (
  nonce: number,
  opts: { signer?: Ed25519Signer; chainId?: string; amount?: bigint } = {},
): SignedTx =>
  signTx(
    {
      chainId: opts.chainId ?? 'qood-unit',
      kind: 'transfer',
      sender: toHex((opts.signer ?? whale).publicKey),
      nonce,
      fee: 0n,
      body: {
        to: toHex(key(5).publicKey),
        token: 'QDT',
        amount: opts.amount ?? UNIT,
        memo: new Uint8Array(),
      },
    },
    opts.signer ?? whale,
  );

describe('genesis file', () => {
  it('round-trips through YAML with the preset supplying the parameters', () => {
    const back = parseGenesis(formatGenesis(spec), 'minimal');
    expect(back).toEqual(spec);
    expect(parseGenesis(formatGenesis(spec), 'mainnet').params.blocksPerTurn).toBe(6);
  });

  it('names every problem', () => {
    const text = formatGenesis(spec)
      .replace(/issuer: .*/, 'issuer: xyz')
      .replace('version: 1', 'version: 2');
    expect(() => parseGenesis(text, 'minimal', 'g.yaml')).toThrow(
      /^g\.yaml: version: .*; issuer: an address: 64 lowercase hex digits$/,
    );
    expect(() => parseGenesis('a: [', 'minimal', 'g.yaml')).toThrow(/^g\.yaml: not YAML/);
  });
});

describe('key file and signing guard', () => {
  it('writes a key readable only by its owner and reads it back', () => {
    const p = join(dir, 'node.key');
    writeKeyFile(p, new Uint8Array(32).fill(1));
    expect(toHex(readKeyFile(p).publicKey)).toBe(toHex(key(1).publicKey));
    expect(() => writeKeyFile(p, new Uint8Array(32))).toThrow(/EEXIST/);
    writeFileSync(join(dir, 'bad.key'), 'zz\n');
    expect(() => readKeyFile(join(dir, 'bad.key'))).toThrow(
      /bad\.key: expected an ed25519 secret key as 64 hex digits/,
    );
  });

  it('keeps signed heights across instances and refuses a damaged file', () => {
    const p = join(dir, 'guard.json');
    const g = new FileSigningGuard(p);
    expect(g.load()).toEqual({ producedThrough: 0, votedThrough: 0 });
    g.save({ producedThrough: 12, votedThrough: 14 });
    expect(new FileSigningGuard(p).load()).toEqual({ producedThrough: 12, votedThrough: 14 });
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual({
      version: 1,
      producedThrough: 12,
      votedThrough: 14,
    });
    writeFileSync(p, '{"version":1,"producedThrough":-1,"votedThrough":0}');
    expect(() => g.load()).toThrow(SigningGuardError);
  });
});

describe('mempool admission', () => {
  const node = new FullNode({
    genesis: spec,
    signer: key(1),
    store: new MemoryChainStore(),
    transport: tcpTransport,
    peers: [],
  });
  const head = node.head.state;

  it('admits a valid transfer and queued nonces, refuses the rest with a reason', () => {
    expect(checkTx(head, transfer(0))).toBeUndefined();
    expect(checkTx(head, transfer(5))).toBeUndefined();
    expect(checkTx(head, transfer(65))?.code).toBe('NONCE_TOO_FAR');
    expect(checkTx(head, transfer(0, { chainId: 'other' }))?.code).toBe('WRONG_CHAIN');
    const forged = { ...transfer(0), signature: new Uint8Array(64) };
    expect(checkTx(head, forged)).toEqual({
      code: 'BAD_SIGNATURE',
      message: 'signature does not verify under the sender key',
    });
    const poor = checkTx(head, transfer(0, { signer: key(6) }));
    expect(poor?.code).toBe('INVALID');
    expect(poor?.message).toMatch(/^INSUFFICIENT_/);
  });

  it('the API submits, deduplicates and explains refusals', () => {
    const tx = transfer(0);
    const hex = toHex(encodeSignedTx(tx));
    const post = (body: string, contentType = 'application/json') =>
      handleApi(node, { method: 'POST', path: '/tx', contentType, body: new TextEncoder().encode(body) });
    expect(post(JSON.stringify({ tx: hex }))).toEqual({
      status: 202,
      body: { id: toHex(tx.id), status: 'pending' },
    });
    expect(post(JSON.stringify({ tx: hex })).body).toEqual({ id: toHex(tx.id), status: 'known' });
    expect(node.mempoolSize).toBe(1);
    expect(post('{').status).toBe(400);
    expect(post(JSON.stringify({ tx: 'abcd' })).body).toMatchObject({ error: { code: 'MALFORMED' } });
    expect(post('x', 'text/plain').status).toBe(415);
    const forged = toHex(encodeSignedTx({ ...transfer(1), signature: new Uint8Array(64) }));
    expect(post(JSON.stringify({ tx: forged }))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_SIGNATURE' } },
    });
    const cbor = handleApi(node, {
      method: 'POST',
      path: '/tx',
      contentType: 'application/cbor',
      body: encodeSignedTx(transfer(1)),
    });
    expect(cbor.status).toBe(202);
  });

  it('the API serves state with a proof that verifies, and says what is wrong', () => {
    const get = (path: string) =>
      handleApi(node, { method: 'GET', path, contentType: '', body: new Uint8Array() });
    const addr = toHex(whale.publicKey);
    const r = get(`/state/acct%2F${addr}`);
    expect(r.status).toBe(200);
    const b = r.body as {
      value: string;
      stateRoot: string;
      decoded: { qdt: string };
      proof: {
        depth: number;
        bitmap: string;
        siblings: string[];
        leaf: { keyHash: string; valueHash: string } | null;
        bytes: number;
      };
    };
    expect(b.decoded.qdt).toBe((1_000_000_000n * UNIT).toString());
    expect(b.proof.bytes).toBeLessThan(1024);
    // The proof as served checks against the served root; a changed value does not.
    const proof = {
      depth: b.proof.depth,
      bitmap: fromHex(b.proof.bitmap),
      siblings: b.proof.siblings.map(fromHex),
      leaf:
        b.proof.leaf === null
          ? null
          : { keyHash: fromHex(b.proof.leaf.keyHash), valueHash: fromHex(b.proof.leaf.valueHash) },
    };
    const root = fromHex(b.stateRoot);
    expect(smtVerify(root, keyHash(`acct/${addr}`), fromHex(b.value), proof)).toBe(true);
    const other = Uint8Array.from(fromHex(b.value));
    other[other.length - 1]! ^= 1;
    expect(smtVerify(root, keyHash(`acct/${addr}`), other, proof)).toBe(false);
    const same = get(`/state/acct/${addr}`).body as { value: string };
    expect(same.value).toBe(b.value);
    expect(get('/state/acct%2Fzz%20x')).toMatchObject({ status: 400, body: { error: { code: 'BAD_KEY' } } });
    expect(get('/blocks/abc')).toMatchObject({ status: 400, body: { error: { code: 'BAD_HEIGHT' } } });
    // A malformed percent-escape is a bad height named as sent, not an internal error (the fuzz suite).
    expect(get('/blocks/%ba')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_HEIGHT', message: "height '%ba': expected a decimal integer" } },
    });
    expect(get('/accounts/%ab%zz/next-free-tx')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_ADDRESS' } },
    });
    expect(get('/blocks/5').status).toBe(404);
    expect(get('/finality')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FINAL_YET' } } });
    expect(get('/accounts/xyz/next-free-tx').status).toBe(400);
    expect(get(`/accounts/${addr}/next-free-tx`).body).toMatchObject({
      address: addr,
      nonce: 0,
      height: 0,
      nextFreeHeight: 1,
    });
    const poor = get(`/accounts/${toHex(key(6).publicKey)}/next-free-tx`).body as { nextFreeHeight: null };
    expect(poor.nextFreeHeight).toBeNull();
    expect(get('/nothing').status).toBe(404);
    expect(
      handleApi(node, { method: 'DELETE', path: '/status', contentType: '', body: new Uint8Array() }).status,
    ).toBe(405);
  });
});
