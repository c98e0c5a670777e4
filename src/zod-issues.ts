// zod issues in words an agent can act on: "field: rule, got value". Used for tool input
// and for other validated input (backup lines), so it belongs to no one layer.
import type { z } from 'zod';

export type Issue = z.core.$ZodIssue;

function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p))) out += `[${JSON.stringify(String(p))}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || '(arguments)';
}

function shown(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[...]' : '{...}'; // nested too deep to stringify
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function got(issue: Issue): string {
  const input = (issue as { input?: unknown }).input;
  if (input === undefined) return '';
  if (typeof input === 'string' && input.length > 60) return `, got ${input.length} characters`;
  if (Array.isArray(input) && (issue.code === 'too_big' || issue.code === 'too_small')) return `, got ${input.length} items`;
  return `, got ${shown(input)}`;
}

function sizeRule(issue: Extract<Issue, { code: 'too_big' | 'too_small' }>): string {
  const big = issue.code === 'too_big';
  const bound = Number(big ? issue.maximum : issue.minimum);
  const incl = issue.inclusive !== false;
  const word = big ? (incl ? 'at most' : 'less than') : incl ? 'at least' : 'more than';
  switch (issue.origin) {
    case 'string':
      if (!big && bound === 1) return 'must not be empty';
      return `must be ${word} ${bound} characters`;
    case 'array':
    case 'set':
      return `must have ${word} ${bound} items`;
    default:
      return `must be ${word} ${bound}`;
  }
}

/** One line per problem: "field: rule, got value". */
export function describeIssue(issue: Issue): string {
  const field = fieldOf(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return `${field}: is required (${issue.expected})`;
      return `${field}: must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}${got(issue)}`;
    case 'too_big':
    case 'too_small':
      return `${field}: ${sizeRule(issue)}${got(issue)}`;
    case 'invalid_value':
      return `${field}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got(issue)}`;
    case 'unrecognized_keys':
      return `${issue.keys.map((k) => (field === '(arguments)' ? k : `${field}.${k}`)).join(', ')}: unknown field${issue.keys.length > 1 ? 's' : ''}`;
    case 'invalid_key': {
      const inner = issue.issues[0];
      const rule = inner ? describeIssue({ ...inner, path: [] } as Issue).replace(/^\(arguments\): /, '') : issue.message;
      return `${field}: key ${shown(input)} is not allowed: ${rule.replace(/, got .*$/, '')}`;
    }
    case 'invalid_union':
      return `${field}: ${issue.message}${got(issue)}`;
    case 'invalid_format':
      return `${field}: ${issue.message.startsWith('Invalid') ? `must be a valid ${issue.format}` : issue.message}${got(issue)}`;
    default:
      return `${field}: ${issue.message}${got(issue)}`;
  }
}
