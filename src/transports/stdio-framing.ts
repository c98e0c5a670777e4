// stdio messages are JSON lines. A line over the size limit is not buffered: its bytes stream
// through a scanner that keeps only the message's envelope (id, method, the tool's name), so
// the server can answer the request it cannot read and carry on with the next line.

/** What is known of a message too large to read. */
export interface Oversized {
  bytes: number;
  /** the request's id, when it could be recovered (a string or a number, as JSON-RPC allows) */
  id: string | number | null;
  method: string | null;
  /** params.name: the tool of a tools/call */
  tool: string | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
/** Longest envelope value kept: ids, methods and tool names are short; a longer one is not recovered. */
const MAX_KEPT = 256;

type Kind = 'object' | 'array';

/**
 * Reads the top-level "id" and "method" and params' "name" of a JSON object from its bytes,
 * in pieces, holding nothing else. Only depths 1 and 2 are tracked; deeper bytes are skipped
 * but for strings and brackets.
 */
export class EnvelopeScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private readonly kinds: (Kind | null)[] = [null, null, null];
  private readonly keys = ['', '', ''];
  private readonly expectKey = [false, false, false];
  private paramsOpen = false;
  /** the key or value being read at depth 1 or 2 (string bytes with their quotes, or a bare scalar) */
  private kept: { bytes: number[]; isKey: boolean; bare: boolean } | null = null;
  private readonly found = new Map<string, string>();

  feed(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) this.byte(chunk[i]!);
  }

  envelope(): Omit<Oversized, 'bytes'> {
    const parsed = (key: string): unknown => {
      const raw = this.found.get(key);
      try {
        return raw === undefined ? undefined : JSON.parse(raw);
      } catch {
        return undefined;
      }
    };
    const id = parsed('id');
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      id: typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null,
      method: text(parsed('method')),
      tool: text(parsed('params.name')),
    };
  }

  private byte(b: number): void {
    if (this.inString) return this.stringByte(b);
    if (this.kept?.bare) {
      if (!isDelimiter(b)) {
        this.keep(b);
        return;
      }
      this.finish();
    }
    switch (b) {
      case QUOTE:
        this.inString = true;
        this.begin(false);
        if (this.kept) this.keep(b);
        return;
      case 0x7b: // {
      case 0x5b: // [
        this.open(b === 0x7b ? 'object' : 'array');
        return;
      case 0x7d: // }
      case 0x5d: // ]
        this.depth--;
        return;
      case 0x2c: // ,
        if (this.depth <= 2 && this.kinds[this.depth] === 'object') this.expectKey[this.depth] = true;
        return;
      default:
        // the first character of a bare scalar (number, true, false, null); ":" separates a key from its value
        if (!isDelimiter(b) && b !== 0x3a && this.begin(true)) this.keep(b);
    }
  }

  private stringByte(b: number): void {
    if (this.kept) this.keep(b);
    if (this.escaped) this.escaped = false;
    else if (b === BACKSLASH) this.escaped = true;
    else if (b === QUOTE) {
      this.inString = false;
      if (this.kept) this.finish();
    }
  }

  private open(kind: Kind): void {
    this.depth++;
    if (this.depth > 2) return;
    this.kinds[this.depth] = kind;
    this.expectKey[this.depth] = kind === 'object';
    if (this.depth === 2) this.paramsOpen = kind === 'object' && this.kinds[1] === 'object' && this.keys[1] === 'params';
  }

  /** Starts keeping a key, or a value the envelope needs; false when there is nothing to keep. */
  private begin(bare: boolean): boolean {
    const d = this.depth;
    if (d < 1 || d > 2 || this.kinds[d] !== 'object') return false;
    const isKey = this.expectKey[d]!;
    if (!isKey && !this.wanted()) return false;
    this.kept = { bytes: [], isKey, bare };
    return true;
  }

  private wanted(): string | null {
    if (this.depth === 1 && (this.keys[1] === 'id' || this.keys[1] === 'method')) return this.keys[1];
    if (this.depth === 2 && this.paramsOpen && this.keys[2] === 'name') return 'params.name';
    return null;
  }

  private keep(b: number): void {
    if (this.kept!.bytes.length <= MAX_KEPT) this.kept!.bytes.push(b);
  }

  private finish(): void {
    const { bytes, isKey } = this.kept!;
    this.kept = null;
    const raw = bytes.length > MAX_KEPT ? '' : Buffer.from(bytes).toString('utf8');
    if (isKey) {
      let key = '';
      try {
        key = JSON.parse(raw) as string;
      } catch {
        /* cut or broken: matches nothing */
      }
      this.keys[this.depth] = key;
      this.expectKey[this.depth] = false;
    } else {
      const name = this.wanted();
      if (name) this.found.set(name, raw);
    }
  }
}

/** Whitespace and the characters that end a bare JSON scalar. */
function isDelimiter(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x2c || b === 0x7d || b === 0x5d;
}

/**
 * Splits a byte stream into lines of at most `limit` bytes. A longer line is handed to
 * `onOversized` once its newline arrives, having been scanned rather than kept.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private scanner: EnvelopeScanner | null = null;

  constructor(
    private readonly limit: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversized: (o: Oversized) => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, from);
      this.take(chunk.subarray(from, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.endLine();
      from = nl + 1;
    }
  }

  private take(part: Buffer): void {
    if (part.length === 0) return;
    this.size += part.length;
    if (!this.scanner && this.size > this.limit) {
      this.scanner = new EnvelopeScanner();
      for (const p of this.parts) this.scanner.feed(p);
      this.parts = [];
    }
    if (this.scanner) this.scanner.feed(part);
    else this.parts.push(part);
  }

  private endLine(): void {
    const { parts, size, scanner } = this;
    this.parts = [];
    this.size = 0;
    this.scanner = null;
    if (scanner) this.onOversized({ bytes: size, ...scanner.envelope() });
    else this.onLine(Buffer.concat(parts, size).toString('utf8').replace(/\r$/, ''));
  }
}
