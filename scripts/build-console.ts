// `npm install` runs this (package.json postinstall): builds the web console into console/dist when it is missing
// or stale. A failure is reported but does not fail the install: `tandem start` tries again and the API runs either way.
import { ensureConsoleBuilt } from '../src/server/console-build.js';

await ensureConsoleBuilt((line) => process.stdout.write(`${line}\n`));
