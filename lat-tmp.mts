import { call, connectHttp, connectStdio, startHttpServer, tempDir } from './test/helpers/server.js';
const d = tempDir();
const srv = await startHttpServer({ DATA_DIR: d.path, MCP_RATE_LIMIT: '0' });
const c = await connectHttp(srv.url);
for (const [name, args] of [['list_incidents', {}], ['list_incidents', {limit: 0}], ['create_incident', {title:'t',description:'d',severity:'low',target:'x'}]] as const) {
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) await call(c.client, name, args as any);
  console.log('http', name, JSON.stringify(args).slice(0,20), ((performance.now() - t0) / 200).toFixed(2), 'ms/call');
}
await c.close(); await srv.stop();
const s = await connectStdio({ DATA_DIR: d.path });
const t0 = performance.now();
for (let i = 0; i < 200; i++) await call(s.client, 'list_incidents', {limit: 0});
console.log('stdio invalid', ((performance.now() - t0) / 200).toFixed(2), 'ms/call');
await s.close();
d.cleanup();
