// What a PromQL query is, read with Prometheus's own grammar (lezer-promql) rather than by
// pattern: comments, strings, label matchers, keywords in any case and modifiers then fall
// where Prometheus puts them. Loaded at first use (promql.ts's queryShape): most calls never
// need it. One parse answers every question a caller asks.
import { parser } from '@prometheus-io/lezer-promql';
import { parseSecondsOrDuration } from '../time.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Functions whose result is a per-second or per-window change rather than the values themselves. */
const RATE_LIKE = new Set(['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv']);
/** Nodes a selector's range or subquery window is read through: its own modifiers. */
const MODIFIERS = new Set(['OffsetExpr', 'StepInvariantExpr']);
/** Expressions whose last operand a modifier after them binds to in Prometheus. */
const OPERATORS = new Set(['BinaryExpr', 'UnaryExpr']);
/** Durations nest only so deep in real queries; deeper ones are not worth a recursion. */
const MAX_DURATION_DEPTH = 32;

export interface SelectorAt {
  /** the metric name ('' when the selector names none) */
  name: string;
  /** the selector's text, from its name to its closing brace */
  from: number;
  to: number;
  /** end of its offset and @ modifiers (= to when it has none) */
  end: number;
}

export interface QueryShape {
  /** the selector when the whole query is one with no function, operator or modifier */
  plain: SelectorAt | null;
  /** the furthest the query reaches back, in ms: its longest range or subquery window plus its largest offset */
  lookbackMs: number;
  /** the earliest time an `@ <unix seconds>` modifier pins a part of it to, in ms; null when none does */
  earliestAtMs: number | null;
  /** the functions and aggregations it calls, by name */
  calls: Set<string>;
  /** applies rate, irate, increase, delta, idelta or deriv */
  rateLike: boolean;
  /** divides or multiplies */
  scales: boolean;
  /** every vector selector, in order */
  selectors: SelectorAt[];
  /** the selectors whose raw values are read: not under a range or a subquery */
  rawSelectors: SelectorAt[];
}

/** A string literal's value (Go's escapes, as Prometheus reads them; back quotes are raw). */
function unquote(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r' };
  return literal.slice(1, -1).replace(/\\(.)/gs, (_, c: string) => simple[c] ?? c);
}

function namedChildren(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
  return out;
}

/** The metric name: the identifier, or the value of an exact `__name__` matcher. */
function metricName(selector: SyntaxNode, query: string): string {
  const id = selector.getChild('Identifier');
  if (id) return query.slice(id.from, id.to);
  for (const m of selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
    const label = m.getChild('LabelName');
    const op = m.getChild('MatchOp')?.firstChild;
    const value = m.getChild('StringLiteral');
    if (label && value && op?.name === 'EqlSingle' && query.slice(label.from, label.to) === '__name__') return unquote(query.slice(value.from, value.to));
  }
  return '';
}

/** A duration expression's value in ms ("1h", "300" seconds, "1h+30m"), or null when it depends on the query (step()). */
function durationMs(node: SyntaxNode, query: string, depth = 0): number | null {
  if (depth > MAX_DURATION_DEPTH) return null;
  if (node.name === 'NumberDurationLiteralInDurationContext') {
    const text = query.slice(node.from, node.to);
    return parseSecondsOrDuration(text);
  }
  const kids = namedChildren(node);
  if (kids.length === 1) return durationMs(kids[0]!, query, depth + 1);
  if (kids.length === 2 && kids[0]!.name === 'UnaryOp') {
    const v = durationMs(kids[1]!, query, depth + 1);
    return v === null ? null : query[kids[0]!.from] === '-' ? -v : v;
  }
  if (kids.length !== 3) return null;
  const [a, b] = [durationMs(kids[0]!, query, depth + 1), durationMs(kids[2]!, query, depth + 1)];
  if (a === null || b === null) return null;
  switch (kids[1]!.name) {
    case 'Add':
      return a + b;
    case 'Sub':
      return a - b;
    case 'Mul':
      return (a * b) / 1000;
    case 'Div':
      return b === 0 ? null : (a / b) * 1000;
    default:
      return null;
  }
}

/**
 * The selector with its offset/@ modifiers, and whether a range or subquery reads it.
 * Prometheus binds offset and @ tighter than any operator (x - x offset 1d is x - (x offset 1d)),
 * while lezer-promql's tree puts them around the whole operation: a modifier whose expression ends
 * with this selector, through the right-hand operands of operators, is the selector's.
 */
function placeOf(selector: SyntaxNode, query: string): { at: SelectorAt; ranged: boolean } {
  let outer = selector;
  for (let node = selector, up = node.parent; up && node.to === outer.to; node = up, up = up.parent) {
    if (MODIFIERS.has(up.name) && up.firstChild?.from === node.from) outer = up;
    else if (!OPERATORS.has(up.name) || up.to !== node.to) break;
  }
  const ranged = outer.parent?.name === 'MatrixSelector' || outer.parent?.name === 'SubqueryExpr';
  return { at: { name: metricName(selector, query), from: selector.from, to: selector.to, end: outer.to }, ranged };
}

/** The query's shape, or null when Prometheus's grammar does not parse it (Prometheus then says why). */
export function shapeOf(query: string): QueryShape | null {
  const tree = parser.parse(query);
  const top = namedChildren(tree.topNode);
  if (top.length !== 1) return null;
  const shape: QueryShape = { plain: null, lookbackMs: 0, earliestAtMs: null, calls: new Set(), rateLike: false, scales: false, selectors: [], rawSelectors: [] };
  let range = 0;
  let offset = 0;
  let broken = false;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) broken = true;
      const node = ref.node;
      switch (ref.name) {
        case 'FunctionIdentifier':
        case 'AggregateOp':
          shape.calls.add(query.slice(ref.from, ref.to).toLowerCase());
          break;
        case 'VectorSelector': {
          const { at, ranged } = placeOf(node, query);
          shape.selectors.push(at);
          if (!ranged) shape.rawSelectors.push(at);
          break;
        }
        case 'MatrixSelector':
        case 'SubqueryExpr': {
          const window = node.getChild('DurationExpr');
          range = Math.max(range, (window && durationMs(window, query)) ?? 0);
          break;
        }
        case 'OffsetExpr': {
          const by = node.getChild('OffsetDurationExpr');
          offset = Math.max(offset, (by && durationMs(by, query)) ?? 0);
          break;
        }
        case 'StepInvariantExpr': {
          // `@ start()` and `@ end()` stay within the query's own range; a number is a time
          const at = node.getChild('NumberDurationLiteral');
          const ms = at ? Number(query.slice(at.from, at.to)) * 1000 : NaN;
          if (Number.isFinite(ms)) shape.earliestAtMs = Math.min(shape.earliestAtMs ?? ms, ms);
          break;
        }
        case 'BinaryExpr':
          if (node.getChild('Mul') || node.getChild('Div')) shape.scales = true;
          break;
      }
      return !broken;
    },
  });
  if (broken) return null;
  shape.lookbackMs = range + offset;
  shape.rateLike = [...shape.calls].some((c) => RATE_LIKE.has(c));
  if (top[0]!.name === 'VectorSelector') shape.plain = shape.selectors[0]!;
  return shape;
}
