// detect_anomaly through a real MCP client on the fixture Prometheus: the injected spike,
// OOM kill and restart storm are found where the fixture put them.
import { describe, expect, inject, it } from 'vitest';
import { makeWorld } from '../../tools/fixture/world.js';
import { serverForSuite } from '../helpers/server.js';

const w = makeWorld(inject('fixtureNow'));
const s = (iso: string) => Date.parse(iso) / 1000;

for (const transport of ['stdio', 'http'] as const) {
  describe(`detect_anomaly on the fixture over ${transport}`, () => {
    const tool = serverForSuite(transport, { PROMETHEUS_URL: inject('prometheusUrl') });

    it('finds the memory spike of payment-service, where and as what it was', async () => {
      const { r, s: out, t } = await tool('detect_anomaly', {
        query: `container_memory_working_set_bytes{namespace="payments",pod="${w.events.spike.pod}",container!=""}`,
        range: '24h',
      });
      expect(r.isError, t).toBeFalsy();
      const top = out.series[0].anomalies[0];
      expect(top).toMatchObject({ kind: 'spike', direction: 'up' });
      expect(s(top.at)).toBeGreaterThanOrEqual(w.events.spike.start);
      expect(s(top.at)).toBeLessThan(w.events.spike.end);
      expect(top.score).toBeGreaterThan(0.9);
      expect(out.next).toMatchObject({ tool: 'query_metrics' });
      expect(t).toMatch(/spike up at/);
    });

    // Over 3d and 7d the default step (2m, 5m) is longer than a scrape; and with a step longer
    // than the spike itself (17m) a plain range query would likely step over it.
    for (const [range, step, within] of [
      ['24h', undefined, 'sampled'],
      ['3d', undefined, 'max_min'],
      ['7d', undefined, 'max_min'],
      ['3d', '17m', 'max_min'],
    ] as const) {
      it(`finds the 15-minute memory spike over ${range}${step ? ` at a ${step} step` : ''} and says what resolution it analysed`, async () => {
        const { r, s: out, t } = await tool('detect_anomaly', {
          query: `container_memory_working_set_bytes{namespace="payments",pod="${w.events.spike.pod}",container!=""}`,
          range,
          ...(step ? { step } : {}),
          end: new Date(w.now * 1000).toISOString(),
        });
        expect(r.isError, t).toBeFalsy();
        expect(out.range.within_step).toBe(within);
        expect(out.range.resolution).toMatch(within === 'max_min' ? /max and min \(over the raw samples\)/ : /value at its instant/);
        const stepS = Number(/^(\d+)m$/.exec(out.range.step)?.[1] ?? 0.5) * 60;
        const spike = out.series[0].anomalies.find((a: any) => a.kind === 'spike' && a.direction === 'up');
        expect(spike, t).toBeDefined();
        // a step's max stands at the step's end: up to one step after the spike began
        expect(s(spike.at)).toBeGreaterThanOrEqual(w.events.spike.start);
        expect(s(spike.at)).toBeLessThan(w.events.spike.end + stepS);
        expect(spike.score).toBeGreaterThan(0.9);
        expect(out.series[0].anomalies[0]).toEqual(spike);
        if (within === 'max_min') expect(t).toMatch(/with each step's max and min/);
      });
    }

    it('finds the OOM kill as a level shift of the OOMKilled state at the kill', async () => {
      const { s: out } = await tool('detect_anomaly', { query: 'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}', range: '6h' });
      expect(out.series).toHaveLength(1);
      expect(out.series[0].labels.pod).toBe(w.events.oom.pod);
      const top = out.series[0].anomalies[0];
      expect(top).toMatchObject({ kind: 'level_shift', direction: 'up' });
      expect(Math.abs(s(top.at) - w.events.oom.time)).toBeLessThanOrEqual(120);
    });

    it('finds the restart storm inside its hour', async () => {
      const { s: out } = await tool('detect_anomaly', { query: `sum(kube_pod_container_status_restarts_total{namespace="batch"})`, range: '12h' });
      const top = out.series[0].anomalies[0];
      expect(top.direction).toBe('up');
      expect(s(top.from)).toBeLessThan(w.events.storm.end);
      expect(s(top.to)).toBeGreaterThan(w.events.storm.start);
    });
  });
}
