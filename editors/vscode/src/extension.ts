// The Funnel extension's language client: starts `funnelc lsp` on stdio and restarts it on
// demand.  Highlighting, snippets and the language configuration are declarative (package.json).
import * as os from 'os';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { expandPath, findExecutable, notFoundMessage } from './server';

const CLIENT_ID = 'funnel';
const CLIENT_NAME = 'Funnel Language Server';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
let watcher: vscode.FileSystemWatcher | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel(CLIENT_NAME);
  // One watcher for the extension's lifetime, shared by every client a restart creates.
  watcher = vscode.workspace.createFileSystemWatcher('**/{*.funnel,funnelc.toml}');
  context.subscriptions.push(
    output,
    watcher,
    vscode.commands.registerCommand('funnel.restartServer', () => restart()),
    vscode.commands.registerCommand('funnel.showOutput', () => output?.show(true)),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('funnel.server')) await restart();
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function start(): Promise<void> {
  const channel = output;
  if (channel === undefined) return;
  const config = vscode.workspace.getConfiguration('funnel');
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const configured = expandPath(config.get<string>('server.path', 'funnelc'), folder, os.homedir());
  const args = config.get<string[]>('server.args', ['lsp']);

  // Look the program up before starting it: a missing program would otherwise surface as a
  // spawn error deep inside the client, and be retried.
  const command = findExecutable(configured);
  if (command === undefined) {
    channel.appendLine(notFoundMessage(configured));
    showStartError(notFoundMessage(configured));
    return;
  }
  channel.appendLine(`Starting ${command} ${args.join(' ')}`);

  const serverOptions: ServerOptions = {
    command,
    args,
    transport: TransportKind.stdio,
    options: folder === undefined ? {} : { cwd: folder },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'funnel' },
      { scheme: 'untitled', language: 'funnel' },
    ],
    synchronize: watcher === undefined ? {} : { fileEvents: watcher },
    outputChannel: channel,
    traceOutputChannel: channel,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };
  const next = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  try {
    await next.start();
    client = next;
  } catch (error) {
    // A spawn error (permissions, a path that vanished) or a server that exits at once,
    // for example a funnelc without the `lsp` command.
    const detail = error instanceof Error ? error.message : String(error);
    channel.appendLine(`The server did not start: ${detail}`);
    showStartError(notFoundMessage(command, detail));
    try {
      await next.dispose();
    } catch {
      // already stopped
    }
  }
}

async function stop(): Promise<void> {
  const current = client;
  client = undefined;
  if (current !== undefined) {
    try {
      await current.stop();
    } catch (error) {
      output?.appendLine(`Stopping the server: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

/** Shown without waiting for the answer: activation must not hang on a notification. */
function showStartError(message: string): void {
  void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then(async (choice) => {
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'funnel.server.path');
    } else if (choice === 'Show Output') {
      output?.show(true);
    }
  });
}
