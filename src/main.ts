import { Command, InvalidArgumentError } from 'commander';
import { loadConfigFile, parseConfig, type Config } from './core/config.js';
import { TandemError } from './core/errors.js';
import { demoCommand } from './demo/command.js';
import { workspaceCommands } from './workspace/cli.js';

const portNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a whole number from 0 to 65535');
  return n;
};

export function resolveConfig(opts: { config?: string; dataDir?: string; port?: number; host?: string }): Config {
  const config = opts.config ? loadConfigFile(opts.config) : parseConfig({});
  if (opts.dataDir !== undefined) config.dataDir = opts.dataDir;
  if (opts.port !== undefined) config.port = opts.port;
  if (opts.host !== undefined) config.host = opts.host;
  return config;
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
    .action(async (opts) => {
      // Loaded on demand: the workspace commands only talk HTTP and start faster without the whole app.
      const { createApp } = await import('./app.js');
      const app = await createApp({ config: resolveConfig(opts) });
      const url = await app.listen();
      const lines = [`Tandem is running at ${url}`, `  data directory: ${app.config.dataDir}`];
      if (app.firstStart.adminToken) lines.push(`  admin token (shown once, stored hashed): ${app.firstStart.adminToken}`);
      if (app.firstStart.writeKey) lines.push(`  write key of source 'default' (shown once): ${app.firstStart.writeKey}`);
      lines.push(`  API reference: ${url}/api/v1/openapi.json`);
      process.stdout.write(`${lines.join('\n')}\n`);
      const shutdown = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  cli.addCommand(demoCommand());
  for (const command of workspaceCommands()) cli.addCommand(command);

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
