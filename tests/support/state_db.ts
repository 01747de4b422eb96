/** Reads the server's SQLite state from the test side (read-only), as an operator would. */
import { DatabaseSync } from "node:sqlite";
import type { SessionRecord, UploadRecord } from "../../server/state/store.ts";

export interface StateRows {
  session(id: string): SessionRecord | null;
  upload(id: string): UploadRecord | null;
  /** Row counts of each table. */
  counts(): { sessions: number; uploads: number };
  close(): void;
}

export function openState(dataDir: string): StateRows {
  const db = new DatabaseSync(`${dataDir}/state.db`, { readOnly: true });
  const one = <T>(sql: string, id: string): T | null => {
    const row = db.prepare(sql).get(id) as { data?: string } | undefined;
    return row?.data ? JSON.parse(row.data) as T : null;
  };
  const count = (table: string) =>
    Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
  return {
    session: (id) => one<SessionRecord>("SELECT data FROM sessions WHERE id = ?", id),
    upload: (id) => one<UploadRecord>("SELECT data FROM uploads WHERE id = ?", id),
    counts: () => ({ sessions: count("sessions"), uploads: count("uploads") }),
    close: () => db.close(),
  };
}
