// Alertmanager's webhook (POST /alertmanager): each alert becomes, updates or resolves an
// incident. Errors are {"error": "..."} (what Alertmanager logs); 5xx makes Alertmanager retry.
import type { ServerResponse } from 'node:http';
import { WebhookPayload, applyNotification, describeErrors } from '../alerts/alertmanager.js';
import type { HttpApp } from '../app.js';
import { messageOf } from '../errors.js';
import type { Caller } from './http-admission.js';
import { sendJson } from './http-io.js';

export function alertmanagerRoute(app: HttpApp): (res: ServerResponse, caller: Caller, body: unknown) => Promise<void> {
  const log = app.log.child({ transport: 'http' });
  return async (res, { client }, body) => {
    const parsed = WebhookPayload.safeParse(body, { reportInput: true });
    if (!parsed.success) {
      return sendJson(res, 400, { error: `not an Alertmanager webhook notification (version 4): ${describeErrors(parsed.error)}` });
    }
    let outcomes;
    try {
      outcomes = await applyNotification(app.store, parsed.data);
    } catch (err) {
      log.error({ err: messageOf(err) }, 'Alertmanager notification could not be stored; Alertmanager will retry');
      return sendJson(res, 503, { error: `incident store unavailable: ${messageOf(err)}` }, { 'retry-after': 5 });
    }
    const counts: Record<string, number> = {};
    for (const o of outcomes) {
      counts[o.action] = (counts[o.action] ?? 0) + 1;
      app.metrics.alert(o.action);
      if (o.action === 'created' || o.action === 'updated' || o.action === 'resolved') {
        log.info({ audit: true, source: 'alertmanager', incident: o.incident, fingerprint: o.fingerprint, client }, `audit: alert ${o.alertname} ${o.action}`);
      } else if (o.action === 'invalid') log.warn({ fingerprint: o.fingerprint, error: o.error }, 'alert could not become an incident');
    }
    // Alerts beyond the receiver's max_alerts never reach us: say so, since no incident stands for them.
    const truncated = parsed.data.truncatedAlerts ?? 0;
    const warnings: string[] = [];
    if (truncated > 0) {
      warnings.push(`Alertmanager left ${truncated} alert(s) of this group out (the receiver's max_alerts); they became no incident. Raise max_alerts or group more finely.`);
      log.warn({ truncated_alerts: truncated, received: outcomes.length, receiver: parsed.data.receiver, group: parsed.data.groupKey }, 'Alertmanager truncated a notification (max_alerts): alerts were left out');
    }
    sendJson(res, 200, { received: outcomes.length, ...counts, truncated_alerts: truncated, ...(warnings.length > 0 ? { warnings } : {}), alerts: outcomes });
  };
}
