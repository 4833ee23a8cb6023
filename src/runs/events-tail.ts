/**
 * Reads what was appended to a run's events.jsonl since the last read (by byte offset), so a run
 * another process trains can be followed every second without re-reading its whole event log. A
 * torn last line waits for the next read; a file that shrank (rewritten) is read from the start.
 * No `vscode` import.
 */
import * as fs from 'node:fs';
import { parseEventLine, type RunEvent } from '../protocol/events';

export class EventsTail {
  private offset = 0;

  constructor(readonly file: string) {}

  /** The complete event lines appended since the last call (unknown or invalid lines skipped). */
  read(): RunEvent[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      const text = buf.subarray(0, n).toString('utf8');
      const end = text.lastIndexOf('\n');
      if (end < 0) return [];
      this.offset += Buffer.byteLength(text.slice(0, end + 1), 'utf8');
      const out: RunEvent[] = [];
      for (const line of text.slice(0, end).split('\n')) {
        try {
          const e = parseEventLine(line);
          if (e) out.push(e);
        } catch {
          // A stray line: the run store skips it too.
        }
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  }
}
