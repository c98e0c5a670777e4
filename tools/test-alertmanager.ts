// A real Alertmanager for tests: installs Debian's prometheus-alertmanager when missing,
// starts it on 127.0.0.1 with a webhook receiver pointing at the URL given (bearer token
// from a file, as an in-cluster config would), and injects alerts through its v2 API, so
// the webhook bodies our server receives are the ones Alertmanager really sends.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './test-prometheus.js';

const BINARY = 'prometheus-alertmanager';

export interface TestAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  /** set in the past to resolve the alert */
  endsAt?: string;
  generatorURL?: string;
}

export interface TestAlertmanager {
  url: string;
  /** sends alerts to Alertmanager's API, as Prometheus would */
  post(alerts: TestAlert[]): Promise<void>;
  stop(): Promise<void>;
}

export function ensureAlertmanagerInstalled(): void {
  try {
    execFileSync('sh', ['-c', `command -v ${BINARY}`], { stdio: 'ignore' });
    return;
  } catch {
    /* not installed */
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`The tests need Alertmanager: install the Debian/Ubuntu package prometheus-alertmanager (sudo apt-get install -y prometheus-alertmanager).`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', BINARY], { stdio: 'ignore', env });
  execFileSync('sh', ['-c', `systemctl stop ${BINARY} 2>/dev/null || service ${BINARY} stop 2>/dev/null || true`], { stdio: 'ignore' });
}

export async function startAlertmanager(opts: { webhookUrl: string; token: string; groupBy?: string[]; repeatInterval?: string }): Promise<TestAlertmanager> {
  ensureAlertmanagerInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'pim-alertmanager-'));
  writeFileSync(join(dir, 'token'), opts.token, { mode: 0o600 });
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: prom-incident-mcp',
      `  group_by: ${JSON.stringify(opts.groupBy ?? ['alertname', 'namespace'])}`,
      '  group_wait: 1s',
      '  group_interval: 1s',
      `  repeat_interval: ${opts.repeatInterval ?? '1h'}`,
      'receivers:',
      '  - name: prom-incident-mcp',
      '    webhook_configs:',
      `      - url: ${opts.webhookUrl}`,
      '        send_resolved: true',
      '        http_config:',
      '          authorization:',
      `            credentials_file: ${join(dir, 'token')}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    BINARY,
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`alertmanager was not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async post(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      if (!res.ok) throw new Error(`alertmanager refused the alerts: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
