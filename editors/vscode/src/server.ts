// Finding the language server's program: pure functions with no `vscode` import, so that
// they can be tested under plain Node (test/server.test.ts).
import * as fs from 'fs';
import * as path from 'path';

/** How to install funnelc, which is not on PyPI: into a virtual environment, from a clone of
 *  its repository (the command of its README, run in the clone). */
export const INSTALL_HINT = 'python3 -m venv .venv && .venv/bin/pip install .';

/** Where `command` is: itself if it names a file (a path), else the first match on `PATH`
 *  (with the `PATHEXT` endings on Windows), or `undefined` when there is none. */
export function findExecutable(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (command === '') return undefined;
  const windows = platform === 'win32';
  const extensions = windows
    ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '')]
    : [''];
  const isPath = command.includes('/') || (windows && command.includes('\\'));
  const candidates = isPath
    ? extensions.map((e) => command + e)
    : (env.PATH ?? env.Path ?? '')
        .split(windows ? ';' : path.delimiter)
        .filter((dir) => dir !== '')
        .flatMap((dir) => extensions.map((e) => path.join(dir, command + e)));
  return candidates.find((candidate) => isExecutableFile(candidate, windows));
}

function isExecutableFile(file: string, windows: boolean): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, windows ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `${workspaceFolder}` and a leading `~` in the configured path. */
export function expandPath(value: string, workspaceFolder: string | undefined, home: string): string {
  let result = value.trim();
  if (workspaceFolder !== undefined) result = result.split('${workspaceFolder}').join(workspaceFolder);
  if (result === '~' || result.startsWith('~/')) result = home + result.slice(1);
  return result;
}

/** The message shown when the server's program cannot be started. */
export function notFoundMessage(command: string, detail?: string): string {
  const why = detail === undefined ? 'was not found' : `could not be started (${detail})`;
  return (
    `Funnel: the language server program \`${command}\` ${why}. ` +
    'funnelc is not on PyPI: in a clone of its repository, install it into a virtual ' +
    `environment with \`${INSTALL_HINT}\` (a version that has the \`funnelc lsp\` command), ` +
    'then set `funnel.server.path` to that `.venv/bin/funnelc` (on Windows ' +
    '`.venv\\Scripts\\funnelc.exe`), or put funnelc on `PATH`.'
  );
}
