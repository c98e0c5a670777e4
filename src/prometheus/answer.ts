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

interface Span {
  start: number;
  end: number;
}

/**
 * Walks the members of the object whose `{` is at `open`, handing each key and where its value
 * starts to `visit`, which returns where the value ends if it read the value itself, else
 * undefined to have it skipped. Returns where the object ends.
 */
function walkObject(t: string, open: number, visit: (key: string, start: number) => number | undefined): number {
  let i = skipSpace(t, open + 1);
  if (t.charCodeAt(i) === CLOSE_OBJECT) return i + 1;
  for (;;) {
    if (t.charCodeAt(i) !== QUOTE) throw new NotPlain();
    const keyEnd = endOfString(t, i);
    const key = JSON.parse(t.slice(i, keyEnd)) as string;
    i = skipSpace(t, keyEnd);
    if (t.charCodeAt(i) !== COLON) throw new NotPlain();
    i = skipSpace(t, i + 1);
    i = skipSpace(t, visit(key, i) ?? endOfValue(t, i));
    const c = t.charCodeAt(i);
    if (c === CLOSE_OBJECT) return i + 1;
    if (c !== COMMA) throw new NotPlain();
    i = skipSpace(t, i + 1);
  }
}

/** The spans of the elements of the list whose `[` is at `open`, and where the list ends. */
function elementsOf(t: string, open: number): { elements: Span[]; end: number } {
  const elements: Span[] = [];
  let i = skipSpace(t, open + 1);
  if (t.charCodeAt(i) === CLOSE_ARRAY) return { elements, end: i + 1 };
  for (;;) {
    const end = endOfValue(t, i);
    elements.push({ start: i, end });
    i = skipSpace(t, end);
    const c = t.charCodeAt(i);
    if (c === CLOSE_ARRAY) return { elements, end: i + 1 };
    if (c !== COMMA) throw new NotPlain();
    i = skipSpace(t, i + 1);
  }
}

/**
 * data.result when it is a list: its span and its elements', found in one pass over the answer
 * (a large one is tens of MB). Of a key given twice the last counts, as with JSON.parse.
 */
function resultList(t: string): { list: Span; elements: Span[] } | undefined {
  const top = skipSpace(t, 0);
  if (t.charCodeAt(top) !== OPEN_OBJECT) return undefined;
  let found: { list: Span; elements: Span[] } | undefined;
  walkObject(t, top, (key, data) => {
    if (key !== 'data') return undefined;
    found = undefined;
    if (t.charCodeAt(data) !== OPEN_OBJECT) return undefined;
    return walkObject(t, data, (member, result) => {
      if (member !== 'result') return undefined;
      found = undefined;
      if (t.charCodeAt(result) !== OPEN_ARRAY) return undefined;
      const { elements, end } = elementsOf(t, result);
      found = { list: { start: result, end }, elements };
      return end;
    });
  });
  return found;
}

/**
 * JSON.parse of an answer, whose data.result elements (when the answer is large) each go through
 * `compact` as soon as they are parsed. Anything unusual is left to JSON.parse of the whole text.
 */
export function parseAnswer(text: string, compact: (element: unknown) => unknown, piecewiseFrom = PIECEWISE_FROM): unknown {
  if (text.length < piecewiseFrom) return JSON.parse(text);
  let found: ReturnType<typeof resultList>;
  try {
    found = resultList(text);
  } catch (err) {
    if (err instanceof NotPlain) return JSON.parse(text); // which says what is wrong
    throw err;
  }
  if (!found) return JSON.parse(text);
  const { list, elements } = found;
  const body = JSON.parse(`${text.slice(0, list.start)}[]${text.slice(list.end)}`) as { data: { result: unknown[] } };
  body.data.result = elements.map((e) => compact(JSON.parse(text.slice(e.start, e.end))));
  return body;
}
