// A parser for the small subset of Python literals that .npy headers use:
// dicts, tuples, lists, strings, integers, True/False/None. numpy writes the
// header with repr() and reads it with ast.literal_eval, so this is the
// grammar we must accept; anything else is a corrupt header.

export type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** Parses one literal; throws a plain Error with a short reason on bad syntax. */
export function parsePyLiteral(text: string): PyValue {
  const p = new Parser(text);
  const v = p.value();
  p.skipSpace();
  if (p.pos !== text.length) throw new Error(`unexpected '${text[p.pos]}' at offset ${p.pos}`);
  return v;
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  skipSpace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  value(): PyValue {
    this.skipSpace();
    const c = this.s[this.pos];
    if (c === undefined) throw new Error('unexpected end of header');
    if (c === '{') return this.dict();
    if (c === '(') return this.sequence(')');
    if (c === '[') return this.sequence(']');
    if (c === "'" || c === '"') return this.string();
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return this.int();
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    throw new Error(`unexpected '${c}' at offset ${this.pos}`);
  }

  private expect(ch: string): void {
    this.skipSpace();
    if (this.s[this.pos] !== ch) throw new Error(`expected '${ch}' at offset ${this.pos}`);
    this.pos++;
  }

  /** Comma-separated items up to `close`; a trailing comma is allowed. */
  private items<T>(close: string, item: () => T): T[] {
    this.pos++; // the opening bracket
    const out: T[] = [];
    for (;;) {
      this.skipSpace();
      if (this.s[this.pos] === close) {
        this.pos++;
        return out;
      }
      out.push(item());
      this.skipSpace();
      if (this.s[this.pos] === ',') this.pos++;
      else if (this.s[this.pos] !== close) throw new Error(`expected ',' or '${close}' at offset ${this.pos}`);
    }
  }

  private dict(): Map<string, PyValue> {
    const m = new Map<string, PyValue>();
    this.items('}', () => {
      const k = this.value();
      if (typeof k !== 'string') throw new Error('dictionary key is not a string');
      this.expect(':');
      m.set(k, this.value());
    });
    return m;
  }

  // Tuples and lists both become arrays: the header only needs their items.
  private sequence(close: string): PyValue[] {
    return this.items(close, () => this.value());
  }

  private string(): string {
    const q = this.s[this.pos++]!;
    let out = '';
    for (;;) {
      const c = this.s[this.pos++];
      if (c === undefined) throw new Error('unterminated string');
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.pos++];
      if (e === undefined) throw new Error('unterminated string');
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = this.s.slice(this.pos, this.pos + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new Error('bad escape in string');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += len;
      } else out += '\\' + e;
    }
  }

  private int(): number {
    // Python 2 wrote longs as "3L"; numpy still reads those headers.
    const m = /^[-+]?\d+L?/.exec(this.s.slice(this.pos));
    if (!m) throw new Error(`bad number at offset ${this.pos}`);
    const next = this.s[this.pos + m[0].length];
    if (next === '.' || next === 'e' || next === 'E') throw new Error(`unexpected non-integer number at offset ${this.pos}`);
    this.pos += m[0].length;
    const n = Number(m[0].replace('L', ''));
    if (!Number.isSafeInteger(n)) throw new Error(`integer ${m[0]} is too large`);
    return n;
  }
}
