/**
 * DBC parser. Reads every statement the real-world files in use carry (VERSION, NS_, BS_, BU_,
 * VAL_TABLE_, BO_, SG_ with simple and extended multiplexing, BO_TX_BU_, CM_, BA_DEF_, BA_DEF_DEF_,
 * BA_, VAL_, SIG_VALTYPE_, SG_MUL_VAL_) and skips the rest statement by statement. Mistakes that
 * published files are known to make are tolerated with a warning naming the line, as cantools does
 * with strict=False: a `CM_ SG_` without a signal name, a `CM_` without an object type, and an id
 * above 0x7FF without the extended flag (taken as a 29-bit id). Anything else that does not fit the
 * grammar is a DbcError with file:line and what was expected.
 */

import { type Token, tokenize } from './dbc-tokenizer.js';
import type {
  DbcDatabase,
  DbcMessage,
  DbcSignal,
  DbcWarning,
  MultiplexCondition,
  SignalValueType,
} from './dbc-types.js';
import { DbcError } from './dbc-types.js';

const EXTENDED_FLAG = 0x80000000;

type MutableSignal = { -readonly [K in keyof DbcSignal]: DbcSignal[K] };
interface MutableMessage extends Omit<DbcMessage, 'signals'> {
  signals: MutableSignal[];
  comment?: string;
  cycleTimeMs?: number;
  j1939: boolean;
  fd: boolean;
}

/** Statements whose content QoodBlock does not use; skipped up to their `;`. */
const SKIPPED = new Set([
  'EV_',
  'ENVVAR_DATA_',
  'SGTYPE_',
  'SGTYPE_VAL_',
  'BA_DEF_SGTYPE_',
  'BA_SGTYPE_',
  'SIG_TYPE_REF_',
  'SIG_GROUP_',
  'SIGTYPE_VALTYPE_',
  'BA_DEF_REL_',
  'BA_REL_',
  'BA_DEF_DEF_REL_',
  'BU_SG_REL_',
  'BU_EV_REL_',
  'BU_BO_REL_',
  'CAT_DEF_',
  'CAT_',
  'FILTER',
  'EV_DATA_',
  'NS_DESC_',
  'BO_TX_BU_',
]);

/** Parses DBC text; `file` names it in errors and warnings. */
export function parseDbc(text: string, file = '<dbc>'): DbcDatabase {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (e) {
    const { line, message } = e as { line: number; message: string };
    throw new DbcError('SYNTAX', file, line, message);
  }
  return new Parser(tokens, file).parse();
}

class Parser {
  #i = 0;
  readonly #warnings: DbcWarning[] = [];
  readonly #messages: MutableMessage[] = [];
  readonly #byId = new Map<string, MutableMessage>();
  readonly #valueTables = new Map<string, Map<number, string>>();
  readonly #attributes = new Map<string, string | number>();
  readonly #attrDefaults = new Map<string, string | number>();
  readonly #enumAttrs = new Map<string, string[]>();
  readonly #signalIndexes = new Map<MutableMessage, { count: number; byName: Map<string, MutableSignal> }>();
  #nodes: string[] = [];
  #version = '';

  readonly #tokens: Token[];
  readonly #file: string;

  constructor(tokens: Token[], file: string) {
    this.#tokens = tokens;
    this.#file = file;
  }

