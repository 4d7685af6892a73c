// Recording, put together: the store of what was recorded (read, and repaired after a crash, at
// start), the recorder (a feature attached to every camera; it records those whose switch is on,
// or every camera with --record), and retention (after every segment and every minute).
import path from 'node:path';
import { DEFAULT_RECORDING, type RecordingConfig } from '../config.ts';
import type { CameraRegistry } from '../core/registry.ts';
import type { Logger } from '../log.ts';
import { Recorder } from '../features/recording/recorder.ts';
import { Retention } from '../features/recording/retention.ts';
import { RecordingStore } from '../features/recording/store.ts';

const RETENTION_EVERY_MS = 60_000;

export interface Recording {
  config: RecordingConfig;
  store: RecordingStore;
  recorder: Recorder;
  retention: Retention;
  /** Finishes every open segment. */
  close(): Promise<void>;
}

export async function setUpRecording(dataDir: string, config: Partial<RecordingConfig> | undefined, registry: CameraRegistry, log: Logger, segmentMs?: number): Promise<Recording> {
  const cfg: RecordingConfig = { ...DEFAULT_RECORDING, ...config };
  const store = new RecordingStore(path.join(dataDir, 'recordings'), log);
  await store.load();
  const retention = new Retention(store, { keepDays: cfg.keepDays, minFree: cfg.minFree, log });
  const recorder = new Recorder({
    store,
    shouldRecord: (id) => registry.get(id)?.record ?? cfg.all,
    recordSound: (id) => registry.get(id)?.recordSound !== false,
    log,
    ...(segmentMs ? { segmentMs } : {}),
    onSegment: () => void retention.run(),
  });
  void retention.run();
  const timer = setInterval(() => void retention.run(), RETENTION_EVERY_MS).unref();
  if (cfg.all) log.info(`recording every camera to ${store.root} (kept ${cfg.keepDays > 0 ? `${cfg.keepDays} days` : 'until the disk is full'})`);
  return {
    config: cfg,
    store,
    recorder,
    retention,
    close: async () => {
      clearInterval(timer);
      await recorder.close();
    },
  };
}
