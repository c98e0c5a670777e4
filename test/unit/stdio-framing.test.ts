import { describe, expect, it } from 'vitest';
import { EnvelopeScanner, LineSplitter, type Oversized } from '../../src/transports/stdio-framing.js';

/** Feeds `text` to a scanner in pieces of `size` bytes (splitting characters and escapes too). */
function envelopeOf(text: string, size: number): ReturnType<EnvelopeScanner['envelope']> {
  const s = new EnvelopeScanner();
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) s.feed(bytes.subarray(i, i + size));
  return s.envelope();
}

describe('EnvelopeScanner', () => {
  const args = { query: 'x', id: 99, method: 'nope', params: { name: 'inner' }, s: 'a "quoted" \\ }]{[ "id": 5, ü' };
  const cases: [string, ReturnType<EnvelopeScanner['envelope']>][] = [
    // the SDK client's order: id last
    [JSON.stringify({ method: 'tools/call', params: { name: 'detect_anomaly', arguments: args }, jsonrpc: '2.0', id: 7 }), { id: 7, method: 'tools/call', tool: 'detect_anomaly' }],
    [JSON.stringify({ jsonrpc: '2.0', id: 'req-"1"', method: 'tools/call', params: { arguments: args, name: 'query_metrics' } }), { id: 'req-"1"', method: 'tools/call', tool: 'query_metrics' }],
    [JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { name: 'x', data: [args, [1, [2]]] } }), { id: null, method: 'notifications/progress', tool: 'x' }],
    [' { "id" : -3 , "method" : "prompts/get" , "params" : { "name" : "triage_alert" } } ', { id: -3, method: 'prompts/get', tool: 'triage_alert' }],
    // ids JSON-RPC does not allow, or cut short, are not recovered
    [JSON.stringify({ id: { a: 1 }, method: 'm' }), { id: null, method: 'm', tool: null }],
    [JSON.stringify({ id: null, method: 'm' }), { id: null, method: 'm', tool: null }],
    [JSON.stringify({ id: 'x'.repeat(300), method: 'm' }), { id: null, method: 'm', tool: null }],
    [JSON.stringify([{ id: 1, method: 'batch' }]), { id: null, method: null, tool: null }],
    ['{"method":"tools/call","params":{"name":"detect_anomaly","arguments":{"series":[[1,', { id: null, method: 'tools/call', tool: 'detect_anomaly' }],
    ['not json at all', { id: null, method: null, tool: null }],
  ];
  it('finds the top-level id and method and the tool name wherever they are, in any pieces', () => {
    for (const [text, want] of cases) {
      for (const size of [1, 2, 3, 7, 64, 1 << 20]) expect(envelopeOf(text, size), `${text.slice(0, 60)} in pieces of ${size}`).toEqual(want);
    }
  });
});

describe('LineSplitter', () => {
  it('passes lines up to the limit on, and turns a longer one into its envelope without keeping it', () => {
    const lines: string[] = [];
    const over: Oversized[] = [];
    const split = new LineSplitter(40, (l) => lines.push(l), (o) => over.push(o));
    const big = JSON.stringify({ method: 'tools/call', params: { name: 't', arguments: { a: 'x'.repeat(100) } }, id: 3 });
    const input = Buffer.from(`{"a":1}\r\n${'y'.repeat(40)}\n${big}\n{"b":2}\n{"c":`);
    for (let i = 0; i < input.length; i += 5) split.push(input.subarray(i, i + 5));
    expect(lines).toEqual(['{"a":1}', 'y'.repeat(40), '{"b":2}']);
    expect(over).toEqual([{ bytes: Buffer.byteLength(big), id: 3, method: 'tools/call', tool: 't' }]);
    split.push(Buffer.from('3}\n'));
    expect(lines.at(-1)).toBe('{"c":3}');
  });
});
