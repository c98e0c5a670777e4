// Parsing an API answer without building all of it at once. JSON.parse of a large matrix makes
// an array and a string for every point, about three times the answer's size; a large answer's
// data.result is therefore parsed one element at a time, and each element is handed to `compact`
// (which turns a series' points into two number arrays) before the next is parsed.

/** Below this size an answer is parsed whole: the saving is small and JSON.parse is fastest. */
const PIECEWISE_FROM = 1 << 20;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;
const COLON = 58;

class NotPlain extends Error {}

function skipSpace(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
}

function endOfString(t: string, i: number): number {
  for (i++; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  throw new NotPlain();
}

/** Where the JSON value starting at `i` ends; only brackets and strings are followed, JSON.parse checks the rest. */
function endOfValue(t: string, i: number): number {
  const first = t.charCodeAt(i);
  if (first === QUOTE) return endOfString(t, i);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    while (i < t.length && !',}] \t\n\r'.includes(t[i]!)) i++;
    return i;
  }
  let depth = 0;
  while (i < t.length) {
    const c = t.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(t, i);
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1;
    i++;
  }
  throw new NotPlain();
}

/** The spans of the elements of a list (`open` is at `[` or `{`), and of their keys for an object. */
function items(t: string, open: number, keyed: boolean): { key?: string; start: number; end: number }[] {
  const out: { key?: string; start: number; end: number }[] = [];
  const close = keyed ? CLOSE_OBJECT : CLOSE_ARRAY;
  let i = skipSpace(t, open + 1);
  if (t.charCodeAt(i) === close) return out;
  for (;;) {
    let key: string | undefined;
    if (keyed) {
      if (t.charCodeAt(i) !== QUOTE) throw new NotPlain();
      const keyEnd = endOfString(t, i);
      key = JSON.parse(t.slice(i, keyEnd)) as string;
      i = skipSpace(t, keyEnd);
      if (t.charCodeAt(i) !== COLON) throw new NotPlain();
      i = skipSpace(t, i + 1);
    }
    const end = endOfValue(t, i);
    out.push({ key, start: i, end });
    i = skipSpace(t, end);
    const c = t.charCodeAt(i);
    if (c === close) return out;
    if (c !== COMMA) throw new NotPlain();
    i = skipSpace(t, i + 1);
  }
}

function member(t: string, span: { start: number } | undefined, key: string): { start: number; end: number } | undefined {
  if (!span || t.charCodeAt(span.start) !== OPEN_OBJECT) return undefined;
  return items(t, span.start, true).findLast((m) => m.key === key);
}

/**
 * JSON.parse of an answer, whose data.result elements (when the answer is large) each go through
 * `compact` as soon as they are parsed. Anything unusual is left to JSON.parse of the whole text.
 */
export function parseAnswer(text: string, compact: (element: unknown) => unknown, piecewiseFrom = PIECEWISE_FROM): unknown {
  if (text.length < piecewiseFrom) return JSON.parse(text);
  let elements: { start: number; end: number }[];
  let list: { start: number; end: number } | undefined;
  try {
    list = member(text, member(text, { start: skipSpace(text, 0) }, 'data'), 'result');
    if (!list || text.charCodeAt(list.start) !== OPEN_ARRAY) return JSON.parse(text);
    elements = items(text, list.start, false);
  } catch (err) {
    if (err instanceof NotPlain) return JSON.parse(text); // which says what is wrong
    throw err;
  }
  const body = JSON.parse(`${text.slice(0, list.start)}[]${text.slice(list.end)}`) as { data: { result: unknown[] } };
  body.data.result = elements.map((e) => compact(JSON.parse(text.slice(e.start, e.end))));
  return body;
}
