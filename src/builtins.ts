// Node built-ins that cost every start a few ms to load (tls 9, crypto 6, zlib 3, measured on a
// bare node) but serve only some calls: each is loaded when first used. Not through
// process.getBuiltinModule, which Node 22 gained only in 22.3.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const nodeCrypto = (): typeof import('node:crypto') => require('node:crypto') as typeof import('node:crypto');
export const nodeTls = (): typeof import('node:tls') => require('node:tls') as typeof import('node:tls');
export const nodeZlib = (): typeof import('node:zlib') => require('node:zlib') as typeof import('node:zlib');
