// Injected by tools/bundle.ts into its CommonJS bundles, where import.meta.url stands for
// bundle_url. It runs as CommonJS there, so require and __filename are the bundle's own.
export const bundle_url = require('node:url').pathToFileURL(__filename).href;
