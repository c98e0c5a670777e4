import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseTime } from '../../src/time.js';

const NOW = Date.parse('2026-01-25T12:00:00Z');

describe('parseDuration', () => {
  it('reads Prometheus durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });
  it('rejects anything else', () => {
    for (const bad of ['', 'h', '10', '1x', '-1h', '1h 30m']) expect(parseDuration(bad)).toBeNull();
  });
  it('formats back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(15_000)).toBe('15s');
    expect(formatDuration(90_061_000)).toBe('1d1h1m1s');
  });
});

describe('parseTime', () => {
  it('reads RFC 3339, unix seconds and relative forms', () => {
    expect(parseTime('2026-01-25T10:00:00Z', NOW)).toBe(Date.parse('2026-01-25T10:00:00Z'));
    expect(parseTime('2026-01-25T10:00:00+02:00', NOW)).toBe(Date.parse('2026-01-25T08:00:00Z'));
    expect(parseTime('1769335200', NOW)).toBe(1769335200_000);
    expect(parseTime('1769335200.5', NOW)).toBe(1769335200_500);
    expect(parseTime('now', NOW)).toBe(NOW);
    expect(parseTime('now-1h', NOW)).toBe(NOW - 3_600_000);
    expect(parseTime('now - 30m', NOW)).toBe(NOW - 1_800_000);
    expect(parseTime('24h', NOW)).toBe(NOW - 86_400_000);
  });
  it('reads a date-time without an offset as UTC, whatever the server\'s time zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York'; // Node applies a changed TZ at once
    try {
      const utc = Date.parse('2026-01-25T10:00:00Z');
      expect(parseTime('2026-01-25T10:00:00', NOW)).toBe(utc);
      expect(parseTime('2026-01-25 10:00', NOW)).toBe(utc);
      expect(parseTime('2026-01-25', NOW)).toBe(Date.parse('2026-01-25T00:00:00Z'));
      expect(parseTime('2026-01-25T10:00:00-05:00', NOW)).toBe(Date.parse('2026-01-25T15:00:00Z'));
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
  it('rejects what it does not understand', () => {
    for (const bad of ['yesterday', 'now-', 'now-1x', '2026-13-45T99:00:00Z', '']) expect(parseTime(bad, NOW)).toBeNull();
  });

  it('rejects times no Date can hold (found by the fuzzer)', () => {
    for (const bad of ['9'.repeat(400), '99999999999999999', 'now+1000000y', '1000000y']) expect(parseTime(bad, NOW), bad).toBeNull();
  });
});
