// Entry point: read the settings, start the server, tell people how to connect.
import { configOrExit, usage } from './config.ts';
import { consoleLogger } from './log.ts';
import { announce } from './announce.ts';
import { readClientBundles } from './bundler.ts';
import { startServer, type RunningServer } from './server.ts';

async function main(): Promise<void> {
  const config = configOrExit(process.argv.slice(2), process.env);
  if (!config) {
    console.log(usage());
    return;
  }
  const log = consoleLogger();
  // `npm start` bundles the browser code in a process of its own (scripts/build.mjs) and says where it is.
  const prebuilt = process.env.WEBCAM_CLIENT_BUNDLES;
  let clientBundles: Map<string, string> | undefined;
  try {
    if (prebuilt) clientBundles = await readClientBundles(prebuilt);
  } catch (err) {
    console.error(`error: cannot read the bundled pages (WEBCAM_CLIENT_BUNDLES=${prebuilt}): ${(err as Error).message}; npm start makes them`);
    process.exit(1);
  }
  let running: RunningServer;
  try {
    running = await startServer(config, log, {
      ...(clientBundles ? { clientBundles } : {}),
      onLinksChanged: (r, why) => {
        void announce(r).then((text) => console.log(`\n${why}\n\n${text}`));
      },
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') console.error(`error: port ${e.message.match(/:(\d+)$/)?.[1] ?? ''} is in use; pick another with --port / --http-port`);
    else if (e.code === 'EACCES') console.error(`error: no permission to listen there (${e.message}); ports below 1024 need privileges`);
    else console.error(`error: ${e.message}`);
    process.exit(1);
  }
  console.log(await announce(running));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${signal}: shutting down`);
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
