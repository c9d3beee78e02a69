import { Command } from 'commander';
import { loadConfigFile, parseConfig, type Config } from './core/config.js';
import { TandemError } from './core/errors.js';
import { demoCommand } from './demo/command.js';
import { workspaceCommands } from './workspace/cli.js';
import { functionsCommand } from './transforms/functions-cli.js';
import { migrateCommand } from './migrations/cli.js';
import { importCommand } from './imports/cli.js';
import { logLocation, wholeNumber } from './core/cli-options.js';

const portNumber = wholeNumber(0, 65535);

export function resolveConfig(opts: { config?: string; dataDir?: string; port?: number; host?: string; log?: string }): Config {
  const config = opts.config ? loadConfigFile(opts.config) : parseConfig({});
  if (opts.dataDir !== undefined) config.dataDir = opts.dataDir;
  if (opts.port !== undefined) config.port = opts.port;
  if (opts.host !== undefined) config.host = opts.host;
  if (opts.log !== undefined) config.storage.log = opts.log;
  return config;
}

interface Server {
  url: string;
  firstStart: { adminToken?: string; writeKey?: string };
  close(): Promise<void>;
}

/** Collection on this thread, the pipeline and admin API on a core thread (src/server/front.ts). */
async function startThreaded(config: Config): Promise<Server> {
  const [{ startFront }, { default: pino }] = await Promise.all([import('./server/front.js'), import('pino')]);
  return startFront(config, pino({ level: config.logLevel }));
}

/** Everything on one event loop (pipeline.thread: false). */
async function startSingle(config: Config): Promise<Server> {
  const { createApp } = await import('./app.js');
  const app = await createApp({ config });
  const url = await app.listen();
  return { url, firstStart: app.firstStart, close: () => app.close() };
}

export function program(): Command {
  const cli = new Command('tandem').description('Tandem: self-hosted customer data and engagement platform').showHelpAfterError();

  cli
    .command('start')
    .description('Start Tandem with embedded storage')
    .option('--data-dir <dir>', 'data directory (default ./.tandem)')
    .option('--port <n>', 'HTTP port (default 8080)', portNumber)
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--log <location>', 'event log: embedded (default) or nats://host:port for NATS JetStream (docs/scale-out.md)', logLocation)
    .action(async (opts) => {
      const config = resolveConfig(opts);
      // The web console (docs/console.md) is built when console/dist is missing or stale, beside the start: the API
      // does not wait for it; / serves a page saying so until the build is there, and a failed build is logged.
      const { ensureConsoleBuilt } = await import('./server/console-build.js');
      void ensureConsoleBuilt((line) => process.stdout.write(`${line}\n`));
      // Loaded on demand: the workspace commands only talk HTTP and start faster without the whole app.
      const server = config.pipeline.thread ? await startThreaded(config) : await startSingle(config);
      const lines = [`Tandem is running at ${server.url}`, `  data directory: ${config.dataDir}`];
      if (config.storage.log !== 'embedded') lines.push(`  event log: NATS JetStream at ${config.storage.log}, stream ${config.storage.nats.stream}`);
      if (server.firstStart.adminToken) lines.push(`  admin token (shown once, stored hashed): ${server.firstStart.adminToken}`);
      if (server.firstStart.writeKey) lines.push(`  write key of source 'default' (shown once): ${server.firstStart.writeKey}`);
      lines.push(`  API reference: ${server.url}/api/v1/openapi.json`);
      process.stdout.write(`${lines.join('\n')}\n`);
      const shutdown = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  cli.addCommand(demoCommand());
  cli.addCommand(functionsCommand());
  for (const command of workspaceCommands()) cli.addCommand(command);
  cli.addCommand(migrateCommand());
  cli.addCommand(importCommand());

  return cli;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    if (error instanceof TandemError) {
      process.stderr.write(`tandem: ${error.message}\n`);
      process.exit(error.status >= 400 ? 1 : 2);
    }
    throw error;
  }
}
