/**
 * DBC files with names chosen to collide with JavaScript object internals (`__proto__`,
 * `constructor`, `toString`) and with broken multiplexing. Names from outside are data: a signal
 * called `__proto__` is decoded and printed like any other, a missing `constructor` value encodes as
 * 0, and a multiplexer cycle, an unknown multiplexer or a 20,000-deep multiplexer chain is a
 * DbcError naming file:line, never a plain Error or a stack overflow.
 */
import { describe, expect, it } from 'vitest';
import { CompiledDbc, DbcError, parseDbc } from '../../../../agent/decode/can/index.js';
import { conversion, normaliseUnit } from '../../../../agent/decode/vss-map/units.js';

const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const dbcText = [
  'VERSION ""',
  'BU_: __proto__ constructor',
  'VAL_TABLE_ __proto__ 1 "__proto__" 0 "constructor" ;',
  'BO_ 256 __proto__: 8 __proto__',
  ...HOSTILE_NAMES.map((n, i) => ` SG_ ${n} : ${i * 8}|8@1+ (1,0) [0|255] "" constructor`),
  'BO_ 257 constructor: 1 constructor',
  ' SG_ toString : 0|8@1+ (1,0) [0|255] "" __proto__',
  'VAL_ 257 toString __proto__ ;',
  '',
].join('\n');

/** The DbcError `fn` throws. */
function dbcError(fn: () => unknown): DbcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DbcError) return err;
    throw err;
  }
  throw new Error('expected a DbcError');
}

describe('DBC names that are JavaScript object internals', () => {
  const dbc = new CompiledDbc(parseDbc(dbcText, 'hostile.dbc'));

  it('a signal named __proto__ (or constructor, toString) is decoded and printed like any other', () => {
    const m = dbc.lookup(256, false)!;
    expect(m.message.name).toBe('__proto__');
    const d = m.decode(Uint8Array.from([1, 2, 3, 4, 5, 0, 0, 0]));
    expect(Object.keys(d.signals)).toEqual(HOSTILE_NAMES);
    expect(JSON.parse(JSON.stringify(d.signals))).toEqual(
      JSON.parse('{"__proto__":1,"constructor":2,"toString":3,"hasOwnProperty":4,"valueOf":5}'),
    );
  });

  it('encoding without a value for a signal named constructor writes 0, not Object', () => {
    const m = dbc.byName('__proto__')!;
    expect([...m.encode({})]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const own = JSON.parse('{"__proto__":7,"toString":9}') as Record<string, number>;
    expect([...m.encode(own)]).toEqual([7, 0, 9, 0, 0, 0, 0, 0]);
  });

  it('messages, nodes and value tables named __proto__ are kept', () => {
    expect(dbc.byName('constructor')?.message.id).toBe(257);
    expect(dbc.byName('toString')).toBeUndefined();
    expect(dbc.database.nodes).toEqual(['__proto__', 'constructor']);
    const m = dbc.byName('constructor')!;
    expect(m.decode(Uint8Array.from([1]), { choices: true }).signals).toEqual({ toString: '__proto__' });
    expect(m.decode(Uint8Array.from([0]), { choices: true }).signals).toEqual({ toString: 'constructor' });
  });

  it('a unit named constructor is an unknown unit, not a unit of undefined dimension', () => {
    expect(normaliseUnit('constructor')).toBeUndefined();
    expect(normaliseUnit('__proto__')).toBeUndefined();
    expect(conversion('constructor', 'km/h')).toBe("unknown unit 'constructor'");
  });
});

describe('broken multiplexing', () => {
  const head = 'VERSION ""\nBU_: N\nBO_ 300 Mux: 8 N\n';

  it('a multiplexer cycle is a DbcError CYCLE naming file:line', () => {
    const text = `${head} SG_ A m1M : 0|8@1+ (1,0) [0|0] "" N\n SG_ B m1M : 8|8@1+ (1,0) [0|0] "" N\nSG_MUL_VAL_ 300 A B 1-1;\nSG_MUL_VAL_ 300 B A 1-1;\n`;
    const e = dbcError(() => new CompiledDbc(parseDbc(text, 'cycle.dbc')));
    expect(e.code).toBe('CYCLE');
    expect(e.message).toMatch(/^cycle\.dbc:[45]: Mux: multiplexer cycle at [AB]$/);
  });

  it('an unknown multiplexer is a DbcError UNKNOWN_REFERENCE naming the signal', () => {
    const text = `${head} SG_ A m1 : 0|8@1+ (1,0) [0|0] "" N\nSG_MUL_VAL_ 300 A Nope 1-1;\n`;
    const e = dbcError(() => new CompiledDbc(parseDbc(text, 'unknown.dbc')));
    expect(e.code).toBe('UNKNOWN_REFERENCE');
    expect(e.message).toBe('unknown.dbc:4: Mux: A is switched by unknown signal Nope');
    const plain = `${head} SG_ A m1 : 0|8@1+ (1,0) [0|0] "" N\n`;
    expect(dbcError(() => parseDbc(plain, 'plain.dbc')).code).toBe('UNKNOWN_REFERENCE');
  });

  it('a multiplexer chain 20,000 deep compiles without a stack overflow', () => {
    const n = 20_000;
    const lines = [head, ' SG_ S0 M : 0|1@1+ (1,0) [0|1] "" N'];
    for (let i = 1; i < n; i++) lines.push(` SG_ S${i} m1M : 0|1@1+ (1,0) [0|1] "" N`);
    for (let i = 1; i < n; i++) lines.push(`SG_MUL_VAL_ 300 S${i} S${i - 1} 1-1;`);
    const dbc = new CompiledDbc(parseDbc(`${lines.join('\n')}\n`, 'chain.dbc'));
    expect(dbc.byName('Mux')!.steps).toHaveLength(n);
    const cycle = `${lines.join('\n')}\nSG_MUL_VAL_ 300 S0 S${n - 1} 1-1;\n`;
    expect(dbcError(() => new CompiledDbc(parseDbc(cycle, 'chain.dbc'))).code).toBe('CYCLE');
  });
});
