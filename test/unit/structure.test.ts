// The shape of the code, checked: no import cycles (type imports included), and each layer imports
// only what is below it. The core knows nothing of transport or features; a feature knows the core
// and nothing of transport (it attaches without any transport code knowing it); shared and media
// code runs anywhere (no server, client, Node or DOM imports).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** Every .ts file under `dir`, relative to the repository root. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** Each file's imports (and re-exports): relative ones resolved to files, bare ones as written. */
function imports(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) local.push(path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), spec)));
    else packages.push(spec);
  }
  return { local, packages };
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, imports(f)]));

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.local ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.local.includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

/** Imports from files under `from` that reach outside `allowed` (folders or files). */
function outside(from: string, allowed: (file: string) => string[]): string[] {
  return files
    .filter((f) => f.startsWith(`${from}/`))
    .flatMap((f) => graph.get(f)!.local.filter((dep) => !allowed(f).some((a) => dep === a || dep.startsWith(`${a}/`))).map((dep) => `${f} → ${dep}`));
}

describe('structure of src/', () => {
  it('finds the files and their imports (the checks below see something)', () => {
    assert.ok(files.length > 50, `${files.length} files`);
    assert.ok(graph.get('src/server/server.ts')!.local.includes('src/server/hub.ts'));
  });

  it('has no import cycles, type imports included', () => {
    assert.deepEqual(cycles(), []);
  });

  it('keeps the core free of transport, live outputs and features', () => {
    assert.deepEqual(outside('src/server/core', () => ['src/server/core', 'src/media', 'src/shared']), []);
  });

  it('lets a feature import the core, media and shared code, and its own folder only: never transport', () => {
    const features = files.filter((f) => f.startsWith('src/server/features/'));
    assert.ok(features.length > 0, 'at least one feature');
    assert.deepEqual(
      outside('src/server/features', (f) => ['src/server/core', 'src/media', 'src/shared', f.split('/').slice(0, 4).join('/')]),
      [],
    );
  });

  it('keeps shared and media code free of server, client, Node and DOM code', () => {
    assert.deepEqual(outside('src/shared', () => ['src/shared']), []);
    assert.deepEqual(outside('src/media', () => ['src/media']), []);
    const packages = files.filter((f) => f.startsWith('src/shared/') || f.startsWith('src/media/')).flatMap((f) => graph.get(f)!.packages.filter((p) => p !== 'zod').map((p) => `${f} → ${p}`));
    assert.deepEqual(packages, []);
  });

  it('keeps the pages off server code, and the server off page code', () => {
    assert.deepEqual(outside('src/client', () => ['src/client', 'src/shared', 'src/media']), []);
    assert.deepEqual(outside('src/server', () => ['src/server', 'src/shared', 'src/media']), []);
  });
});
