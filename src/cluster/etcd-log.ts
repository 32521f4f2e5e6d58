import { demuxDockerLogs } from '../host/one-shot.ts';
import type { EtcdMember } from './etcd-member.ts';

/** A JSON line from a member's log. etcd 3.4+ with zap writes `level`, `ts`, `msg` and fields. */
export interface EtcdLogEntry {
  readonly level?: string;
  /** Wall-clock milliseconds. */
  readonly tsMs: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The member's log as text (all of its container's starts). */
export async function readMemberLog(member: EtcdMember): Promise<string> {
  return demuxDockerLogs(await member.container.logs({ stdout: true, stderr: true, follow: false }));
}

/** Parses etcd's zap JSON log lines; `ts` is ISO-8601 (3.5+) or epoch seconds (some 3.4 builds). */
export function parseEtcdLog(text: string): EtcdLogEntry[] {
  const entries: EtcdLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const raw = JSON.parse(line) as Record<string, unknown>;
      const ts = raw.ts;
      const tsMs = typeof ts === 'number' ? ts * 1000 : typeof ts === 'string' ? Date.parse(ts) : NaN;
      if (Number.isNaN(tsMs) || typeof raw.msg !== 'string') continue;
      entries.push({ ...raw, tsMs, msg: raw.msg });
    } catch {
      // a partial line at the end of a live log
    }
  }
  return entries;
}
