/**
 * The grantee's signed control command as the device decodes it: argument names are data, so one
 * named like an object internal (`__proto__`, `constructor`) is kept as an argument, not dropped or
 * read from a prototype (found by the fuzz suite's review).
 */
import { describe, expect, it } from 'vitest';
import { decodeCommand, Ed25519Signer, sha256, signCommand } from '../../../../chain/index.js';

const signer = new Ed25519Signer(sha256(new TextEncoder().encode('control-wire-test')));

describe('control command codec', () => {
  it('keeps an argument named __proto__ (the signature covers it) and reads nothing inherited', () => {
    const args = JSON.parse('{"__proto__":5,"x":1}') as Record<string, number>;
    const bytes = signCommand(
      {
        grantId: '11'.repeat(32),
        command: 'flash-lights',
        args,
        nonce: '22'.repeat(16),
        issuedMs: 1_700_000_000_000,
      },
      signer,
    );
    const c = decodeCommand(bytes);
    expect(Object.keys(c.args).sort()).toEqual(['__proto__', 'x']);
    expect(Object.hasOwn(c.args, '__proto__')).toBe(true);
    expect(c.args.x).toBe(1);
    expect(c.args.constructor).toBeUndefined();
  });
});
