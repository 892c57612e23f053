import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import net from "node:net";

/** A child process of the local stack, its output going to a log file. */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts `command args` with stdout and stderr appended to `logFile`.
 *
 * @example
 * const chain = startProcess("chain", process.execPath, [hardhatCli, "node"], { cwd, env, logFile });
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): ManagedProcess {
  const fd = openSync(options.logFile, "a");
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { name, child, logFile: options.logFile, exited };
}

/** The last lines of a log file, for error messages. */
export function logTail(logFile: string, lines = 15): string {
  try {
    return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Waits until `ready()` resolves true, failing early when `proc` exits and
 * after `timeoutMs` with the process's last log lines.
 */
export async function waitUntil(proc: ManagedProcess, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`${proc.name} exited (code ${exitCode}) while starting; its log ${proc.logFile} ends with:\n${logTail(proc.logFile)}`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s; its log ${proc.logFile} ends with:\n${logTail(proc.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Stops a process: SIGTERM, then SIGKILL if it has not exited after `graceMs`.
 * Only processes this stack started are ever signalled.
 */
export async function stopProcess(proc: ManagedProcess, graceMs = 5_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Lowest port Linux gives an outgoing connection as its local port (`ip_local_port_range`); 0 where that is not known. */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 0;
  } catch {
    return 0;
  }
}

/** Lowest port {@link freePort} draws from. */
const DRAWN_PORTS_FROM = 20_000;
/** Ports this process has handed out: never twice. */
const handedOut = new Set<number>();

/** Binds 127.0.0.1:`port` (0: any) and releases it; resolves to the port, or undefined when it is taken. */
function bindAndRelease(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a process started
 * next to bind. Drawn below the range Linux takes the local ports of
 * outgoing connections from: a port of that range could be taken, between
 * this call and the bind, by any connection another process opens (a host
 * dialling its peers, a client of the chain), and the process would then
 * fail to start. Where that range is unknown, any free port.
 *
 * @example
 * const port = await freePort(); // then start a server on 127.0.0.1:port
 */
export async function freePort(): Promise<number> {
  const below = ephemeralPortsFrom();
  for (let attempt = 0; below > DRAWN_PORTS_FROM && attempt < 100; attempt++) {
    const port = DRAWN_PORTS_FROM + Math.floor(Math.random() * (below - DRAWN_PORTS_FROM));
    if (handedOut.has(port)) continue;
    if ((await bindAndRelease(port)) !== undefined) {
      handedOut.add(port);
      return port;
    }
  }
  const port = await bindAndRelease(0);
  if (port === undefined) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}