  parse(): DbcDatabase {
    while (this.#i < this.#tokens.length) {
      const t = this.#next();
      if (t.kind !== 'ident') this.#fail(t, `a DBC keyword (BO_, SG_, CM_, BA_, VAL_ ...)`);
      switch (t.text) {
        case 'VERSION':
          this.#version = this.#expectKind('string', 'a quoted version after VERSION').text;
          break;
        case 'NS_':
          this.#parseNewSymbols();
          break;
        case 'BS_':
          this.#parseBitTiming(t);
          break;
        case 'BU_':
          this.#nodes = this.#parseNodes(t);
          break;
        case 'VAL_TABLE_':
          this.#parseValueTable();
          break;
        case 'BO_':
          this.#parseMessage(t);
          break;
        case 'SG_':
          this.#fail(t, 'a BO_ before its SG_ lines');
          break;
        case 'CM_':
          this.#parseComment(t);
          break;
        case 'BA_DEF_':
          this.#parseAttributeDefinition();
          break;
        case 'BA_DEF_DEF_':
          this.#parseAttributeDefault();
          break;
        case 'BA_':
          this.#parseAttribute(t);
          break;
        case 'VAL_':
          this.#parseValueDescriptions(t);
          break;
        case 'SIG_VALTYPE_':
          this.#parseSignalValueType(t);
          break;
        case 'SG_MUL_VAL_':
          this.#parseMultiplexValues(t);
          break;
        default:
          if (SKIPPED.has(t.text)) this.#skipStatement();
          else this.#fail(t, `a DBC keyword (BO_, SG_, CM_, BA_, VAL_ ...), not '${t.text}'`);
      }
    }
    this.#applyAttributes();
    return {
      file: this.#file,
      version: this.#version,
      nodes: this.#nodes,
      messages: this.#messages.map((m) => ({
        ...m,
        signals: m.signals.map((s) => this.#finishSignal(m, s)),
      })),
      attributes: this.#attributes,
      warnings: this.#warnings,
    };
  }

  // --- token helpers -------------------------------------------------------------------------

  #peek(): Token | undefined {
    return this.#tokens[this.#i];
  }

  #next(): Token {
    const t = this.#tokens[this.#i++];
    if (t === undefined) {
      const last = this.#tokens[this.#tokens.length - 1];
      throw new DbcError('SYNTAX', this.#file, last?.line ?? 1, 'unexpected end of file');
    }
    return t;
  }

  #fail(t: Token, expected: string): never {
    const found = t.kind === 'string' ? `"${t.text}"` : `'${t.text}'`;
    throw new DbcError('SYNTAX', this.#file, t.line, `expected ${expected}; found ${found}`);
  }

  #expectKind(kind: Token['kind'], what: string): Token {
    const t = this.#next();
    if (t.kind !== kind) this.#fail(t, what);
    return t;
  }

  #expectPunct(p: string, what: string): void {
    const t = this.#next();
    if (t.kind !== 'punct' || t.text !== p) this.#fail(t, what);
  }

  #expectNumber(what: string): number {
    const t = this.#next();
    if (t.kind !== 'number') this.#fail(t, what);
    return Number(t.text);
  }

  #expectInteger(what: string): number {
    const t = this.#next();
    const v = Number(t.text);
    if (t.kind !== 'number' || !Number.isInteger(v)) this.#fail(t, what);
    return v;
  }

  #skipStatement(): void {
    while (this.#i < this.#tokens.length) {
      const t = this.#next();
      if (t.kind === 'punct' && t.text === ';') return;
    }
  }

  #atPunct(p: string): boolean {
    const t = this.#peek();
    return t !== undefined && t.kind === 'punct' && t.text === p;
  }

  // --- statements ----------------------------------------------------------------------------

  #parseNewSymbols(): void {
    this.#expectPunct(':', "':' after NS_");
    // The list is indented under NS_; it ends at the first token in column 0.
    while (this.#peek() !== undefined && this.#peek()!.column > 0) this.#i++;
  }

  #parseBitTiming(kw: Token): void {
    this.#expectPunct(':', "':' after BS_");
    // Obsolete baudrate:btr1,btr2 on the same line, if any.
    while (this.#peek() !== undefined && this.#peek()!.line === kw.line) this.#i++;
  }

  #parseNodes(kw: Token): string[] {
    this.#expectPunct(':', "':' after BU_");
    const nodes: string[] = [];
    while (this.#peek() !== undefined && this.#peek()!.line === kw.line && this.#peek()!.kind === 'ident')
      nodes.push(this.#next().text);
    // Some tools wrap long node lists onto indented lines.
    while (this.#peek() !== undefined && this.#peek()!.column > 0 && this.#peek()!.kind === 'ident')
      nodes.push(this.#next().text);
    return nodes;
  }

  #parseValueTable(): void {
    const name = this.#expectKind('ident', 'a value table name after VAL_TABLE_').text;
    this.#valueTables.set(name, this.#parseChoices('VAL_TABLE_'));
  }

  #parseChoices(where: string): Map<number, string> {
    const map = new Map<number, string>();
    while (!this.#atPunct(';')) {
      const t = this.#peek();
      if (t === undefined || (t.column === 0 && t.kind === 'ident')) {
        // Seen at the end of published files: the last VAL_ without its ';'.
        const last = this.#tokens[this.#i - 1];
        this.#warnings.push({
          line: last?.line ?? 1,
          message: `${where} not terminated by ';'; ended at ${t === undefined ? 'the end of the file' : `line ${t.line}`}`,
        });
        return map;
      }
      const v = this.#expectNumber(`a raw value or ';' in ${where}`);
      const d = this.#expectKind('string', `a quoted description after the value ${v} in ${where}`).text;
      map.set(v, d);
    }
    this.#next();
    return map;
  }

  #parseMessage(kw: Token): void {
    const rawId = this.#expectInteger('a message id (decimal) after BO_');
    const name = this.#expectKind('ident', 'a message name after the id').text;
    this.#expectPunct(':', `':' after message name ${name}`);
    const length = this.#expectInteger(`the payload length in bytes of ${name}`);
    const senderTok = this.#next();
    if (senderTok.kind !== 'ident') this.#fail(senderTok, `the sending node of ${name}`);
    if (length < 0 || length > 64)
      throw new DbcError(
        'RANGE',
        this.#file,
        kw.line,
        `message ${name}: length ${length}; expected 0..64 bytes`,
      );
    let extended = (rawId & EXTENDED_FLAG) !== 0 || rawId > 0xffffffff;
    let id = rawId >= EXTENDED_FLAG ? rawId - EXTENDED_FLAG : rawId;
    if (rawId === 0xc0000000) {
      // VECTOR__INDEPENDENT_SIG_MSG: a container for signals not sent in any message.
      id = rawId;
      extended = false;
    } else if (!extended && id > 0x7ff) {
      this.#warnings.push({
        line: kw.line,
        message: `message ${name}: id ${rawId} (0x${rawId.toString(16)}) exceeds 11 bits but lacks the extended flag (bit 31); taken as a 29-bit id`,
      });
      extended = true;
    }
    if (extended && id > 0x1fffffff)
      throw new DbcError(
        'RANGE',
        this.#file,
        kw.line,
        `message ${name}: id 0x${id.toString(16)}; expected at most 0x1FFFFFFF`,
      );
    const msg: MutableMessage = {
      id,
      extended,
      name,
      length,
      sender: senderTok.text,
      signals: [],
      j1939: false,
      fd: false,
      line: kw.line,
    };
    const key = `${rawId}`;
    if (this.#byId.has(key))
      throw new DbcError('DUPLICATE', this.#file, kw.line, `message id ${rawId} defined twice`);
    this.#byId.set(key, msg);
    this.#messages.push(msg);
    while (this.#peek()?.kind === 'ident' && this.#peek()!.text === 'SG_') {
      this.#next();
      msg.signals.push(this.#parseSignal(msg));
    }
  }

  #parseSignal(msg: MutableMessage): MutableSignal {
    const nameTok = this.#expectKind('ident', `a signal name after SG_ in ${msg.name}`);
    const line = nameTok.line;
    let isMultiplexer = false;
    let muxValue: number | undefined;
    if (this.#peek()?.kind === 'ident') {
      const m = /^(?:M|m(\d+)(M?))$/.exec(this.#peek()!.text);
      if (!m)
        this.#fail(
          this.#peek()!,
          `':' or a multiplexer indicator (M, m<n>, m<n>M) after signal ${nameTok.text}`,
        );
      this.#next();
      if (m[1] === undefined) isMultiplexer = true;
      else {
        muxValue = Number(m[1]);
        isMultiplexer = m[2] === 'M';
      }
    }
    this.#expectPunct(':', `':' after signal name ${nameTok.text}`);
    const startBit = this.#expectInteger(`the start bit of ${nameTok.text}`);
    this.#expectPunct('|', `'|' between start bit and length of ${nameTok.text}`);
    const length = this.#expectInteger(`the bit length of ${nameTok.text}`);
    this.#expectPunct('@', `'@' before the byte order of ${nameTok.text}`);
    const orderTok = this.#next();
    // `@1-` tokenises as the number -1? No: '1' then '-' because '-' is not followed by a digit.
    if (orderTok.text !== '0' && orderTok.text !== '1')
      this.#fail(orderTok, `byte order 0 (Motorola) or 1 (Intel) for ${nameTok.text}`);
    const signTok = this.#next();
    if (signTok.text !== '+' && signTok.text !== '-')
      this.#fail(signTok, `'+' (unsigned) or '-' (signed) for ${nameTok.text}`);
    this.#expectPunct('(', `'(' before factor of ${nameTok.text}`);
    const factor = this.#expectNumber(`the factor of ${nameTok.text}`);
    this.#expectPunct(',', `',' between factor and offset of ${nameTok.text}`);
    const offset = this.#expectNumber(`the offset of ${nameTok.text}`);
    this.#expectPunct(')', `')' after offset of ${nameTok.text}`);
    this.#expectPunct('[', `'[' before the range of ${nameTok.text}`);
    const minimum = this.#expectNumber(`the minimum of ${nameTok.text}`);
    this.#expectPunct('|', `'|' in the range of ${nameTok.text}`);
    const maximum = this.#expectNumber(`the maximum of ${nameTok.text}`);
    this.#expectPunct(']', `']' after the range of ${nameTok.text}`);
    const unit = this.#expectKind('string', `the quoted unit of ${nameTok.text}`).text;
    const receivers: string[] = [];
    while (this.#peek() !== undefined && this.#peek()!.line === line && this.#peek()!.kind === 'ident') {
      receivers.push(this.#next().text);
      if (this.#atPunct(',') && this.#peek()!.line === line) this.#next();
    }
    if (length < 1 || length > 64)
      throw new DbcError(
        'RANGE',
        this.#file,
        line,
        `signal ${nameTok.text}: length ${length}; expected 1..64 bits`,
      );
    const sig: MutableSignal = {
      name: nameTok.text,
      startBit,
      length,
      byteOrder: orderTok.text === '1' ? 'little' : 'big',
      signed: signTok.text === '-',
      valueType: 'int',
      factor,
      offset,
      minimum,
      maximum,
      unit,
      receivers,
      isMultiplexer,
      line,
    };
    if (muxValue !== undefined) sig.multiplexedBy = { multiplexer: '', ranges: [[muxValue, muxValue]] };
    return sig;
  }

  #parseComment(kw: Token): void {
    const t = this.#next();
    if (t.kind === 'string') {
      this.#expectPunct(';', "';' after the comment");
      return;
    }
    if (t.kind === 'number') {
      // Seen in published files: `CM_ 145 "text";` with no object type.
      this.#warnings.push({
        line: kw.line,
        message: `CM_ ${t.text} has no object type (expected BU_, BO_, SG_ or EV_); ignored`,
      });
      this.#skipStatement();
      return;
    }
    if (t.kind !== 'ident') this.#fail(t, 'BU_, BO_, SG_, EV_ or a quoted comment after CM_');
    if (t.text === 'BO_') {
      const msg = this.#messageRef(this.#expectInteger('a message id after CM_ BO_'), kw);
      const text = this.#expectKind('string', 'the quoted comment').text;
      this.#expectPunct(';', "';' after the comment");
      if (msg) msg.comment = text;
    } else if (t.text === 'SG_') {
      const id = this.#expectInteger('a message id after CM_ SG_');
      const nameTok = this.#next();
      if (nameTok.kind === 'string') {
        this.#warnings.push({ line: kw.line, message: `CM_ SG_ ${id} has no signal name; comment ignored` });
        this.#expectPunct(';', "';' after the comment");
        return;
      }
      if (nameTok.kind !== 'ident') this.#fail(nameTok, 'a signal name after the message id');
      const text = this.#expectKind('string', 'the quoted comment').text;
      this.#expectPunct(';', "';' after the comment");
      const sig = this.#signalRef(id, nameTok.text, kw);
      if (sig) sig.comment = text;
    } else {
      this.#skipStatement();
    }
  }

  #parseAttributeDefinition(): void {
    let t = this.#next();
    if (t.kind === 'ident' && ['BU_', 'BO_', 'SG_', 'EV_'].includes(t.text)) t = this.#next();
    if (t.kind !== 'string') this.#fail(t, 'the quoted attribute name in BA_DEF_');
    const name = t.text;
    const type = this.#expectKind(
      'ident',
      `the type of attribute ${name} (INT, HEX, FLOAT, STRING, ENUM)`,
    ).text;
    if (type === 'ENUM') {
      const values: string[] = [];
      while (!this.#atPunct(';')) {
        const v = this.#next();
        if (v.kind === 'string') values.push(v.text);
        else if (!(v.kind === 'punct' && v.text === ','))
          this.#fail(v, `a quoted enum value or ';' for ${name}`);
      }
      this.#enumAttrs.set(name, values);
    }
    this.#skipStatement();
  }

  #parseAttributeDefault(): void {
    const name = this.#expectKind('string', 'the quoted attribute name in BA_DEF_DEF_').text;
    const v = this.#next();
    if (v.kind === 'string' || v.kind === 'number')
      this.#attrDefaults.set(name, v.kind === 'number' ? Number(v.text) : v.text);
    this.#skipStatement();
  }

  /** Attribute values on messages and signals, applied after parsing. */
  readonly #objectAttrs: {
    kind: 'BO_' | 'SG_';
    id: number;
    signal?: string;
    name: string;
    value: string | number;
    kw: Token;
  }[] = [];

  #parseAttribute(kw: Token): void {
    const name = this.#expectKind('string', 'the quoted attribute name after BA_').text;
    const t = this.#next();
    const valueOfToken = (v: Token): string | number => (v.kind === 'number' ? Number(v.text) : v.text);
    if (t.kind === 'string' || t.kind === 'number') {
      this.#attributes.set(name, valueOfToken(t));
      this.#expectPunct(';', "';' after the attribute value");
      return;
    }
    if (t.kind === 'ident' && t.text === 'BO_') {
      const id = this.#expectInteger('a message id after BA_ ... BO_');
      const v = this.#next();
      this.#objectAttrs.push({ kind: 'BO_', id, name, value: valueOfToken(v), kw });
    } else if (t.kind === 'ident' && t.text === 'SG_') {
      const id = this.#expectInteger('a message id after BA_ ... SG_');
      const sig = this.#expectKind('ident', 'a signal name').text;
      const v = this.#next();
      this.#objectAttrs.push({ kind: 'SG_', id, signal: sig, name, value: valueOfToken(v), kw });
    }
    this.#skipStatement();
  }

  #parseValueDescriptions(kw: Token): void {
    const first = this.#next();
    if (first.kind === 'ident') {
      // VAL_ on an environment variable: not used.
      this.#skipStatement();
      return;
    }
    if (first.kind !== 'number') this.#fail(first, 'a message id after VAL_');
    const sigName = this.#expectKind('ident', 'a signal name after the message id in VAL_').text;
    let choices: Map<number, string>;
    if (this.#peek()?.kind === 'ident') {
      // A reference to a VAL_TABLE_.
      const table = this.#next().text;
      this.#expectPunct(';', "';' after the value table name");
      const found = this.#valueTables.get(table);
      if (!found)
        throw new DbcError('UNKNOWN_REFERENCE', this.#file, kw.line, `value table ${table} is not defined`);
      choices = found;
    } else {
      choices = this.#parseChoices('VAL_');
    }
    const sig = this.#signalRef(Number(first.text), sigName, kw);
    if (sig) sig.choices = choices;
  }

  #parseSignalValueType(kw: Token): void {
    const id = this.#expectInteger('a message id after SIG_VALTYPE_');
    const sigName = this.#expectKind('ident', 'a signal name').text;
    if (this.#atPunct(':')) this.#next();
    const v = this.#expectInteger('0 (integer), 1 (float) or 2 (double)');
    this.#expectPunct(';', "';' after SIG_VALTYPE_");
    const sig = this.#signalRef(id, sigName, kw);
    if (!sig) return;
    const type: SignalValueType = v === 1 ? 'float32' : v === 2 ? 'float64' : 'int';
    const needed = type === 'float32' ? 32 : type === 'float64' ? 64 : undefined;
    if (needed !== undefined && sig.length !== needed)
      throw new DbcError(
        'RANGE',
        this.#file,
        kw.line,
        `signal ${sigName}: SIG_VALTYPE_ ${v} needs ${needed} bits; the signal has ${sig.length}`,
      );
    sig.valueType = type;
  }

  #parseMultiplexValues(kw: Token): void {
    const id = this.#expectInteger('a message id after SG_MUL_VAL_');
    const sigName = this.#expectKind('ident', 'the multiplexed signal name').text;
    const muxName = this.#expectKind('ident', 'the multiplexer signal name').text;
    const ranges: [number, number][] = [];
    while (!this.#atPunct(';')) {
      const lo = this.#expectInteger('a range such as 3-5 in SG_MUL_VAL_');
      // `3-5` tokenises as 3 and -5.
      const hiTok = this.#next();
      const hi = Number(hiTok.text);
      if (hiTok.kind !== 'number' || !hiTok.text.startsWith('-'))
        this.#fail(hiTok, `'-' and the upper end of the range starting at ${lo}`);
      ranges.push([lo, -hi]);
      if (this.#atPunct(',')) this.#next();
    }
    this.#next();
    const sig = this.#signalRef(id, sigName, kw);
    if (sig) sig.multiplexedBy = { multiplexer: muxName, ranges };
  }

  // --- references and finishing ------------------------------------------------------------

  #messageRef(rawId: number, kw: Token): MutableMessage | undefined {
    const msg = this.#byId.get(`${rawId}`);
    if (!msg)
      this.#warnings.push({
        line: kw.line,
        message: `${kw.text} refers to message id ${rawId}, which is not defined; ignored`,
      });
    return msg;
  }

  /**
   * A message's signals by name (the first of a name), rebuilt when signals were added: a DBC from
   * outside with 20,000 signals and as many SG_MUL_VAL_ lines stays linear, not quadratic.
   */
  #signalIndex(msg: MutableMessage): Map<string, MutableSignal> {
    let index = this.#signalIndexes.get(msg);
    if (index === undefined || index.count !== msg.signals.length) {
      const byName = new Map<string, MutableSignal>();
      for (const s of msg.signals) if (!byName.has(s.name)) byName.set(s.name, s);
      index = { count: msg.signals.length, byName };
      this.#signalIndexes.set(msg, index);
    }
    return index.byName;
  }

  #signalRef(rawId: number, name: string, kw: Token): MutableSignal | undefined {
    const msg = this.#messageRef(rawId, kw);
    if (!msg) return undefined;
    const sig = this.#signalIndex(msg).get(name);
    if (!sig)
      this.#warnings.push({
        line: kw.line,
        message: `${kw.text} refers to signal ${name} of ${msg.name}, which is not defined; ignored`,
      });
    return sig;
  }

  #applyAttributes(): void {
    const enumText = (name: string, v: string | number): string | number => {
      const values = this.#enumAttrs.get(name);
      return values !== undefined && typeof v === 'number' ? (values[v] ?? v) : v;
    };
    const protocol = this.#attributes.get('ProtocolType') ?? this.#attrDefaults.get('ProtocolType');
    const dbIsJ1939 = typeof protocol === 'string' && protocol.toUpperCase() === 'J1939';
    const defaultFormat = this.#attrDefaults.get('VFrameFormat');
    const defaultCycle = this.#attrDefaults.get('GenMsgCycleTime');
    for (const m of this.#messages) {
      const fmt = defaultFormat === undefined ? undefined : enumText('VFrameFormat', defaultFormat);
      if (dbIsJ1939 && m.extended && (fmt === undefined || fmt === 'J1939PG')) m.j1939 = true;
      if (typeof defaultCycle === 'number' && defaultCycle > 0) m.cycleTimeMs = defaultCycle;
    }
    for (const a of this.#objectAttrs) {
      const msg = this.#messageRef(a.id, a.kw);
      if (!msg) continue;
      if (a.kind === 'BO_') {
        const v = enumText(a.name, a.value);
        if (a.name === 'GenMsgCycleTime' && typeof v === 'number' && v > 0) msg.cycleTimeMs = v;
        if (a.name === 'VFrameFormat') {
          msg.j1939 = v === 'J1939PG' || v === 3;
          msg.fd = typeof v === 'string' && v.endsWith('_FD');
        }
      } else {
        const sig = a.signal === undefined ? undefined : this.#signalIndex(msg).get(a.signal);
        if (sig && a.name === 'SPN' && typeof a.value === 'number') sig.spn = a.value;
      }
    }
  }

  #finishSignal(msg: MutableMessage, s: MutableSignal): DbcSignal {
    if (s.multiplexedBy && s.multiplexedBy.multiplexer === '') {
      // `m3` without SG_MUL_VAL_: switched by the message's plain multiplexer `M`.
      const plain = msg.signals.find((x) => x.isMultiplexer && x.multiplexedBy === undefined);
      if (!plain)
        throw new DbcError(
          'UNKNOWN_REFERENCE',
          this.#file,
          s.line,
          `signal ${s.name} is multiplexed (m…) but ${msg.name} has no multiplexer signal (M)`,
        );
      s.multiplexedBy = { multiplexer: plain.name, ranges: s.multiplexedBy.ranges };
    }
    return s as DbcSignal;
  }
}

export type { MultiplexCondition };
