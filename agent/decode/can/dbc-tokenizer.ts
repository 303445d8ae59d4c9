/**
 * Splits DBC text into tokens with their line and column. DBC is a whitespace-separated format in
 * which statements mostly end with `;` or the end of a line (BO_, SG_, BU_), so tokens keep their
 * position for both error messages and line-oriented statements.
 */

export type TokenKind = 'ident' | 'number' | 'string' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** The text; for a string, its content without quotes or escapes. */
  readonly text: string;
  readonly line: number;
  /** 0-based column of the first character. */
  readonly column: number;
}

const PUNCT = new Set([':', '|', '@', '(', ')', '[', ']', ',', ';', '+', '-']);

/** Tokenises `text`; throws `{ line, message }` for an unterminated string or a stray character. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
      lineStart = i;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 0xfeff) {
      i++;
      continue;
    }
    const column = i - lineStart;
    const ch = text[i]!;
    if (ch === '/' && text[i + 1] === '/') {
      // A // comment to the end of the line (written by some tools, accepted by cantools).
      while (i < n && text.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (ch === '"') {
      const startLine = line;
      let j = i + 1;
      let s = '';
      while (j < n && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < n) {
          s += text[j + 1];
          j += 2;
          continue;
        }
        if (text[j] === '\n') {
          line++;
          lineStart = j + 1;
        }
        s += text[j];
        j++;
      }
      if (j >= n) throw { line: startLine, message: 'string not terminated: expected a closing "' };
      out.push({ kind: 'string', text: s, line: startLine, column });
      i = j + 1;
      continue;
    }
    // A number: optional sign only when a digit or a dot follows (so `@1+` stays '1' and '+').
    const isDigit = (k: number) => k < n && text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 57;
    if (
      isDigit(i) ||
      ((ch === '-' || ch === '+') && (isDigit(i + 1) || (text[i + 1] === '.' && isDigit(i + 2))))
    ) {
      let j = i + 1;
      while (j < n && /[0-9.eExXa-fA-F]/.test(text[j]!)) {
        // An exponent may carry a sign.
        if (
          (text[j] === 'e' || text[j] === 'E') &&
          (text[j + 1] === '-' || text[j + 1] === '+') &&
          !/^[+-]?0[xX]/.test(text.slice(i, j))
        )
          j++;
        j++;
      }
      const raw = text.slice(i, j);
      // `1A1` style tokens (identifiers starting with a digit do not occur; hex only with 0x).
      if (!Number.isFinite(Number(raw)) && !/^[+-]?0[xX][0-9a-fA-F]+$/.test(raw)) {
        // Something like `12abc`: an identifier-ish token; let the parser complain about it.
        out.push({ kind: 'ident', text: raw, line, column });
      } else {
        out.push({ kind: 'number', text: raw, line, column });
      }
      i = j;
      continue;
    }
    if (PUNCT.has(ch)) {
      out.push({ kind: 'punct', text: ch, line, column });
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(text[j]!)) j++;
      out.push({ kind: 'ident', text: text.slice(i, j), line, column });
      i = j;
      continue;
    }
    throw { line, message: `unexpected character '${ch}' (code ${c})` };
  }
  return out;
}
