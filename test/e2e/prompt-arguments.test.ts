// Prompt arguments reach tool calls and the PromQL a prompt suggests, so they are checked by
// the rules the tools use: a hostile value gets an error naming the argument and the rule, and
// every PromQL string a prompt suggests parses (with Prometheus's own grammar, lezer-promql)
// to matchers whose values are exactly the arguments given.
import { parser } from '@prometheus-io/lezer-promql';
import { ProtocolError as McpError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quote } from '../../src/prometheus/promql.js';
import { connectVia, tempDir, type Connected } from '../helpers/server.js';

/** Values that would end a PromQL string literal, or a selector, or the line, if passed on unescaped. */
const HOSTILE = [
  'prod"} or vector(1) or foo{x="',
  'prod\\',
  'prod\\"} or vector(1) #',
  'prod\nor vector(1)',
  'prod}',
  "prod' or vector(1) or '",
  'prod`',
  'prodü',
  'prod\u2028x',
  'Prod',
  'p'.repeat(64),
  '',
];

interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** A PromQL double-quoted literal's value (the escapes Prometheus reads: Go's). */
function unquote(literal: string): string {
  expect(literal.startsWith('"') && literal.endsWith('"'), literal).toBe(true);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
  return literal.slice(1, -1).replace(/\\(.)/gs, (_, c: string) => simple[c] ?? `\\${c}`);
}

/** Every label matcher of `query`, after checking Prometheus's grammar parses it without error. */
function matchersOf(query: string): Matcher[] {
  const tree = parser.parse(query);
  const out: Matcher[] = [];
  tree.iterate({
    enter(n) {
      expect(n.type.isError, `${query}: parse error at ${n.from}`).toBe(false);
      if (n.name !== 'UnquotedLabelMatcher') return;
      const part = (name: string) => {
        const c = n.node.getChild(name)!;
        return query.slice(c.from, c.to);
      };
      out.push({ label: part('LabelName'), op: part('MatchOp'), value: unquote(part('StringLiteral')) });
    },
  });
  return out;
}

/** The PromQL strings a prompt's text suggests: every "query" value in the arguments it shows. */
function queriesIn(text: string): string[] {
  return [...text.matchAll(/"query":("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string).filter((q) => !q.startsWith('<'));
}

describe('the one PromQL string escaper', () => {
  it('keeps every hostile value one label value, exactly', () => {
    for (const v of [...HOSTILE, '\r\t', '\\n', '"\\"', '😀\u{10FFFF}']) {
      const ms = matchersOf(`up{namespace=${quote(v)}}`);
      expect(ms, JSON.stringify(v)).toEqual([{ label: 'namespace', op: '=', value: v }]);
    }
  });
});

for (const transport of ['stdio', 'http'] as const) {
  describe(`prompt arguments over ${transport}`, () => {
    const dir = tempDir();
    let conn: Connected;
    beforeAll(async () => {
      conn = await connectVia(transport, { DATA_DIR: dir.path });
    });
    afterAll(async () => {
      await conn?.close();
      dir.cleanup();
    });

    const refusal = async (name: string, args: Record<string, string>): Promise<McpError> => {
      const err = await conn.client.getPrompt({ name, arguments: args }).then(
        (r) => new Error(`${name} accepted ${JSON.stringify(args)}: ${JSON.stringify(r.messages).slice(0, 100)}`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(McpError);
      return err as McpError;
    };

    it('refuses a hostile namespace or pod with -32602 naming the argument and its rule', async () => {
      const prompts: [string, Record<string, string>][] = [
        ['investigate_namespace', {}],
        ['triage_alert', { alertname: 'KubePodCrashLooping' }],
        ['summarize_open_incidents', {}],
      ];
      for (const v of HOSTILE) {
        for (const [name, rest] of prompts) {
          const err = await refusal(name, { ...rest, namespace: v });
          expect(err.code, `${name} ${JSON.stringify(v)}`).toBe(-32602);
          expect(err.message).toMatch(new RegExp(`Invalid arguments for prompt ${name}: .*namespace`, 's'));
          expect(err.message).toMatch(/must be a Kubernetes namespace name \(lowercase letters, digits and "-", 1-63 chars\)/);
        }
        if (v.length > 63) continue; // a fine pod name
        const err = await refusal('triage_alert', { alertname: 'KubePodCrashLooping', namespace: 'batch', pod: v });
        expect(err.message, JSON.stringify(v)).toMatch(/Invalid arguments for prompt triage_alert: .*pod/s);
        expect(err.message, JSON.stringify(v)).toMatch(/must be a Kubernetes pod name \(lowercase letters, digits, "-" and "\.", at most 253 characters\)/);
      }
      // the server is still there and answers a good one
      const ok = await conn.client.getPrompt({ name: 'investigate_namespace', arguments: { namespace: 'payments' } });
      expect(queriesIn((ok.messages[0]!.content as { text: string }).text)[0]).toContain('namespace="payments"');
    });

    it("refuses triage_alert labels that are not a JSON object of strings, naming the argument, and takes good ones", async () => {
      const base = { alertname: 'KubePodCrashLooping', namespace: 'batch' };
      for (const labels of ['not json', '["a"]', '{"alertname":1}', 'null', '{"alertname":"X"']) {
        const err = await refusal('triage_alert', { ...base, labels });
        expect(err.code, labels).toBe(-32602);
        expect(err.message, labels).toMatch(/Invalid arguments for prompt triage_alert: .*labels/s);
        expect(err.message, labels).toMatch(/must be a JSON object of label names to string values/);
      }
      const ok = await conn.client.getPrompt({ name: 'triage_alert', arguments: { ...base, labels: '{"alertname":"KubePodCrashLooping","namespace":"batch","container":"y"}' } });
      expect((ok.messages[0]!.content as { text: string }).text).toContain('KubePodCrashLooping');
    });

    it('suggests PromQL whose namespace matchers are exactly the namespace given', async () => {
      const namespaces = ['payments', 'a', '0', 'kube-system', `a${'-9'.repeat(31)}`];
      for (const namespace of namespaces) {
        for (const [name, args] of [
          ['investigate_namespace', { namespace, concern: 'latency "spikes"} or vector(1)' }],
          ['triage_alert', { alertname: 'KubePodCrashLooping', namespace, pod: 'report-worker-9a7b6c5d4-x7k2p', summary: '"}' }],
        ] as const) {
          const r = await conn.client.getPrompt({ name, arguments: args });
          const queries = queriesIn((r.messages[0]!.content as { text: string }).text);
          expect(queries.length, `${name} ${namespace}`).toBeGreaterThan(0);
          for (const q of queries) {
            const ns = matchersOf(q).filter((m) => m.label === 'namespace');
            expect(ns.length, q).toBeGreaterThan(0);
            expect(ns.every((m) => m.op === '=' && m.value === namespace), q).toBe(true);
          }
        }
      }
    });
  });
}
