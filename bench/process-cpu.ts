/**
 * CPU time used by the stack's servers and by this process, from /proc: a bench reads it before and
 * after a phase to say which process a phase's time went to. A server counts with its descendants
 * (PostgreSQL's backends), and with the children it has already reaped.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { ManagedProcess } from '../stack/processes.js';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function processes(): ProcStat[] {
  const all: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    // Fields after the command name (which may hold spaces): state, ppid, pgrp, … utime is the 12th.
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    all.push({ pid: Number(entry), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) });
  }
  return all;
}

/** Seconds of CPU (user and system) used so far by the process `root` and its descendants. */
function treeCpuSeconds(all: readonly ProcStat[], root: number): number {
  const children = new Map<number, ProcStat[]>();
  for (const p of all) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p);
    else children.set(p.ppid, [p]);
  }
  let ticks = 0;
  const stack = all.filter((p) => p.pid === root);
  while (stack.length) {
    const p = stack.pop()!;
    ticks += p.ticks;
    stack.push(...(children.get(p.pid) ?? []));
  }
  return ticks / ticksPerSecond;
}

export type CpuSnapshot = Map<string, number>;

/** CPU seconds so far of each stack server (by name) and of this process (`node`). */
export function cpuSnapshot(servers: readonly ManagedProcess[]): CpuSnapshot {
  const all = processes();
  const snapshot: CpuSnapshot = new Map(servers.map((server) => [server.name, treeCpuSeconds(all, server.child.pid!)]));
  const own = process.cpuUsage();
  snapshot.set('node', (own.user + own.system) / 1e6);
  return snapshot;
}

/** CPU seconds each process used between two snapshots. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  return new Map([...after].map(([name, seconds]) => [name, seconds - (before.get(name) ?? 0)]));
}
