import { readFileSync } from 'node:fs';

/** Defined by the build (tools/bundle.ts); run from the sources, package.json says it. */
declare const PACKAGE_VERSION: string | undefined;

/** The package version: the built one's, or read once from package.json next to src/. */
export const VERSION: string = typeof PACKAGE_VERSION === 'string' ? PACKAGE_VERSION : readVersion();

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
