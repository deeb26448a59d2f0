import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** A file's name in its folder: no folder part, nothing hidden. */
const fileName = z.string().regex(/^[^/\\.][^/\\]*$/, 'a file name without a folder');
/** A path inside the committing folder: a file name, or one subfolder and a file name. */
const innerPath = z.string().regex(/^([^/\\.][^/\\]*\/)?[^/\\.][^/\\]*$/, 'a path inside the folder');

export const manifestEntrySchema = z.object({
  sha256,
  bytes: z.number().int().nonnegative(),
  /** The qtool command that wrote the file (calibrate, partial, run, ...). */
  command: z.string(),
  /** The commit that wrote it: its id and when. */
  commit: z.string().regex(/^[0-9a-f]{8}$/),
  committedAt: z.string(),
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

/**
 * DIR/qtool-manifest.json: every file qtool committed in DIR, by name
 * (relative to DIR), with its SHA-256. Readers check the files they use
 * against it; src/report/commit.ts writes it.
 */
export const manifestSchema = z.object({
  schema: z.literal('qtool/manifest@1'),
  qtoolVersion: z.string(),
  files: z.record(fileName, manifestEntrySchema),
});
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * DIR/.qtool-commit.json: a commit in progress. It exists from the moment
 * every new file is written under its temporary name (the commit point)
 * until every one of them has its final name; a run that finds it finishes
 * the renames.
 */
export const commitJournalSchema = z.object({
  schema: z.literal('qtool/commit@1'),
  commit: z.string().regex(/^[0-9a-f]{8}$/),
  pid: z.number().int().positive(),
  command: z.string(),
  files: z.array(z.object({
    /** Final name, relative to the folder holding the journal. */
    path: innerPath,
    /** The temporary file holding the new bytes, relative to the same folder. */
    temp: innerPath,
    sha256,
  })).min(1),
});
export type CommitJournal = z.infer<typeof commitJournalSchema>;
