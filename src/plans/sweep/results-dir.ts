import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BadInputError } from '../../errors.ts';
import type { CellResult } from './cell-result.ts';
import type { SweepCell } from './spec.ts';

/**
 * A sweep's results directory keeps one JSON file per finished cell in `cells/`, named by the
 * cell's identity. Each is written to a temporary file and renamed into place, so a file that
 * exists is complete: an interrupted run leaves finished cells and at most a stray `.tmp`.
 */
export const CELLS_DIR = 'cells';

export const cellFile = (dir: string, cellId: string): string => join(dir, CELLS_DIR, `${cellId}.json`);

/** What resume needs to know about a finished cell on disk. */
export interface FinishedCell {
  readonly sweep: string;
  readonly cellId: string;
  readonly cellHash: string;
  readonly label: string;
}

export interface ResumePlan {
  /** Cells to measure, in sweep order. */
  readonly toRun: readonly SweepCell[];
  /** Cells whose finished result matches the plan and is kept. */
  readonly reused: readonly SweepCell[];
  /** Why the directory cannot be resumed with this sweep (empty: it can). */
  readonly conflicts: readonly string[];
}

/**
 * Decides which cells a run can skip (pure). A finished cell is reused only when its hash (all
 * that determines the measurement: options, condition, fault, trials, seed, window, load) equals
 * the plan's; a finished cell measured differently, one from another sweep, or one the sweep no
 * longer has is a conflict: mixing them would make result.json describe two different sweeps.
 */
export function planResume(
  sweepName: string,
  cells: readonly SweepCell[],
  finished: readonly FinishedCell[],
): ResumePlan {
  const conflicts: string[] = [];
  const byId = new Map(finished.map((f) => [f.cellId, f]));
  const planned = new Set(cells.map((c) => c.cellId));
  for (const f of finished) {
    if (f.sweep !== sweepName) {
      conflicts.push(`cell ${f.cellId} (${f.label}) belongs to sweep "${f.sweep}", not "${sweepName}"`);
    } else if (!planned.has(f.cellId)) {
      conflicts.push(`cell ${f.cellId} (${f.label}) is not part of this sweep any more`);
    }
  }
  const toRun: SweepCell[] = [];
  const reused: SweepCell[] = [];
  for (const cell of cells) {
    const done = byId.get(cell.cellId);
    if (done === undefined) toRun.push(cell);
    else if (done.cellHash === cell.cellHash) reused.push(cell);
    else {
      conflicts.push(
        `cell ${cell.cellId} (${cell.label}) was measured with different settings (fault, trials, seed, quiet window, load or cluster changed)`,
      );
    }
  }
  return { toRun, reused, conflicts };
}

/** Reads every finished cell; stray temporary files of an interrupted write are removed. */
export async function readFinishedCells(dir: string): Promise<CellResult[]> {
  const cellsDir = join(dir, CELLS_DIR);
  if (!existsSync(cellsDir)) return [];
  const results: CellResult[] = [];
  for (const name of (await readdir(cellsDir)).sort()) {
    const path = join(cellsDir, name);
    if (name.endsWith('.tmp')) {
      await rm(path, { force: true });
      continue;
    }
    if (!name.endsWith('.json')) continue;
    try {
      results.push(JSON.parse(await readFile(path, 'utf8')) as CellResult);
    } catch (error) {
      throw new BadInputError(
        `results directory ${dir}: ${path} is not a cell result: ${(error as Error).message}`,
      );
    }
  }
  return results;
}

/** Refuses to resume into a directory that holds another sweep's or differently measured cells. */
export function requireResumable(dir: string, plan: ResumePlan): void {
  if (plan.conflicts.length === 0) return;
  throw new BadInputError(
    `results directory ${dir} cannot be resumed with this sweep:\n  ${plan.conflicts.join('\n  ')}\nuse another --out, or remove the directory to start over`,
  );
}
