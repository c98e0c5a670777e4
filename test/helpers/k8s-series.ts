// Kubernetes-shaped series at 1-minute resolution over several days, like the fixture
// Prometheus the integration tests use: a daily CPU pattern, a memory spike, an OOM kill
// (memory climbs to the limit, the container dies and restarts near zero), the 0/1
// last-terminated-reason series, and a restart counter with a restart storm.
export const MIN = 60_000;
export const DAY = 86_400_000;
export const END = Date.UTC(2026, 0, 26, 0, 0, 0);

/** Small deterministic generator (Park–Miller) so every run sees the same series. */
export function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  };
}

/** Standard normal values (Box–Muller over the same generator), deterministic per seed. */
export function gaussian(seed: number): () => number {
  let s = seed;
  return () => {
    const u = ((s = (s * 16807) % 2147483647) / 2147483647) || 1e-9;
    const v = (s = (s * 16807) % 2147483647) / 2147483647;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export interface Fixture {
  t: number[];
  cpu: number[];
  memory: number[];
  oomKilled: number[];
  restarts: number[];
  /** indices of the injected events */
  events: { cpuSpike: number; memorySpike: number; oomKill: number; stormFrom: number; stormTo: number };
}

export function kubernetesFixture(days = 4): Fixture {
  const n = days * 1440;
  const r = noise(11);
  const t: number[] = [];
  const cpu: number[] = [];
  const memory: number[] = [];
  const oomKilled: number[] = [];
  const restarts: number[] = [];
  const events = {
    cpuSpike: n - 1440 + 14 * 60 + 5, // last day, 14:05
    memorySpike: Math.floor(n * 0.45),
    oomKill: Math.floor(n * 0.8),
    stormFrom: Math.floor(n * 0.62),
    stormTo: Math.floor(n * 0.62) + 40,
  };
  let mem = 400e6;
  let restartCount = 3;
  let terminated = 0;
  for (let i = 0; i < n; i++) {
    const ts = END - (n - i) * MIN;
    t.push(ts);
    const hour = ((ts % DAY) / 3_600_000 + 24) % 24;
    const busy = Math.max(0, Math.sin(((hour - 7) / 14) * Math.PI)); // 07:00-21:00
    let c = 0.25 + 0.9 * busy + 0.03 * (r() + r() + r());
    if (i >= events.cpuSpike && i < events.cpuSpike + 4) c += 1.2;
    cpu.push(c);
    // Memory: working set with a slow GC sawtooth; a 10-minute spike; then the leak to the OOM kill.
    const leak = i >= events.oomKill - 600 && i < events.oomKill ? (i - events.oomKill + 600) * 0.9e6 : 0;
    mem += (400e6 + 20e6 * Math.sin(i / 37) - mem) * 0.05;
    let m = mem + leak + 2e6 * (r() + r());
    if (i >= events.memorySpike && i < events.memorySpike + 10) m += 350e6;
    if (i === events.oomKill) {
      mem = 60e6; // the container restarts nearly empty and refills over the next hour
      terminated = 1;
      restartCount++;
    }
    memory.push(m);
    oomKilled.push(terminated);
    if (i >= events.stormFrom && i < events.stormTo && (i - events.stormFrom) % 5 === 0) restartCount++;
    restarts.push(restartCount);
  }
  return { t, cpu, memory, oomKilled, restarts, events };
}
